"""The console's own gettext catalogs (domain ``console``) and the reader's language.

The catalogs live under ``api/console/locale/<locale>/LC_MESSAGES/console.po`` and are
the source of truth. As in :mod:`i18n.catalogs`, the ``.mo`` next to a ``.po`` is a
build product compiled on first use when missing or stale, or compiled in memory where
the package directory is read-only.

The language is the reader's explicit choice (a cookie set by the language switch),
else the first ``Accept-Language`` range the console has a catalog for, else English.
Formatting (money, dates, countries) uses the same locale through Babel.

Maintaining the catalogs (from the repository root)::

    pybabel extract -F api/console/babel.cfg -o api/console/locale/console.pot \\
        --project=corridor-console --no-location --sort-output .
    pybabel update -i api/console/locale/console.pot -d api/console/locale -D console \\
        --no-fuzzy-matching --ignore-obsolete
"""

from __future__ import annotations

import io
import os
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Final

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from i18n.locales import match_locale, parse_accept_language

DOMAIN: Final = "console"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"
CONSOLE_LOCALES: Final = ("en", "zh_Hans")
"""Locales with a console catalog (Babel identifiers, as the catalog directories)."""
DEFAULT_LOCALE: Final = "en"
LANGUAGE_COOKIE: Final = "corridor_console_lang"

_lock = threading.Lock()


def _po(locale: str) -> Path:
    return LOCALE_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compiled(locale: str) -> bytes:
    with _po(locale).open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _compile_to_disk(locale: str) -> Path:
    po = _po(locale)
    mo = po.with_suffix(".mo")
    with _lock:
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            return mo
        fd, tmp = tempfile.mkstemp(dir=mo.parent, prefix=".console-", suffix=".mo")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(_compiled(locale))
            os.replace(tmp, mo)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return mo


@cache
def translations(locale: str) -> Translations:
    """The console catalog of ``locale`` (one of :data:`CONSOLE_LOCALES`)."""
    if locale not in CONSOLE_LOCALES:
        raise ValueError(f"the console has no catalog for {locale!r}")
    try:
        mo = _compile_to_disk(locale)
    except OSError:
        return Translations(io.BytesIO(_compiled(locale)), domain=DOMAIN)
    with mo.open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


def console_locale(tag: str | None) -> str | None:
    """The console locale for one language tag (``zh-CN`` -> ``zh_Hans``), if any."""
    if not tag:
        return None
    if tag in CONSOLE_LOCALES:
        return tag
    matched = match_locale(tag)
    return matched if matched in CONSOLE_LOCALES else None


def choose_locale(chosen: str | None, accept_language: str | None) -> str:
    """The reader's explicit choice, else their browser's best range we have, else English."""
    explicit = console_locale(chosen)
    if explicit is not None:
        return explicit
    for tag, _quality in parse_accept_language(accept_language or ""):
        found = console_locale(tag)
        if found is not None:
            return found
    return DEFAULT_LOCALE
