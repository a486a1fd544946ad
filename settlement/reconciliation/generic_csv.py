"""Any CSV export, read through a column mapping saved per source.

Banks and providers without a standard format export CSV files that differ in
everything: column names, date layout, decimal comma, one signed amount column or a
credit and a debit column. A :class:`CsvMapping` says how to read one source's files;
it is stored as JSON per source (table ``recon_csv_mappings``) so finance configures a
source once. Parsing is pure: text + mapping -> :class:`ParsedStatement`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from core.money import AmountError, CurrencyError, currency_code, parse_major

from .statement import (
    Direction,
    ParsedStatement,
    References,
    StatementKind,
    StatementLine,
    StatementRefused,
)

_REFERENCE_FIELDS = tuple(f.name for f in fields(References))


@dataclass(frozen=True)
class CsvMapping:
    """How to read one source's CSV files. Column values are header names.

    Exactly one of ``amount`` (signed, or unsigned with ``direction``) or the pair
    ``credit``/``debit`` must be given; exactly one of ``currency`` (a column) or
    ``fixed_currency``.
    """

    booking_date: str
    amount: str | None = None
    credit: str | None = None
    debit: str | None = None
    direction: str | None = None
    """A column whose values say credit or debit (see ``credit_values``)."""
    credit_values: tuple[str, ...] = ("C", "CR", "CRDT", "CREDIT")
    currency: str | None = None
    fixed_currency: str | None = None
    value_date: str | None = None
    date_format: str = "%Y-%m-%d"
    decimal_separator: str = "."
    thousands_separator: str = ""
    delimiter: str = ","
    kind: StatementKind = StatementKind.BANK
    account: str = ""
    references: dict[str, str] = field(default_factory=dict)
    """``References`` field name -> column (``end_to_end_id``, ``remittance_info``, ...)."""

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.credit is None and self.debit is None):
            raise ValueError("map either 'amount' or 'credit'/'debit', not both or neither")
        if (self.currency is None) == (self.fixed_currency is None):
            raise ValueError("map either a 'currency' column or a 'fixed_currency'")
        if self.fixed_currency is not None:
            object.__setattr__(self, "fixed_currency", currency_code(self.fixed_currency))
        unknown = set(self.references) - set(_REFERENCE_FIELDS)
        if unknown:
            raise ValueError(f"unknown reference fields {sorted(unknown)}")
        if len(self.delimiter) != 1:
            raise ValueError("delimiter must be one character")
        object.__setattr__(self, "kind", StatementKind(self.kind))
        object.__setattr__(self, "credit_values", tuple(v.upper() for v in self.credit_values))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["credit_values"] = list(self.credit_values)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CsvMapping:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown mapping keys {sorted(unknown)}")
        values = dict(data)
        if "credit_values" in values:
            values["credit_values"] = tuple(values["credit_values"])
        return cls(**values)

    def columns(self) -> set[str]:
        named = {
            self.booking_date,
            self.amount,
            self.credit,
            self.debit,
            self.direction,
            self.currency,
            self.value_date,
            *self.references.values(),
        }
        return {c for c in named if c}


def _decimal_text(text: str, mapping: CsvMapping) -> str:
    value = text.strip()
    if mapping.thousands_separator:
        value = value.replace(mapping.thousands_separator, "")
    if mapping.decimal_separator != ".":
        value = value.replace(mapping.decimal_separator, ".")
    return value


def parse_generic_csv(text: str, mapping: CsvMapping) -> ParsedStatement:
    reader = csv.DictReader(io.StringIO(text), delimiter=mapping.delimiter)
    header = [h.strip() for h in reader.fieldnames or []]
    missing = sorted(mapping.columns() - set(header))
    if missing:
        raise StatementRefused(f"columns missing from the header: {', '.join(missing)}", 1)
    reader.fieldnames = header
    lines: list[StatementLine] = []
    currency: str | None = mapping.fixed_currency
    for row in reader:
        number = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise StatementRefused("row has a different number of fields than the header", number)
        try:
            row_currency = (
                currency_code(row[mapping.currency].strip())
                if mapping.currency
                else (mapping.fixed_currency or "")
            )
            if currency is None:
                currency = row_currency
            elif row_currency != currency:
                raise StatementRefused(f"{row_currency} row in a {currency} file", number)
            signed = _signed_amount(row, mapping, row_currency)
            booking = dt.datetime.strptime(row[mapping.booking_date].strip(), mapping.date_format)
            value = (
                dt.datetime.strptime(row[mapping.value_date].strip(), mapping.date_format)
                if mapping.value_date and row[mapping.value_date].strip()
                else booking
            )
        except (AmountError, CurrencyError, ValueError) as exc:
            if isinstance(exc, StatementRefused):
                raise
            raise StatementRefused(str(exc), number) from exc
        refs = References(
            **{name: (row[column].strip() or None) for name, column in mapping.references.items()}
        )
        lines.append(
            StatementLine(
                line_no=number,
                booking_date=booking.date(),
                value_date=value.date(),
                amount=abs(signed),
                currency=row_currency,
                direction=Direction.CREDIT if signed >= 0 else Direction.DEBIT,
                refs=refs,
                raw=mapping.delimiter.join(row.get(h) or "" for h in header),
            )
        )
    if currency is None:
        raise StatementRefused("the file has no rows", 1)
    return ParsedStatement(
        format="csv",
        kind=mapping.kind,
        account=mapping.account,
        currency=currency,
        lines=tuple(lines),
    )


def _signed_amount(row: dict[str, str], mapping: CsvMapping, currency: str) -> int:
    if mapping.amount is not None:
        value = parse_major(_decimal_text(row[mapping.amount], mapping), currency)
        if mapping.direction is not None:
            is_credit = row[mapping.direction].strip().upper() in mapping.credit_values
            value = abs(value) if is_credit else -abs(value)
        return value
    credit = (row.get(mapping.credit or "") or "").strip()
    debit = (row.get(mapping.debit or "") or "").strip()
    if bool(credit) == bool(debit):
        raise ValueError("exactly one of the credit and debit columns must hold an amount")
    if credit:
        return abs(parse_major(_decimal_text(credit, mapping), currency))
    return -abs(parse_major(_decimal_text(debit, mapping), currency))
