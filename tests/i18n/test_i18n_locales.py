"""Locale negotiation from ``locale=`` and ``Accept-Language``, and text direction."""

from __future__ import annotations

import pytest

from i18n.locales import (
    SUPPORTED_LOCALES,
    babel_locale,
    language_tag,
    match_locale,
    negotiate,
    parse_accept_language,
    text_direction,
)


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("en_GB", "en"),
        ("EN-au", "en"),
        ("zh", "zh_Hans"),
        ("zh-CN", "zh_Hans"),
        ("zh-SG", "zh_Hans"),
        ("zh-Hans", "zh_Hans"),
        ("zh_Hans_CN", "zh_Hans"),
        ("zh-Hans-HK", "zh_Hans"),  # an explicit script beats the region
        ("zh-TW", "zh_Hant"),
        ("zh-HK", "zh_Hant"),
        ("zh-MO", "zh_Hant"),
        ("zh-Hant", "zh_Hant"),
        ("zh-Hant-CN", "zh_Hant"),
        ("zh-yue-HK", "zh_Hant"),  # extended language subtag
        ("ja", "ja"),
        ("ja-JP", "ja"),
        ("ko-KR", "ko"),
        ("ar", "ar"),
        ("ar-EG", "ar"),
        ("ar-SA", "ar"),
        ("es", "es"),
        ("es-MX", "es"),
        ("es-419", "es"),
        ("pt", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("pt-BR", "pt_BR"),
        ("pt_BR", "pt_BR"),
        ("fr-CA", "fr"),
        ("de-CH", "de"),
        ("de-DE-u-co-phonebk", "de"),
        ("ru-RU", "ru"),
        ("hi-IN", "hi"),
        ("th-TH", "th"),
        ("vi-VN", "vi"),
        ("id-ID", "id"),
        ("in", "id"),  # the withdrawn ISO 639 code some systems still send
        ("nl", None),
        ("sv-SE", None),
        ("*", None),
        ("", None),
        ("x-klingon", None),
        ("12", None),
        ("en--US", None),
    ],
)
def test_match_locale(tag: str, expected: str | None) -> None:
    assert match_locale(tag) == expected


@pytest.mark.parametrize(
    ("locale", "header", "expected"),
    [
        (None, None, "en"),
        (None, "", "en"),
        ("ja", "de-DE,de;q=0.9", "ja"),  # explicit locale wins
        ("xx", "de-DE,de;q=0.9", "de"),  # ... unless we do not serve it
        (None, "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "fr"),
        (None, "nl-NL,nl;q=0.9,pt;q=0.8,en;q=0.7", "pt_BR"),
        (None, "en;q=0.1, ko;q=0.9", "ko"),  # order by q, not position
        (None, "zh-HK,zh;q=0.9,en;q=0.8", "zh_Hant"),
        (None, "zh-CN,zh;q=0.9", "zh_Hans"),
        (None, "ar;q=0, th", "th"),  # q=0 means "not this one"
        (None, "sv, nl, fi", "en"),
        (None, "*", "en"),
        (None, "es;q=0.5, vi;q=0.5", "es"),  # equal weights keep header order
        (None, "de;q=abc, hi;q=0.4", "hi"),  # malformed weight drops the entry
        (None, "ru;q=1.5, id;q=0.3", "id"),  # q above 1 is malformed
    ],
)
def test_negotiate(locale: str | None, header: str | None, expected: str) -> None:
    assert negotiate(locale, header) == expected


def test_parse_accept_language_orders_and_filters() -> None:
    assert parse_accept_language("da, en-gb;q=0.8, en;q=0.7, fr;q=0") == [
        ("da", 1.0),
        ("en-gb", 0.8),
        ("en", 0.7),
    ]


def test_overlong_header_is_bounded() -> None:
    header = ",".join(["xx"] * 10_000) + ",ja"
    assert negotiate(None, header) == "en"  # truncated before "ja": parsing stays bounded
    assert len(parse_accept_language(header)) <= 64


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_direction_from_cldr(locale: str) -> None:
    assert text_direction(locale) == ("rtl" if locale == "ar" else "ltr")


def test_language_tags_are_bcp47() -> None:
    assert language_tag("zh_Hant") == "zh-Hant"
    assert language_tag("pt_BR") == "pt-BR"
    assert language_tag("ja") == "ja"
    assert str(babel_locale("zh_Hant")) == "zh_Hant"
    with pytest.raises(ValueError, match="unsupported locale"):
        language_tag("nl")
