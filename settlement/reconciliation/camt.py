"""ISO 20022 camt.053 (statement) and camt.054 (debit/credit notification) importer.

The file is parsed with lxml (no DTDs, no entities, no network) and validated against
the official XSD of the message version its namespace names (``schemas/``, see the
README there for where they come from); a file that is not valid is refused with the
schema's line and reason. Only booked entries (``Sts`` ``BOOK``) are movements: pending
and informational entries change no balance and are skipped.

One account per file: a file with several ``Stmt``/``Ntfctn`` blocks is refused, so a
file hash keys exactly one statement.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from importlib import resources
from typing import Final

from lxml import etree

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

NAMESPACE_PREFIX: Final = "urn:iso:std:iso:20022:tech:xsd:"
SUPPORTED: Final = frozenset(
    {"camt.053.001.02", "camt.053.001.08", "camt.054.001.02", "camt.054.001.08"}
)
_PARSER: Final = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=True
)
_OPENING_CODES: Final = ("OPBD", "PRCD")
_CLOSING_CODES: Final = ("CLBD",)


@cache
def schema(message: str) -> etree.XMLSchema:
    """The official XSD of ``message`` (e.g. ``camt.053.001.02``), parsed once."""
    if message not in SUPPORTED:
        raise StatementRefused(f"{message} is not a supported camt message version")
    path = resources.files(__package__).joinpath("schemas").joinpath(f"{message}.xsd")
    with resources.as_file(path) as xsd:
        return etree.XMLSchema(etree.parse(str(xsd), _PARSER))


def message_of(root: etree._Element) -> str:
    namespace = etree.QName(root).namespace or ""
    if not namespace.startswith(NAMESPACE_PREFIX):
        raise StatementRefused(f"not an ISO 20022 document (namespace {namespace!r})", 1)
    return namespace.removeprefix(NAMESPACE_PREFIX)


def parse_camt(data: bytes) -> ParsedStatement:
    try:
        root = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise StatementRefused(f"not well-formed XML: {exc.msg}", exc.lineno or 0) from exc
    message = message_of(root)
    xsd = schema(message)
    if not xsd.validate(root):
        error = xsd.error_log[0]
        raise StatementRefused(f"{message} schema: {error.message}", error.line)
    return _Reader(root, message).statement()


class _Reader:
    def __init__(self, root: etree._Element, message: str) -> None:
        self.ns = {"c": f"{NAMESPACE_PREFIX}{message}"}
        self.root = root
        self.message = message

    def _text(self, element: etree._Element, path: str) -> str | None:
        value = element.findtext(path, namespaces=self.ns)
        return value.strip() if value is not None and value.strip() else None

    def _date(self, element: etree._Element, path: str) -> dt.date | None:
        """A ``DateAndDateTimeChoice``: ``Dt`` or ``DtTm`` (the date part, as booked)."""
        day = self._text(element, f"{path}/c:Dt")
        if day is not None:
            return dt.date.fromisoformat(day)
        stamp = self._text(element, f"{path}/c:DtTm")
        if stamp is not None:
            return dt.date.fromisoformat(stamp[:10])
        return None

    def _amount(self, element: etree._Element, line: int) -> tuple[int, str]:
        amount = element.find("c:Amt", self.ns)
        try:
            code = currency_code(amount.get("Ccy", ""))
            return parse_major(amount.text.strip(), code), code
        except (AmountError, CurrencyError) as exc:
            raise StatementRefused(str(exc), line) from exc

    def statement(self) -> ParsedStatement:
        kind = "Stmt" if self.message.startswith("camt.053") else "Ntfctn"
        blocks = self.root.findall(f"c:*/c:{kind}", self.ns)
        if len(blocks) != 1:
            raise StatementRefused(
                f"a file must hold exactly one {kind} (one account); found {len(blocks)}",
                blocks[1].sourceline if len(blocks) > 1 else 1,
            )
        block = blocks[0]
        account = self._text(block, "c:Acct/c:Id/c:IBAN") or self._text(
            block, "c:Acct/c:Id/c:Othr/c:Id"
        )
        currency = self._text(block, "c:Acct/c:Ccy")
        opening, closing, balance_currency = self._balances(block)
        lines = [
            line
            for entry in block.iterfind("c:Ntry", self.ns)
            if (line := self._line(entry)) is not None
        ]
        currency = currency or balance_currency or (lines[0].currency if lines else None)
        if currency is None:
            raise StatementRefused("the statement names no currency", block.sourceline)
        currency = currency_code(currency)
        for line in lines:
            if line.currency != currency:
                raise StatementRefused(
                    f"entry in {line.currency} on a {currency} account", line.line_no
                )
        parsed = ParsedStatement(
            format=self.message[:8],
            kind=StatementKind.BANK,
            account=account or "",
            currency=currency,
            lines=tuple(lines),
            opening=opening,
            closing=closing,
            statement_ref=self._text(block, "c:Id"),
        )
        parsed.check_balances()
        return parsed

    def _balances(self, block: etree._Element) -> tuple[Balance | None, Balance | None, str | None]:
        found: dict[str, Balance] = {}
        currency = None
        for bal in block.iterfind("c:Bal", self.ns):
            code = self._text(bal, "c:Tp/c:CdOrPrtry/c:Cd") or ""
            amount, currency = self._amount(bal, bal.sourceline)
            if self._text(bal, "c:CdtDbtInd") == "DBIT":
                amount = -amount
            day = self._date(bal, "c:Dt")
            if day is None:  # pragma: no cover - the XSD requires Dt
                raise StatementRefused("balance without a date", bal.sourceline)
            found.setdefault(code, Balance(amount, day))
        opening = next((found[c] for c in _OPENING_CODES if c in found), None)
        closing = next((found[c] for c in _CLOSING_CODES if c in found), None)
        return opening, closing, currency

    def _line(self, entry: etree._Element) -> StatementLine | None:
        status = self._text(entry, "c:Sts") or self._text(entry, "c:Sts/c:Cd")
        if status != "BOOK":
            return None
        line_no = entry.sourceline
        amount, currency = self._amount(entry, line_no)
        direction = (
            Direction.CREDIT if self._text(entry, "c:CdtDbtInd") == "CRDT" else Direction.DEBIT
        )
        booking = self._date(entry, "c:BookgDt")
        value = self._date(entry, "c:ValDt")
        if booking is None and value is None:
            raise StatementRefused("a booked entry needs a booking or value date", line_no)
        booking = booking or value
        details = entry.findall("c:NtryDtls/c:TxDtls", self.ns)
        first = details[0] if details else None
        e2e = self._text(first, "c:Refs/c:EndToEndId") if first is not None else None
        if e2e == "NOTPROVIDED":
            e2e = None
        # The counterparty is the debtor of a credit and the creditor of a debit.
        party, party_account = (
            ("Dbtr", "DbtrAcct")
            if direction is Direction.CREDIT
            else (
                "Cdtr",
                "CdtrAcct",
            )
        )
        remittance: list[str] = []
        name = account = None
        for tx in details:
            for path in ("c:RmtInf/c:Ustrd", "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref"):
                remittance += [
                    (t.text or "").strip()
                    for t in tx.iterfind(path, self.ns)
                    if (t.text or "").strip()
                ]
            name = (
                name
                or self._text(tx, f"c:RltdPties/c:{party}/c:Nm")
                or self._text(tx, f"c:RltdPties/c:{party}/c:Pty/c:Nm")
            )
            account = (
                account
                or self._text(tx, f"c:RltdPties/c:{party_account}/c:Id/c:IBAN")
                or self._text(tx, f"c:RltdPties/c:{party_account}/c:Id/c:Othr/c:Id")
            )
            extra = self._text(tx, "c:AddtlTxInf")
            if extra:
                remittance.append(extra)
        extra = self._text(entry, "c:AddtlNtryInf")
        if extra:
            remittance.append(extra)
        refs = References(
            end_to_end_id=e2e,
            bank_reference=self._text(entry, "c:AcctSvcrRef")
            or (self._text(first, "c:Refs/c:AcctSvcrRef") if first is not None else None),
            remittance_info=" ".join(remittance) or None,
            counterparty_name=name,
            counterparty_account=account,
        )
        return StatementLine(
            line_no=line_no,
            booking_date=booking,
            value_date=value or booking,
            amount=amount,
            currency=currency,
            direction=direction,
            refs=refs,
            raw=etree.tostring(entry, encoding="unicode", with_tail=False),
        )
