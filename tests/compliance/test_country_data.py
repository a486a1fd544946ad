"""The dated country lists and the offline IP-to-country resolver."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pycountry
import pytest

from compliance.rules.countries import (
    DEFAULT_PATH,
    CountryListError,
    load_country_lists,
    parse_country_lists,
)
from compliance.rules.ip_country import GeoIpCountryResolver


def test_shipped_lists_are_dated_sourced_and_valid() -> None:
    lists = load_country_lists()
    assert set(lists) == {"embargoed", "fatf_call_for_action", "fatf_increased_monitoring"}
    for item in lists.values():
        assert isinstance(item.as_of, dt.date) and item.source and item.url.startswith("https://")
        for code in item.countries:
            assert pycountry.countries.get(alpha_2=code) is not None, code
        for code in item.regions:
            assert pycountry.subdivisions.get(code=code) is not None, code
    assert lists["fatf_call_for_action"].countries == {"KP", "IR", "MM"}
    assert {"CU", "IR", "KP"} <= lists["embargoed"].countries
    assert "UA-43" in lists["embargoed"].regions
    # A country is on at most one FATF list.
    assert (
        not lists["fatf_call_for_action"].countries & lists["fatf_increased_monitoring"].countries
    )


def test_loading_from_a_path(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(DEFAULT_PATH.read_text())
    assert load_country_lists(path) == load_country_lists()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[lists.x]\nas_of = 2025-01-01\nsource = "s"\ncountries = ["XX"]',
            "'XX' is not an ISO 3166-1",
        ),
        (
            '[lists.x]\nas_of = 2025-01-01\nsource = "s"\nregions = ["UA-99"]',
            "'UA-99' is not an ISO 3166-2",
        ),
        ('[lists.x]\nas_of = "2025"\nsource = "s"', "as_of must be a date"),
        ("[lists.x]\nas_of = 2025-01-01", "source is required"),
        ("lists = 3", "no [lists.NAME] tables"),
        ("[lists.x", "not valid TOML"),
    ],
)
def test_bad_country_files_are_refused(body: str, message: str) -> None:
    with pytest.raises(CountryListError, match=message.replace("[", r"\[").replace(".", r"\.")):
        parse_country_lists(body, "test.toml")


def test_offline_ip_country_resolver() -> None:
    resolve = GeoIpCountryResolver()
    assert resolve("8.8.8.8") == "US"  # Google public DNS
    assert resolve("2001:4860:4860::8888") == "US"
    assert resolve("77.88.8.8") == "RU"  # Yandex DNS
    for address in ("10.1.2.3", "192.168.0.1", "127.0.0.1", "::1", "203.0.113.5", "not an ip", ""):
        assert resolve(address) is None, address
    assert "GeoLite2" in resolve.data_source
