"""Gettext catalogs: where they live, how they are compiled, how they are loaded.

The translations are edited as ``.po`` files under ``i18n/locale/<locale>/LC_MESSAGES``
and are the source of truth; the compiled ``.mo`` files are build products and are not
committed. So that a fresh checkout or editable install works without a build step,
:func:`translations` compiles a catalog on first use when its ``.mo`` is missing or
older than its ``.po``. Where the package directory is read-only the catalog is
compiled in memory instead, so a locked-down install still speaks every language.

Maintaining the catalogs (from the repository root)::

    pybabel extract -F i18n/babel.cfg -o i18n/locale/corridor.pot \\
        --project=corridor --no-location --sort-output .
    pybabel update -i i18n/locale/corridor.pot -d i18n/locale -D corridor \\
        --no-fuzzy-matching --ignore-obsolete
    # translate the new entries by hand, then:
    python -m i18n.catalogs        # or: pybabel compile -d i18n/locale -D corridor

Messages defined away from their use (module-level tables) are marked with
:func:`N_` / :func:`NC_` so that extraction finds them; they are translated where
they are shown.
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

from i18n.locales import SUPPORTED_LOCALES, require_supported

DOMAIN: Final = "corridor"
LOCALE_DIR: Final = Path(__file__).resolve().parent / "locale"

_compile_lock = threading.Lock()


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it (translated at display)."""
    return message


def NC_(context: str, message: str) -> tuple[str, str]:
    """Mark a message with a context (``pgettext``) for extraction; returns the pair."""
    return context, message


def po_path(locale: str) -> Path:
    return LOCALE_DIR / require_supported(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(locale: str) -> Path:
    return po_path(locale).with_suffix(".mo")


def _compiled_bytes(po: Path, locale: str) -> bytes:
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    buffer = io.BytesIO()
    # Fuzzy entries are drafts: never shown to a payer (the catalog test forbids them).
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def _is_stale(locale: str) -> bool:
    mo = mo_path(locale)
    return not mo.exists() or mo.stat().st_mtime < po_path(locale).stat().st_mtime


def compile_catalogs(
    locales: tuple[str, ...] = SUPPORTED_LOCALES, force: bool = False
) -> list[Path]:
    """Compile ``.po`` to ``.mo`` next to it where missing or stale (or always, if ``force``).

    Writes each file atomically (temporary file, then rename) so concurrent processes
    never read a half-written catalog. Returns the paths written.
    """
    written: list[Path] = []
    with _compile_lock:
        for locale in locales:
            if not force and not _is_stale(locale):
                continue
            data = _compiled_bytes(po_path(locale), locale)
            target = mo_path(locale)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".corridor-", suffix=".mo")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            written.append(target)
    return written


@cache
def translations(locale: str) -> Translations:
    """The compiled catalog of one supported locale (compiled first if needed)."""
    require_supported(locale)
    try:
        compile_catalogs((locale,))
    except OSError:
        # Read-only install: compile into memory rather than fail or fall back to English.
        return Translations(io.BytesIO(_compiled_bytes(po_path(locale), locale)), domain=DOMAIN)
    with mo_path(locale).open("rb") as handle:
        return Translations(handle, domain=DOMAIN)


def main() -> None:
    """``python -m i18n.catalogs``: compile every catalog (build/install step)."""
    for path in compile_catalogs(force=True):
        print(path.relative_to(LOCALE_DIR.parent.parent))


if __name__ == "__main__":
    main()
