"""SWIFT MT940 customer statement importer (parsing by the ``mt-940`` package).

``mt-940`` is lenient by design: it skips what it does not understand. A reconciliation
importer must not be, so every line is first checked against the tag grammar (field 61's
layout, balance fields' layout, known tags only), which also gives the line number of a
fault; the package then does the parsing proper, and the number of entries it returns
must equal the number of ``:61:`` lines seen. Several statements in one file
(``:20:`` ... ``:62F:`` blocks) are accepted when they are for one account and currency
and chain (each opening equals the previous closing); each block's balances are checked.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any, Final

import mt940 as mt940_lib

from core.money import AmountError, CurrencyError, currency_code, parse_major

from .statement import (
    Balance,
    Direction,
    ParsedStatement,
    References,
    StatementKind,
    StatementLine,
    StatementRefused,
)

_TAG: Final = re.compile(r"^:(\d{2}[A-Z]?):")
_KNOWN_TAGS: Final = frozenset(
    {
        "13",
        "13D",
        "20",
        "21",
        "25",
        "28",
        "28C",
        "34F",
        "60F",
        "60M",
        "61",
        "62F",
        "62M",
        "64",
        "65",
        "86",
        "90C",
        "90D",
    }
)
_BALANCE: Final = re.compile(r"^[CD]\d{6}[A-Z]{3}\d{1,12},\d{0,3}$")
_FIELD_61: Final = re.compile(r"^\d{6}(\d{4})?R?[CD][A-Z]?\d{1,12},\d{0,3}[NSF][A-Z0-9]{3}\S")
_BLOCK_WRAPPER: Final = re.compile(r"^\{[1-5]:[^}]*\}*|^\{4:|^-\}$")
_EMPTY_REFERENCES: Final = frozenset({"NONREF", "NOTPROVIDED"})


def _check_grammar(text: str) -> list[tuple[int, str]]:
    """Line number and raw text (``:61:`` plus its ``:86:``) of each entry, after checking
    every line's tag and layout."""
    entries: list[tuple[int, list[str]]] = []
    in_entry = False
    seen_tag = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line or line == "-" or _BLOCK_WRAPPER.match(line):
            continue
        match = _TAG.match(line)
        if match is None:
            if not seen_tag:
                raise StatementRefused("expected an MT940 field tag such as ':20:'", number)
            if in_entry:  # a continuation of the previous field (:86: spans lines)
                entries[-1][1].append(line)
            continue
        seen_tag = True
        tag, body = match.group(1), line[match.end() :]
        in_entry = tag == "61" or (tag == "86" and in_entry)
        if tag == "86" and in_entry:
            entries[-1][1].append(line)
        if tag not in _KNOWN_TAGS:
            raise StatementRefused(f"unknown MT940 field :{tag}:", number)
        if tag in {"60F", "60M", "62F", "62M", "64", "65"} and not _BALANCE.match(body):
            raise StatementRefused(
                f"field :{tag}: is not a balance 'C|D YYMMDD CCY amount'", number
            )
        if tag == "61":
            if not _FIELD_61.match(body):
                raise StatementRefused(
                    "field :61: is not 'YYMMDD[MMDD](R)C|D[funds]amount type reference'", number
                )
            entries.append((number, [line]))
    if not seen_tag:
        raise StatementRefused("empty MT940 file", 1)
    return [(number, "\n".join(raw)) for number, raw in entries]


def _minor(value: Any, currency: str, line: int) -> int:
    """An ``mt940`` Amount (signed Decimal) in minor units, sign kept."""
    amount: Decimal = value.amount
    try:
        minor = parse_major(str(abs(amount)), currency)
    except (AmountError, CurrencyError) as exc:
        raise StatementRefused(str(exc), line) from exc
    return -minor if amount < 0 else minor


def _balance(block: Any, kind: str, line: int) -> Balance | None:
    balance = block.data.get(f"final_{kind}_balance") or block.data.get(
        f"intermediate_{kind}_balance"
    )
    if balance is None:
        return None
    currency = currency_code(balance.amount.currency)
    return Balance(_minor(balance.amount, currency, line), dt.date(*balance.date.timetuple()[:3]))


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if not text or text.upper() in _EMPTY_REFERENCES else text


def parse_mt940(data: bytes) -> ParsedStatement:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # SWIFT's character set is a subset of Latin-1
    entry_lines = _check_grammar(text)
    blocks = mt940_lib.parse_statements(text)
    blocks = [b for b in blocks if b.data.get("account_identification") or len(b)]
    if not blocks:
        raise StatementRefused("no statement (':20:' ... ':62F:') found", 1)
    parsed_count = sum(len(b) for b in blocks)
    if parsed_count != len(entry_lines):
        raise StatementRefused(
            f"{len(entry_lines)} ':61:' entries but {parsed_count} could be parsed",
            entry_lines[min(parsed_count, len(entry_lines) - 1)][0] if entry_lines else 1,
        )
    account = blocks[0].data.get("account_identification") or ""
    lines: list[StatementLine] = []
    opening = closing = None
    currency: str | None = None
    numbers = iter(entry_lines)
    for block in blocks:
        if (block.data.get("account_identification") or "") != account:
            raise StatementRefused("a file must hold statements of one account only")
        block_opening = _balance(block, "opening", 1)
        block_closing = _balance(block, "closing", 1)
        if block_opening is None or block_closing is None:
            raise StatementRefused(
                "each statement needs an opening (:60:) and closing (:62:) balance"
            )
        block_currency = currency_code(
            block.data.get(
                "final_opening_balance", block.data.get("intermediate_opening_balance")
            ).amount.currency
        )
        currency = currency or block_currency
        if block_currency != currency:
            raise StatementRefused("a file must hold statements of one currency only")
        if closing is not None and block_opening.amount != closing.amount:
            raise StatementRefused(
                f"statement opens at {block_opening.amount}, previous closed at {closing.amount}"
            )
        opening = opening or block_opening
        block_lines = [_line(tx, next(numbers), currency) for tx in block]
        ParsedStatement(
            "mt940",
            StatementKind.BANK,
            account,
            currency,
            tuple(block_lines),
            block_opening,
            block_closing,
        ).check_balances()
        lines += block_lines
        closing = block_closing
    assert currency is not None
    return ParsedStatement(
        format="mt940",
        kind=StatementKind.BANK,
        account=account,
        currency=currency,
        lines=tuple(lines),
        opening=opening,
        closing=closing,
        statement_ref=_clean(blocks[0].data.get("transaction_reference")),
    )


def _line(tx: Any, entry: tuple[int, str], currency: str) -> StatementLine:
    line_no, raw = entry
    data = tx.data
    if currency_code(data.get("currency") or currency) != currency:
        raise StatementRefused(f"entry in {data.get('currency')} on a {currency} account", line_no)
    signed = _minor(data["amount"], currency, line_no)
    value_date = dt.date(*data["date"].timetuple()[:3])
    booked = data.get("entry_date") or data["date"]
    booking_date = dt.date(*booked.timetuple()[:3])
    remittance = " ".join(
        part
        for key in ("purpose", "transaction_details", "extra_details", "additional_purpose")
        if (part := _clean(data.get(key)))
    )
    return StatementLine(
        line_no=line_no,
        booking_date=booking_date,
        value_date=value_date,
        amount=abs(signed),
        currency=currency,
        direction=Direction.CREDIT if signed >= 0 else Direction.DEBIT,
        refs=References(
            end_to_end_id=_clean(data.get("end_to_end_reference"))
            or _clean(data.get("customer_reference")),
            bank_reference=_clean(data.get("bank_reference")),
            remittance_info=remittance or None,
            counterparty_name=_clean(data.get("applicant_name")),
            counterparty_account=_clean(data.get("applicant_iban")),
        ),
        raw=raw,
    )
