"""Fonts for PDF receipts: which files, where they are, and which characters they draw.

A PDF must embed its fonts, and one font family rarely covers every script we print:
Latin/Cyrillic/Greek/Vietnamese, Arabic, Devanagari, Thai and the four CJK
orthographies (Simplified and Traditional Chinese, Japanese and Korean glyph forms
differ for the same code points). We use Google's Noto families as the operating
system packages them, located at run time in the standard font directories, so the
repository carries no binary fonts. ``CORRIDOR_FONT_DIR`` (one or more directories,
``os.pathsep``-separated) is searched first, for systems that keep fonts elsewhere.

Debian/Ubuntu packages: ``fonts-noto-core`` (Noto Sans, Arabic, Devanagari, Thai) and
``fonts-noto-cjk`` (Noto Sans CJK collection).

Coverage is checked *before* drawing: text that no installed font can draw raises
:class:`MissingGlyphError` naming the characters, instead of a PDF with blank boxes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from fontTools.ttLib import TTFont

from i18n.locales import require_supported

FONT_DIR_ENV: Final = "CORRIDOR_FONT_DIR"
STANDARD_FONT_DIRS: Final = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)
DEBIAN_PACKAGES: Final = ("fonts-noto-core", "fonts-noto-cjk")
"""Everything :data:`FONTS` needs, for ``apt-get install``."""


class FontNotFoundError(RuntimeError):
    """A font file the receipt needs is not installed."""


class MissingGlyphError(RuntimeError):
    """Text contains characters that none of the installed fonts can draw."""


@dataclass(frozen=True, slots=True)
class FontFace:
    """One font family in regular and bold, possibly a face inside a collection."""

    key: str
    """Family name inside the PDF."""
    name: str
    regular: str
    bold: str
    package: str
    collection_index: int = 0

    def file(self, bold: bool = False) -> str:
        return self.bold if bold else self.regular


def _noto(key: str, name: str, stem: str, package: str = "fonts-noto-core") -> FontFace:
    return FontFace(key, name, f"{stem}-Regular.ttf", f"{stem}-Bold.ttf", package)


def _cjk(region: str, index: int) -> FontFace:
    return FontFace(
        f"noto-cjk-{region.lower()}",
        f"Noto Sans CJK {region}",
        "NotoSansCJK-Regular.ttc",
        "NotoSansCJK-Bold.ttc",
        "fonts-noto-cjk",
        index,
    )


LATIN: Final = _noto("noto-sans", "Noto Sans", "NotoSans")
ARABIC: Final = _noto("noto-sans-arabic", "Noto Sans Arabic", "NotoSansArabic")
DEVANAGARI: Final = _noto("noto-sans-devanagari", "Noto Sans Devanagari", "NotoSansDevanagari")
THAI: Final = _noto("noto-sans-thai", "Noto Sans Thai", "NotoSansThai")
# Face order inside NotoSansCJK-*.ttc: JP, KR, SC, TC, HK, then the monospaced faces.
CJK_JP: Final = _cjk("JP", 0)
CJK_KR: Final = _cjk("KR", 1)
CJK_SC: Final = _cjk("SC", 2)
CJK_TC: Final = _cjk("TC", 3)
FONTS: Final = (LATIN, ARABIC, DEVANAGARI, THAI, CJK_JP, CJK_KR, CJK_SC, CJK_TC)

_PRIMARY: Final = {
    "ar": ARABIC,
    "hi": DEVANAGARI,
    "th": THAI,
    "ja": CJK_JP,
    "ko": CJK_KR,
    "zh_Hans": CJK_SC,
    "zh_Hant": CJK_TC,
}


def font_chain(locale: str) -> tuple[FontFace, ...]:
    """Fonts to try, in order, for text on a receipt in ``locale``.

    The locale's own script first (its CJK variant gives Han characters the forms its
    readers expect), then Latin for amounts, codes and brand names, then every other
    script for names written in a script other than the receipt's.
    """
    primary = _PRIMARY.get(require_supported(locale), LATIN)
    cjk = primary if primary in (CJK_JP, CJK_KR, CJK_SC, CJK_TC) else CJK_SC
    chain = (primary, LATIN, ARABIC, DEVANAGARI, THAI, cjk)
    return tuple(dict.fromkeys(chain))


def font_dirs() -> tuple[Path, ...]:
    override = os.environ.get(FONT_DIR_ENV, "")
    extra = tuple(Path(p) for p in override.split(os.pathsep) if p)
    return (*extra, *STANDARD_FONT_DIRS)


_index_lock = threading.Lock()


@cache
def _file_index(dirs: tuple[Path, ...]) -> dict[str, Path]:
    """File name -> first path with that name, searching ``dirs`` in order."""
    index: dict[str, Path] = {}
    for root in dirs:
        if not root.is_dir():
            continue
        for folder, _subdirs, files in sorted(os.walk(root)):
            for name in sorted(files):
                index.setdefault(name, Path(folder) / name)
    return index


def find_font_file(face: FontFace, bold: bool = False) -> Path | None:
    """Where ``face`` is installed, or ``None``."""
    with _index_lock:
        index = _file_index(font_dirs())
    return index.get(face.file(bold))


def require_font_file(face: FontFace, bold: bool = False) -> Path:
    """Where ``face`` is installed; a clear :class:`FontNotFoundError` if it is not."""
    path = find_font_file(face, bold)
    if path is None:
        searched = ", ".join(str(d) for d in font_dirs())
        raise FontNotFoundError(
            f"font {face.name} ({face.file(bold)}) is not installed; install the Debian "
            f"package {face.package} (apt-get install {face.package}) or point "
            f"{FONT_DIR_ENV} at a directory containing it. Searched: {searched}"
        )
    return path


def refresh_font_index() -> None:
    """Forget the directory scan (after installing fonts or changing the override)."""
    with _index_lock:
        _file_index.cache_clear()
    _coverage.cache_clear()


@cache
def _coverage(path: Path, collection_index: int) -> frozenset[int]:
    font = TTFont(path, fontNumber=collection_index, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def coverage(face: FontFace, bold: bool = False) -> frozenset[int] | None:
    """Code points ``face`` maps to glyphs, or ``None`` if it is not installed."""
    path = find_font_file(face, bold)
    return None if path is None else _coverage(path, face.collection_index)


def missing_glyph_error(
    text: str, missing: Iterable[str], chain: Iterable[FontFace]
) -> MissingGlyphError:
    chars = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in dict.fromkeys(missing))
    absent = [face for face in chain if find_font_file(face) is None]
    hint = ""
    if absent:
        packages = " ".join(sorted({face.package for face in absent}))
        names = ", ".join(face.name for face in absent)
        hint = f"; not installed: {names} (apt-get install {packages})"
    return MissingGlyphError(f"no installed font can draw {chars} in {text!r}{hint}")
