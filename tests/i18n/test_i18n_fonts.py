"""PDF fonts: found in standard places or CORRIDOR_FONT_DIR, and never blank boxes."""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path

import pytest
from pypdf import PdfReader

import i18n.fonts as fonts
from i18n.receipt_data import ReceiptData
from i18n.receipts import render_receipt

pytestmark = pytest.mark.fonts


@pytest.fixture
def system_fonts() -> dict[tuple[str, bool], Path]:
    """Where the system keeps every font we use (looked up before any test hides them)."""
    fonts.refresh_font_index()
    return {
        (face.key, bold): fonts.require_font_file(face, bold)
        for face in fonts.FONTS
        for bold in (False, True)
    }


@pytest.fixture
def font_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, system_fonts):
    """Only the fonts a test installs (links) into a private directory are found."""
    folder = tmp_path / "fonts"
    folder.mkdir()
    monkeypatch.setattr(fonts, "STANDARD_FONT_DIRS", ())
    monkeypatch.setenv(fonts.FONT_DIR_ENV, str(folder))
    fonts.refresh_font_index()

    def install(*faces: fonts.FontFace) -> None:
        for face in faces:
            for bold in (False, True):
                link = folder / face.file(bold)
                if not link.exists():
                    link.symlink_to(system_fonts[face.key, bold])
        fonts.refresh_font_index()

    yield install
    monkeypatch.undo()
    fonts.refresh_font_index()


def pdf_text(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_every_font_of_every_chain_is_installed() -> None:
    """The CI image installs DEBIAN_PACKAGES; this names what is missing if not."""
    for face in fonts.FONTS:
        for bold in (False, True):
            fonts.require_font_file(face, bold)
    assert {face.package for face in fonts.FONTS} == set(fonts.DEBIAN_PACKAGES)


def test_missing_font_fails_clearly(cross_currency_payment: ReceiptData, font_dir) -> None:
    with pytest.raises(fonts.FontNotFoundError) as caught:
        render_receipt(cross_currency_payment, "th", "pdf")
    message = str(caught.value)
    assert "Noto Sans Thai" in message and "fonts-noto-core" in message
    assert fonts.FONT_DIR_ENV in message


def test_font_dir_override_is_used(cross_currency_payment: ReceiptData, font_dir) -> None:
    font_dir(fonts.LATIN)
    found = fonts.find_font_file(fonts.LATIN)
    assert found is not None and found.parent == Path(os.environ[fonts.FONT_DIR_ENV])
    assert "Gezahlter Betrag" in pdf_text(render_receipt(cross_currency_payment, "de", "pdf"))
    with pytest.raises(fonts.FontNotFoundError, match="Noto Sans Arabic"):
        render_receipt(cross_currency_payment, "ar", "pdf")


def test_text_no_installed_font_covers_is_refused(
    cross_currency_payment: ReceiptData, font_dir
) -> None:
    font_dir(fonts.LATIN)
    tokyo = dataclasses.replace(cross_currency_payment, merchant_name="東京珈琲店")
    with pytest.raises(fonts.MissingGlyphError) as caught:
        render_receipt(tokyo, "de", "pdf")
    message = str(caught.value)
    assert "U+6771" in message  # 東
    assert "Noto Sans CJK" in message and "fonts-noto-cjk" in message
    font_dir(fonts.CJK_SC)
    assert "東京珈琲店" in pdf_text(render_receipt(tokyo, "de", "pdf")).replace("\x00", "")


def test_characters_no_font_has_are_refused_not_boxed(cross_currency_payment: ReceiptData) -> None:
    emoji = "\U0001f600"
    assert all(ord(emoji) not in (fonts.coverage(face) or ()) for face in fonts.font_chain("en"))
    with pytest.raises(fonts.MissingGlyphError, match="U\\+1F600"):
        render_receipt(
            dataclasses.replace(cross_currency_payment, merchant_name=f"Café {emoji}"), "en", "pdf"
        )
    # Text and HTML have no such limit: the reader's device picks the font.
    assert (
        emoji
        in render_receipt(
            dataclasses.replace(cross_currency_payment, merchant_name=f"Café {emoji}"), "en", "txt"
        ).decode()
    )


@pytest.mark.parametrize(
    ("locale", "merchant", "script_font"),
    [
        ("ja", "متجر دبي", "NotoSansArabic"),
        ("th", "दिल्ली स्टोर", "NotoSansDevanagari"),
        ("ar", "東京珈琲店", "NotoSansCJK"),
        ("ru", "ร้านกาแฟ", "NotoSansThai"),
    ],
)
def test_names_in_another_script_use_that_scripts_font(
    cross_currency_payment: ReceiptData, locale: str, merchant: str, script_font: str
) -> None:
    data = render_receipt(
        dataclasses.replace(cross_currency_payment, merchant_name=merchant), locale, "pdf"
    )
    reader = PdfReader(io.BytesIO(data))
    names = [
        str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()
    ]
    assert any(script_font in name for name in names), names
