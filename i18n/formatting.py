"""Money, numbers, dates and place names as CLDR writes them for a payer's locale.

Everything goes through Babel so that separators, symbols, digit grouping (Indian
lakh grouping in Hindi), symbol placement and bidi marks (Arabic) are CLDR's, not
ours. Two deliberate departures from Babel's defaults:

* Money shows exactly the ISO 4217 minor units of its currency (``core.money``:
  JPY 0, USD 2, BHD 3). Babel would otherwise use the locale pattern's two decimals
  (``￥12,000.00``) or CLDR's own currency digits, which differ from ISO 4217 for a few
  currencies (IQD, for one). A receipt must show the amount that moved, to the unit.
* Times are always shown in an explicit IANA time zone (the payer's, else UTC) with the
  zone printed, because a cross-border receipt is read far from where it was issued.

Country and currency *names* come from CLDR via Babel; country codes are validated
against ISO 3166 with pycountry so that a typo cannot print an empty name.
"""

from __future__ import annotations

import copy
import unicodedata
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from babel.dates import format_date as _babel_format_date
from babel.dates import format_datetime as _babel_format_datetime
from babel.numbers import NumberPattern, format_decimal, get_currency_name, get_currency_symbol

from core.money import check_minor, currency_code, exponent
from i18n.locales import babel_locale

NBSP = "\u00a0"


class TimeZoneError(ValueError):
    """Not an IANA time zone name."""


class CountryError(ValueError):
    """Not an ISO 3166-1 alpha-2 country code."""


@cache
def time_zone(name: str) -> tzinfo:
    """An IANA zone (``Asia/Tokyo``); raises :class:`TimeZoneError` for anything else."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise TimeZoneError(f"{name!r} is not an IANA time zone name") from exc


def major_units(amount: int, currency: str) -> Decimal:
    """Minor units to an exact Decimal in major units: ``(1234, 'BHD')`` -> ``1.234``."""
    return Decimal(check_minor(amount)).scaleb(-exponent(currency))


def _letter_edge(ch: str) -> bool:
    """CLDR ``currencyMatch`` ``[[:^S:]&[:^Z:]]``: neither a symbol nor a separator."""
    return unicodedata.category(ch)[0] not in ("S", "Z")


def _spaced_pattern(pattern: NumberPattern, symbol: str) -> NumberPattern:
    """Apply CLDR's currency spacing, which Babel does not implement.

    Where a currency symbol ending (or starting) in a letter touches the digits, CLDR
    inserts a no-break space: ``BHD 12.345`` and ``Rp 1.234,56``, not ``BHD12.345``,
    while ``$12.00`` and ``￥12,000`` stay tight. The rule used is the root locale's,
    which every supported locale inherits unchanged.
    """
    if not symbol:
        return pattern
    prefix = tuple(
        p + NBSP if p.endswith("¤") and _letter_edge(symbol[-1]) else p for p in pattern.prefix
    )
    suffix = tuple(
        NBSP + s if s.startswith("¤") and _letter_edge(symbol[0]) else s for s in pattern.suffix
    )
    spaced = copy.copy(pattern)
    spaced.prefix, spaced.suffix = prefix, suffix
    return spaced


def format_money(amount: int, currency: str, locale: str) -> str:
    """``(1234567, 'JPY', 'ja')`` -> ``'￥1,234,567'``; ``(12345, 'BHD', 'ar')`` -> 3 decimals.

    ``amount`` is in minor units. The locale's standard currency pattern is used with
    its fraction digits set to the currency's ISO exponent; no rounding can happen
    because the value already has exactly that many decimals.
    """
    code = currency_code(currency)
    digits = exponent(code)
    loc = babel_locale(locale)
    pattern = copy.copy(loc.currency_formats["standard"])
    pattern.frac_prec = (digits, digits)
    pattern = _spaced_pattern(pattern, get_currency_symbol(code, loc))
    return pattern.apply(major_units(amount, code), loc, currency=code, currency_digits=False)


def format_number(value: int | Decimal, locale: str) -> str:
    """A plain number with the locale's separators and grouping, every given digit kept."""
    if isinstance(value, float):
        raise TypeError("floats are not accepted; pass an int or a Decimal")
    return format_decimal(value, locale=babel_locale(locale), decimal_quantization=False)


def format_rate(rate: Decimal, base: str, quote: str, locale: str) -> str:
    """An exchange rate as ``1 USD = 0.912345 EUR`` in the locale's digits.

    ISO codes rather than symbols, because ``$`` or ``¥`` alone are ambiguous exactly
    where a rate is shown (between two currencies), and every digit of the rate used
    is shown: a rate is not rounded for display.
    """
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise ValueError(f"exchange rate must be a positive finite Decimal, got {rate!r}")
    base, quote = currency_code(base), currency_code(quote)
    return f"{format_number(1, locale)} {base} = {format_number(rate, locale)} {quote}"


def format_datetime(moment: datetime, locale: str, timezone: str = "UTC") -> str:
    """A moment in the payer's zone, CLDR long date-time style (zone included)."""
    if moment.tzinfo is None:
        raise ValueError("refusing a naive datetime: its time zone would be a guess")
    return _babel_format_datetime(
        moment, "long", tzinfo=time_zone(timezone), locale=babel_locale(locale)
    )


def format_date(day: date, locale: str) -> str:
    """A calendar date (e.g. a payout's arrival date), CLDR long date style."""
    if isinstance(day, datetime):
        raise TypeError("pass a date; a datetime needs format_datetime and a time zone")
    return _babel_format_date(day, "long", locale=babel_locale(locale))


def country_code(code: str) -> str:
    """Validate an ISO 3166-1 alpha-2 code (any case) and return it upper-case."""
    if not isinstance(code, str) or len(code) != 2 or not code.isalpha():
        raise CountryError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    if pycountry.countries.get(alpha_2=code.upper()) is None:
        raise CountryError(f"{code!r} is not an ISO 3166-1 alpha-2 country code")
    return code.upper()


def country_name(code: str, locale: str) -> str:
    """The country's name in the locale (CLDR), e.g. ``('DE', 'ja')`` -> ``'ドイツ'``."""
    code = country_code(code)
    name = babel_locale(locale).territories.get(code)
    if name is None:  # pragma: no cover - CLDR names every ISO 3166-1 country
        return pycountry.countries.get(alpha_2=code).name
    return name


def currency_name(currency: str, locale: str, count: int | None = None) -> str:
    """The currency's name in the locale, plural-aware if ``count`` is given."""
    return get_currency_name(currency_code(currency), count=count, locale=babel_locale(locale))
