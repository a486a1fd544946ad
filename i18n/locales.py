"""Which of our locales a payer gets, and which way their text runs.

A payer tells us their language either explicitly (``locale=`` on a receipt request)
or through their browser's ``Accept-Language`` header. Both are free-form BCP 47 tags
(``zh-HK``, ``pt-PT``, ``es-419``, ``en-US-u-ca-gregory``), but we only ship catalogs
for a fixed set of locales, so negotiation maps any tag onto exactly one of them and
never fails: an unknown language falls back to English rather than an error, because a
receipt in English is better than no receipt.

The mapping is by language, with the two cases where the language alone is not enough:
Chinese (script, or the region implying it, picks Simplified or Traditional) and
Portuguese (we ship Brazilian Portuguese and serve it to every Portuguese reader).
Text direction comes from CLDR through Babel, not from a hand-written list.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Final, Literal

from babel import Locale

SUPPORTED_LOCALES: Final[tuple[str, ...]] = (
    "en",
    "zh_Hans",
    "zh_Hant",
    "ja",
    "ko",
    "ar",
    "es",
    "pt_BR",
    "fr",
    "de",
    "ru",
    "hi",
    "th",
    "vi",
    "id",
)
"""Locales with a catalog, named as their catalog directories (Babel identifiers)."""

DEFAULT_LOCALE: Final = "en"

# Languages we serve by their bare language code (the locale identifier is the code).
_BY_LANGUAGE: Final = {loc: loc for loc in SUPPORTED_LOCALES if "_" not in loc}
# Deprecated ISO 639 codes browsers still send.
_LEGACY_LANGUAGE: Final = {"in": "id"}
# Regions whose Chinese is written in Traditional characters when no script is given.
_TRADITIONAL_CHINESE_REGIONS: Final = frozenset({"TW", "HK", "MO"})

_MAX_HEADER_LENGTH: Final = 4096
_MAX_HEADER_ENTRIES: Final = 64
_SUBTAG = re.compile(r"^[A-Za-z0-9]{1,8}$")
_QVALUE = re.compile(r"^q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$", re.IGNORECASE)

Direction = Literal["ltr", "rtl"]


def _subtags(tag: str) -> tuple[str, str | None, str | None] | None:
    """Split a BCP 47 / POSIX tag into (language, script, region), ignoring the rest.

    Extension and private-use subtags (``-u-ca-gregory``, ``-x-...``) and variants are
    dropped; extended language subtags (``zh-yue-HK``) are skipped over. Returns
    ``None`` for something that is not a language tag at all.
    """
    parts = re.split(r"[-_]", tag.strip())
    if not parts or not all(_SUBTAG.match(p) for p in parts):
        return None
    language = parts[0].lower()
    if not (2 <= len(language) <= 3 and language.isalpha()):
        return None
    script: str | None = None
    region: str | None = None
    for part in parts[1:]:
        if len(part) == 1:  # singleton: an extension or private use follows
            break
        if script is None and region is None and len(part) == 4 and part.isalpha():
            script = part.title()
        elif region is None and (
            (len(part) == 2 and part.isalpha()) or (len(part) == 3 and part.isdigit())
        ):
            region = part.upper()
    return language, script, region


def match_locale(tag: str) -> str | None:
    """Map one language tag to a supported locale, or ``None`` if we do not serve it."""
    parsed = _subtags(tag)
    if parsed is None:
        return None
    language, script, region = parsed
    language = _LEGACY_LANGUAGE.get(language, language)
    if language == "zh":
        if script == "Hant":
            return "zh_Hant"
        if script == "Hans":
            return "zh_Hans"
        return "zh_Hant" if region in _TRADITIONAL_CHINESE_REGIONS else "zh_Hans"
    if language == "pt":
        return "pt_BR"
    return _BY_LANGUAGE.get(language)


def parse_accept_language(header: str) -> list[tuple[str, float]]:
    """Language ranges of an ``Accept-Language`` header, best first (RFC 9110 §12.5.4).

    Entries with ``q=0`` (explicitly not wanted) and malformed entries are dropped;
    among equal q-values the header's order is kept. Overlong headers are truncated
    rather than parsed without bound.
    """
    ranges: list[tuple[str, float]] = []
    for entry in header[:_MAX_HEADER_LENGTH].split(",")[:_MAX_HEADER_ENTRIES]:
        tag, *params = (piece.strip() for piece in entry.split(";"))
        if not tag:
            continue
        quality = 1.0
        for param in params:
            match = _QVALUE.match(param)
            if match is None:
                if param.lower().startswith("q"):
                    quality = -1.0  # malformed weight: ignore the whole entry
                continue
            quality = float(match.group(1))
        if quality > 0:
            ranges.append((tag, quality))
    ranges.sort(key=lambda item: item[1], reverse=True)  # stable: header order on ties
    return ranges


def negotiate(locale: str | None = None, accept_language: str | None = None) -> str:
    """The one supported locale to use for a request.

    An explicit ``locale`` wins when we serve it; otherwise the best ``Accept-Language``
    range we serve; otherwise English. ``*`` and unknown languages never match.
    """
    if locale:
        matched = match_locale(locale)
        if matched is not None:
            return matched
    if accept_language:
        for tag, _quality in parse_accept_language(accept_language):
            matched = match_locale(tag)
            if matched is not None:
                return matched
    return DEFAULT_LOCALE


def require_supported(locale: str) -> str:
    """Return ``locale`` if it is one of ours, else raise ``ValueError`` naming them."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(
            f"unsupported locale {locale!r}; use negotiate() or one of "
            + ", ".join(SUPPORTED_LOCALES)
        )
    return locale


@cache
def babel_locale(locale: str) -> Locale:
    """The Babel (CLDR) locale behind one of our locales."""
    return Locale.parse(require_supported(locale))


def text_direction(locale: str) -> Direction:
    """``"rtl"`` for right-to-left scripts (Arabic), from CLDR's character order."""
    return "rtl" if babel_locale(locale).character_order == "right-to-left" else "ltr"


def language_tag(locale: str) -> str:
    """BCP 47 form for HTML ``lang`` and ``Content-Language``: ``zh_Hant`` -> ``zh-Hant``."""
    return require_supported(locale).replace("_", "-")
