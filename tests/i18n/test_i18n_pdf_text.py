"""Run splitting, line breaking and bidi ordering for PDF text (no PDF involved)."""

from __future__ import annotations

import pytest

from i18n.pdf_text import (
    Run,
    UncoveredText,
    break_pieces,
    direction_of,
    font_runs,
    visual_order,
    wrap,
)

LATIN = frozenset(range(0x20, 0x250)) | {0x20AC, 0x00A0}
ARABIC = frozenset(range(0x0600, 0x0700)) | frozenset(range(0x30, 0x3A)) | {0x20, 0xA0, 0x2E}
CJK = frozenset(range(0x3000, 0xA000)) | frozenset(range(0x20, 0x7F)) | {0xFFE5}


def texts(runs: list[Run]) -> list[str]:
    return [run.text for run in runs]


def test_text_one_font_covers_stays_whole_in_the_first_such_font() -> None:
    assert font_runs("Receipt 12.34 €", [ARABIC, LATIN]) == [Run("Receipt 12.34 €", 1, False)]
    assert font_runs("١٢ إيصال", [ARABIC, LATIN]) == [Run("١٢ إيصال", 0, True)]
    assert font_runs("1234", [ARABIC, LATIN]) == [Run("1234", 0, None)]
    assert font_runs("", [LATIN]) == []


def test_mixed_text_is_split_between_fonts() -> None:
    runs = font_runs("بطاقة Visa تنتهي بـ 4242", [ARABIC, LATIN])
    assert texts(runs) == ["بطاقة ", "Visa ", "تنتهي بـ 4242"]
    assert [run.font for run in runs] == [0, 1, 0]
    assert [run.rtl for run in runs] == [True, False, True]


def test_format_characters_need_no_glyph() -> None:
    # U+200F RIGHT-TO-LEFT MARK is drawn by no font; it must not make text uncoverable.
    assert font_runs("\u200f12.345 €\u200f", [LATIN]) == [Run("\u200f12.345 €\u200f", 0, True)]


def test_uncovered_characters_are_all_reported() -> None:
    with pytest.raises(UncoveredText) as caught:
        font_runs("Caf\U0001f600 \U0001f4b3", [LATIN, CJK])
    assert caught.value.missing == ["\U0001f600", "\U0001f4b3"]


def test_unavailable_fonts_are_skipped() -> None:
    assert font_runs("収", [None, CJK]) == [Run("収", 1, False)]


def test_direction_of_first_strong_character() -> None:
    assert direction_of("12 abc") is False
    assert direction_of("12 مرحبا abc") is True
    assert direction_of("12.34 %") is None


def test_break_pieces() -> None:
    assert break_pieces("Amount paid today") == ["Amount ", "paid ", "today"]
    assert break_pieces("お支払い金額です。") == ["お", "支", "払", "い", "金", "額", "で", "す。"]
    assert break_pieces("ACME への") == ["ACME ", "へ", "の"]
    assert break_pieces("कि ए") == ["कि ", "ए"]  # the vowel sign stays with its consonant


def one_per_char(run: Run) -> float:
    return float(len(run.text))


def test_wrap_fills_lines_greedily_and_drops_edge_spaces() -> None:
    lines = wrap([Run("aaa bbb ccc dddd", 0, False)], 8, one_per_char)
    assert [texts(line) for line in lines] == [["aaa bbb"], ["ccc dddd"]]


def test_wrap_splits_an_overlong_word_by_clusters() -> None:
    lines = wrap([Run("abcdefghij", 0, False)], 4, one_per_char)
    assert [texts(line) for line in lines] == [["abcd"], ["efgh"], ["ij"]]


def test_wrap_keeps_font_runs_apart_and_merges_within_a_font() -> None:
    runs = [Run("Total ", 0, False), Run("合計金額", 1, False)]
    lines = wrap(runs, 8, one_per_char)
    assert [texts(line) for line in lines] == [["Total ", "合計"], ["金額"]]


def test_visual_order_rtl_paragraph_keeps_embedded_ltr_sequences() -> None:
    runs = [Run("بطاقة ", 0, True), Run("Visa ", 1, False), Run("تنتهي", 0, True)]
    ordered = visual_order(runs, base_rtl=True)
    # Left to right on the page: the last Arabic words, the space, Visa, the first words.
    assert texts(ordered) == ["تنتهي", " ", "Visa", "بطاقة "]
    assert [run.rtl for run in ordered] == [True, True, False, True]


def test_visual_order_rtl_paragraph_sentence_end_goes_left() -> None:
    runs = [Run("تواصل مع ", 0, True), Run("ACME GmbH.", 1, False)]
    assert texts(visual_order(runs, base_rtl=True)) == [".", "ACME GmbH", "تواصل مع "]


def test_visual_order_ltr_paragraph_reverses_embedded_rtl_sequences() -> None:
    runs = [Run("Paid to ", 0, False), Run("متجر", 1, True), Run("دبي", 2, True), Run(".", 0, None)]
    assert texts(visual_order(runs, base_rtl=False)) == ["Paid to ", "دبي", "متجر", "."]


def test_neutral_runs_between_same_direction_join_them() -> None:
    runs = [Run("ACME", 1, False), Run(" - ", 0, None), Run("GmbH", 1, False)]
    ordered = visual_order(runs, base_rtl=True)
    assert texts(ordered) == ["ACME", " - ", "GmbH"]
    assert all(run.rtl is False for run in ordered)
