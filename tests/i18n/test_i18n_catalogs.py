"""Catalog completeness and health, over every supported locale."""

from __future__ import annotations

import gettext
import os
import re
import shutil
from pathlib import Path

import pytest
from babel import Locale
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

import i18n.catalogs as catalogs
from i18n.locales import SUPPORTED_LOCALES

NON_ENGLISH = [loc for loc in SUPPORTED_LOCALES if loc != "en"]
# Translations that are spelled like the English source on purpose: the word is the
# same in that language. Anything else equal to the English msgid is untranslated.
SAME_AS_ENGLISH = {
    ("de", "Status"),
    ("id", "Status"),
    ("fr", "Date"),
    ("fr", "Description"),
}
# Catalogs in scripts without Latin letters: any Latin letter left in a translation
# (placeholders aside) is English that slipped through. "PDF" is a file-format name.
NON_LATIN_SCRIPT = ["zh_Hans", "zh_Hant", "ja", "ko", "ar", "ru", "hi", "th"]
ALLOWED_LATIN_WORDS = {"PDF"}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def load(locale: str):
    with catalogs.po_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale)


def messages(catalog):
    return [message for message in catalog if message.id]


def forms(message) -> list[str]:
    return list(message.string) if isinstance(message.string, tuple) else [message.string]


def header_plural_forms(locale: str) -> tuple[int, str]:
    text = catalogs.po_path(locale).read_text(encoding="utf-8")
    joined = re.sub(r'"\n"', "", text)
    match = re.search(r"Plural-Forms: nplurals=(\d+); plural=(.*?);\\n", joined)
    assert match, f"{locale}: no Plural-Forms header"
    return int(match.group(1)), match.group(2)


def gettext_plural(expression: str, n: int) -> int:
    """Evaluate a C plural expression the way GNU gettext does (via the stdlib)."""
    return gettext.c2py(expression)(n)


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_every_message_translated_and_not_fuzzy(locale: str) -> None:
    catalog = load(locale)
    assert not catalog.fuzzy, f"{locale}: catalog header is fuzzy"
    assert len(messages(catalog)) > 50
    for message in messages(catalog):
        assert not message.fuzzy, f"{locale}: fuzzy {message.id!r}"
        assert all(form.strip() for form in forms(message)), (
            f"{locale}: untranslated {message.id!r}"
        )


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_catalog_passes_babels_checks(locale: str) -> None:
    catalog = load(locale)
    problems = [(message.id, errors) for message, errors in catalog.check() if errors]
    assert problems == []


@pytest.mark.parametrize("locale", NON_ENGLISH)
def test_no_english_left_in_non_english_catalogs(locale: str) -> None:
    for message in messages(catalog := load(locale)):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for form in forms(message):
            if form in ids:
                assert (locale, form) in SAME_AS_ENGLISH, f"{locale}: {form!r} is untranslated"
    assert catalog.locale_identifier == locale


@pytest.mark.parametrize("locale", NON_LATIN_SCRIPT)
def test_no_latin_words_in_non_latin_catalogs(locale: str) -> None:
    for message in messages(load(locale)):
        for form in forms(message):
            words = re.findall(r"[A-Za-z]+", PLACEHOLDER.sub("", form))
            assert set(words) <= ALLOWED_LATIN_WORDS, f"{locale}: {form!r} keeps {words}"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_placeholders_survive_translation(locale: str) -> None:
    for message in messages(load(locale)):
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(PLACEHOLDER.findall(" ".join(source)))
        for form in forms(message):
            found = set(PLACEHOLDER.findall(form))
            assert found <= wanted, f"{locale}: unknown placeholder in {form!r}"
            # A plural form may spell the count as a word ("one refund"), nothing else.
            optional = {"count"} if isinstance(message.id, tuple) else set()
            assert wanted - optional <= found, f"{locale}: {form!r} drops a placeholder"


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_plural_forms_match_header_and_cldr(locale: str) -> None:
    nplurals, expression = header_plural_forms(locale)
    catalog = load(locale)
    assert catalog.num_plurals == nplurals
    plural_messages = [m for m in messages(catalog) if isinstance(m.id, tuple)]
    assert plural_messages, "the refund count message is plural"
    for message in plural_messages:
        assert len(message.string) == nplurals, f"{locale}: {message.id[0]!r}"

    # Each gettext form index must stand for exactly one CLDR category and back, so a
    # translator writing the CLDR forms fills the right slots.
    cldr = Locale.parse(locale).plural_form
    pairs = {(gettext_plural(expression, n), cldr(n)) for n in range(0, 1001)}
    indexes = {index for index, _category in pairs}
    assert indexes == set(range(nplurals)), f"{locale}: unused plural slots"
    assert len(pairs) == len(indexes) == len({category for _index, category in pairs})


def test_catalogs_match_the_template_and_the_source(tmp_path: Path) -> None:
    """Every message in the code is in the .pot and every .po, and nothing else is."""
    extracted = tmp_path / "fresh.pot"
    root = Path(catalogs.__file__).resolve().parent.parent
    cwd = Path.cwd()
    os.chdir(root)
    try:
        CommandLineInterface().run(
            [
                "pybabel",
                "--quiet",
                "extract",
                "-F",
                "i18n/babel.cfg",
                "-k",
                "NC_:1c,2",
                "--no-location",
                "-o",
                str(extracted),
                ".",
            ]
        )
    finally:
        os.chdir(cwd)

    def keys(path: Path) -> set[tuple[str | None, object]]:
        with path.open("rb") as handle:
            return {(m.context, m.id) for m in read_po(handle) if m.id}

    source = keys(extracted)
    assert len(source) > 50
    assert keys(catalogs.LOCALE_DIR / "corridor.pot") == source
    for locale in SUPPORTED_LOCALES:
        assert keys(catalogs.po_path(locale)) == source, locale


@pytest.fixture
def scratch_catalogs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the catalogs (without .mo files) for compile tests."""
    copy = tmp_path / "locale"
    shutil.copytree(catalogs.LOCALE_DIR, copy, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(catalogs, "LOCALE_DIR", copy)
    catalogs.translations.cache_clear()
    yield copy
    catalogs.translations.cache_clear()


def test_compile_catalogs_writes_every_mo_then_only_stale_ones(scratch_catalogs: Path) -> None:
    written = catalogs.compile_catalogs()
    assert {p.parent.parent.name for p in written} == set(SUPPORTED_LOCALES)
    with catalogs.mo_path("de").open("rb") as handle:
        assert gettext.GNUTranslations(handle).gettext("Amount paid") == "Gezahlter Betrag"

    assert catalogs.compile_catalogs() == []  # nothing stale
    po = catalogs.po_path("fr")
    later = catalogs.mo_path("fr").stat().st_mtime + 10
    os.utime(po, (later, later))
    assert catalogs.compile_catalogs() == [catalogs.mo_path("fr")]


def test_translations_compile_lazily_on_first_use(scratch_catalogs: Path) -> None:
    assert not catalogs.mo_path("ja").exists()
    assert catalogs.translations("ja").gettext("Receipt") == "領収書"
    assert catalogs.mo_path("ja").exists()


def test_read_only_install_compiles_in_memory(
    scratch_catalogs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*_args: object, **_kwargs: object) -> int:
        raise PermissionError("read-only file system")

    monkeypatch.setattr(catalogs.tempfile, "mkstemp", read_only)
    assert catalogs.translations("ko").gettext("Receipt") == "영수증"
    assert not catalogs.mo_path("ko").exists()


def test_unsupported_locale_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported locale"):
        catalogs.translations("tlh")
