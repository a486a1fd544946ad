"""Money, numbers, dates and names as CLDR writes them (hard-coded expectations)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from core.money import AmountError, CurrencyError
from i18n.formatting import (
    CountryError,
    TimeZoneError,
    country_name,
    currency_name,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_rate,
    major_units,
)

NBSP = "\u00a0"
NNBSP = "\u202f"  # narrow no-break space (French grouping)
RLM = "\u200f"


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "expected"),
    [
        (12000, "JPY", "ja", "￥12,000"),  # no decimals: JPY's minor unit is the yen
        (12000, "JPY", "en", "¥12,000"),
        (123456, "EUR", "de", f"1.234,56{NBSP}€"),
        (123456, "EUR", "fr", f"1{NNBSP}234,56{NBSP}€"),
        (12345, "BHD", "ar", f"{RLM}12.345{NBSP}د.ب.{RLM}"),  # three decimals
        (12345678, "KWD", "ar", f"{RLM}12,345.678{NBSP}د.ك.{RLM}"),
        (12345, "BHD", "en", f"BHD{NBSP}12.345"),  # CLDR currency spacing
        (123400, "IQD", "ar", f"{RLM}123.400{NBSP}د.ع.{RLM}"),  # ISO 3 decimals, not CLDR's 0
        (123456789, "INR", "hi", "₹12,34,567.89"),  # lakh grouping
        (123456, "USD", "en", "$1,234.56"),
        (123456, "USD", "es", f"1.234,56{NBSP}US$"),
        (123456, "BRL", "pt_BR", f"R${NBSP}1.234,56"),
        (123456, "RUB", "ru", f"1{NBSP}234,56{NBSP}₽"),
        (123456, "IDR", "id", f"Rp{NBSP}1.234,56"),
        (5000000, "VND", "vi", f"5.000.000{NBSP}₫"),
        (500000, "KRW", "ko", "₩500,000"),
        (123456, "CNY", "zh_Hans", "¥1,234.56"),
        (123456, "TWD", "zh_Hant", "$1,234.56"),
        (123456, "THB", "th", "฿1,234.56"),
        (5, "USD", "en", "$0.05"),
        (0, "EUR", "de", f"0,00{NBSP}€"),
    ],
)
def test_format_money(minor: int, currency: str, locale: str, expected: str) -> None:
    assert format_money(minor, currency, locale) == expected


def test_money_keeps_every_minor_unit_of_huge_amounts() -> None:
    assert format_money(2**63 - 1, "JPY", "en") == "¥9,223,372,036,854,775,807"
    assert major_units(2**63 - 1, "BHD") == Decimal("9223372036854775.807")


@pytest.mark.parametrize(
    ("minor", "currency", "error"),
    [
        (12.5, "EUR", AmountError),
        (True, "EUR", AmountError),
        (2**63, "EUR", AmountError),
        (100, "ZZZ", CurrencyError),
        (100, "XAU", CurrencyError),
    ],
)
def test_format_money_refuses_bad_input(minor: object, currency: str, error: type) -> None:
    with pytest.raises(error):
        format_money(minor, currency, "en")  # type: ignore[arg-type]


def test_numbers_and_rates() -> None:
    assert format_number(1234567, "de") == "1.234.567"
    assert format_number(Decimal("1234.5678"), "fr") == f"1{NNBSP}234,5678"
    assert format_number(1234567, "hi") == "12,34,567"
    with pytest.raises(TypeError):
        format_number(1.5, "en")  # type: ignore[arg-type]
    assert format_rate(Decimal("0.0061234"), "jpy", "EUR", "de") == "1 JPY = 0,0061234 EUR"
    assert format_rate(Decimal("163.31"), "EUR", "JPY", "en") == "1 EUR = 163.31 JPY"
    with pytest.raises(ValueError, match="positive"):
        format_rate(Decimal(0), "EUR", "USD", "en")


MOMENT = datetime(2025, 3, 5, 14, 7, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("en", "Asia/Tokyo", f"March 5, 2025, 11:07:09{NNBSP}PM +0900"),
        ("en", "America/New_York", f"March 5, 2025, 9:07:09{NNBSP}AM EST"),
        ("ja", "Asia/Tokyo", "2025年3月5日 23:07:09 JST"),
        ("de", "Europe/Berlin", "5. März 2025, 15:07:09 MEZ"),
        ("de", "UTC", "5. März 2025, 14:07:09 UTC"),
        ("ar", "Asia/Bahrain", "5 مارس 2025، 5:07:09 م +0300"),
    ],
)
def test_datetime_in_payers_zone(locale: str, zone: str, expected: str) -> None:
    assert format_datetime(MOMENT, locale, zone) == expected


def test_dates_and_zone_errors() -> None:
    assert format_date(date(2025, 3, 7), "ja") == "2025年3月7日"
    assert format_date(date(2025, 3, 7), "ru") == f"7 марта 2025{NNBSP}г."
    with pytest.raises(ValueError, match="naive"):
        format_datetime(datetime(2025, 3, 5, 12, 0), "en")
    with pytest.raises(TimeZoneError):
        format_datetime(MOMENT, "en", "Mars/Olympus_Mons")
    with pytest.raises(TypeError):
        format_date(MOMENT, "en")


def test_country_and_currency_names() -> None:
    assert country_name("de", "ja") == "ドイツ"
    assert country_name("BH", "ar") == "البحرين"
    assert country_name("JP", "zh_Hant") == "日本"
    assert country_name("CI", "fr") == "Côte d’Ivoire"
    for bad in ("XX", "DEU", "", "1A"):
        with pytest.raises(CountryError):
            country_name(bad, "en")
    assert currency_name("BHD", "ar") == "دينار بحريني"
    assert currency_name("EUR", "ru", count=5) == "евро"
    assert currency_name("JPY", "fr") == "yen japonais"
