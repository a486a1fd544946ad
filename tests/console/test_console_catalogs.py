"""The console's catalogs: up to date with the templates, complete in Simplified Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.console.translations import CONSOLE_LOCALES, LOCALE_DIR, translations

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _source_messages() -> set[object]:
    method_map = [
        ("api/console/**.py", "python"),
        ("api/console/templates/**.html", "jinja2"),
    ]
    options = {
        "api/console/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}
    }
    found: set[object] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map=options
    ):
        found.add(message)
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "console.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def test_the_template_catalog_matches_the_sources():
    with (LOCALE_DIR / "console.pot").open("rb") as handle:
        pot = {m.id for m in read_po(handle) if m.id}
    assert _source_messages() == pot, "run pybabel extract (see api/console/translations.py)"


def test_every_message_is_translated_into_simplified_chinese_with_its_placeholders():
    with (LOCALE_DIR / "console.pot").open("rb") as handle:
        pot = {m.id for m in read_po(handle) if m.id}
    catalog = _catalog("zh_Hans")
    seen = set()
    han = 0
    for message in catalog:
        if not message.id:
            continue
        seen.add(message.id)
        assert not message.fuzzy, message.id
        singular = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {message.id!r}"
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(singular)), singular
            han += bool(re.search(r"[\u4e00-\u9fff]", text))
    assert seen == pot
    assert han >= 0.97 * len(pot), "only names such as URL or Webhook stay in Latin letters"
    assert {m.id for m in _catalog("en") if m.id} == pot


def test_catalogs_compile_and_answer():
    for locale in CONSOLE_LOCALES:
        assert (
            translations(locale).gettext("Sign in") == {"en": "Sign in", "zh_Hans": "登录"}[locale]
        )
    assert (
        translations("zh_Hans").ngettext("%(num)s day ago", "%(num)s days ago", 3) == "%(num)s 天前"
    )
