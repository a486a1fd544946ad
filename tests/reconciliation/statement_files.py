"""Real-format statement files built for the tests: camt.053/054 to the ISO 20022 schema,
MT940 in SWIFT's field layout, and Stripe's itemized reconciliation CSV."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from xml.sax.saxutils import escape

from core.money import from_minor

IBAN = "DE89370400440532013000"


@dataclass
class Entry:
    amount: int
    """Signed minor units: + credit, - debit."""
    booked: dt.date
    e2e: str | None = None
    remittance: str | None = None
    name: str | None = None
    iban: str | None = None
    ref: str | None = None
    status: str = "BOOK"


def major(amount: int, currency: str) -> str:
    value: Decimal = from_minor(abs(amount), currency).amount
    return f"{value:f}"


def camt053(
    entries: list[Entry],
    *,
    opening: int,
    closing: int | None = None,
    currency: str = "EUR",
    version: str = "02",
    message: str = "053",
    statement_id: str = "STMT-1",
    day: dt.date = dt.date(2026, 3, 2),
) -> bytes:
    booked_total = sum(e.amount for e in entries if e.status == "BOOK")
    closing = opening + booked_total if closing is None else closing
    v08 = version == "08"
    ntry = []
    for n, e in enumerate(entries):
        cd = "CRDT" if e.amount >= 0 else "DBIT"
        family = "RCDT" if cd == "CRDT" else "ICDT"
        party, acct = ("Dbtr", "DbtrAcct") if e.amount >= 0 else ("Cdtr", "CdtrAcct")
        parties = ""
        if e.name or e.iban:
            name = f"<Nm>{escape(e.name)}</Nm>" if e.name else ""
            party_xml = (
                f"<{party}><Pty>{name}</Pty></{party}>" if v08 else f"<{party}>{name}</{party}>"
            )
            acct_xml = f"<{acct}><Id><IBAN>{e.iban}</IBAN></Id></{acct}>" if e.iban else ""
            parties = f"<RltdPties>{party_xml if e.name else ''}{acct_xml}</RltdPties>"
        rmt = f"<RmtInf><Ustrd>{escape(e.remittance)}</Ustrd></RmtInf>" if e.remittance else ""
        refs = f"<Refs><EndToEndId>{escape(e.e2e or 'NOTPROVIDED')}</EndToEndId></Refs>"
        status = f"<Sts><Cd>{e.status}</Cd></Sts>" if v08 else f"<Sts>{e.status}</Sts>"
        ntry.append(
            f"""
      <Ntry>
        <Amt Ccy="{currency}">{major(e.amount, currency)}</Amt>
        <CdtDbtInd>{cd}</CdtDbtInd>
        {status}
        <BookgDt><Dt>{e.booked.isoformat()}</Dt></BookgDt>
        <ValDt><Dt>{e.booked.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>{escape(e.ref or f"BANKREF{n:04d}")}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>{refs}{parties}{rmt}</TxDtls></NtryDtls>
      </Ntry>"""
        )

    def bal(code: str, amount: int) -> str:
        return f"""
      <Bal>
        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>
        <Amt Ccy="{currency}">{major(amount, currency)}</Amt>
        <CdtDbtInd>{"CRDT" if amount >= 0 else "DBIT"}</CdtDbtInd>
        <Dt><Dt>{day.isoformat()}</Dt></Dt>
      </Bal>"""

    root, block = (
        ("BkToCstmrStmt", "Stmt") if message == "053" else ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
    )
    balances = bal("OPBD", opening) + bal("CLBD", closing) if message == "053" else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.{message}.001.{version}">
  <{root}>
    <GrpHdr><MsgId>MSG-{statement_id}</MsgId><CreDtTm>{day.isoformat()}T18:00:00</CreDtTm></GrpHdr>
    <{block}>
      <Id>{statement_id}</Id>
      <CreDtTm>{day.isoformat()}T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{IBAN}</IBAN></Id><Ccy>{currency}</Ccy></Acct>{balances}{"".join(ntry)}
    </{block}>
  </{root}>
</Document>
""".encode()


def _mt_amount(amount: int, currency: str) -> str:
    return major(amount, currency).replace(".", ",")


def mt940(
    entries: list[Entry],
    *,
    opening: int,
    closing: int | None = None,
    currency: str = "EUR",
    day: dt.date = dt.date(2026, 3, 2),
    reference: str = "STARTUMS",
) -> bytes:
    closing = opening + sum(e.amount for e in entries) if closing is None else closing

    def bal(tag: str, amount: int) -> str:
        sign = "C" if amount >= 0 else "D"
        return f":{tag}:{sign}{day:%y%m%d}{currency}{_mt_amount(amount, currency)}"

    out = [f":20:{reference}", f":25:{IBAN}", ":28C:00001/001", bal("60F", opening)]
    for n, e in enumerate(entries):
        sign = "C" if e.amount >= 0 else "D"
        customer_ref = (e.e2e or "NONREF")[:16]
        out.append(
            f":61:{e.booked:%y%m%d}{e.booked:%m%d}{sign}{_mt_amount(e.amount, currency)}"
            f"NTRF{customer_ref}//{e.ref or f'B{n:05d}'}"
        )
        details = ["166?00SEPA GUTSCHRIFT" if e.amount >= 0 else "116?00SEPA UEBERWEISUNG"]
        if e.e2e:
            details.append(f"?20EREF+{e.e2e}")
        if e.remittance:
            details.append(f"?21SVWZ+{e.remittance}")
        if e.name:
            details.append(f"?32{e.name[:27]}")
        out.append(":86:" + "".join(details))
    out.append(bal("62F", closing))
    out.append("-")
    return ("\r\n".join(out) + "\r\n").encode()


STRIPE_HEADER = (
    "balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,"
    "reporting_category,source_id,description,payment_intent_id,automatic_payout_id,"
    "automatic_payout_effective_at_utc"
)


@dataclass
class StripeRow:
    txn: str
    gross: int
    fee: int
    category: str
    source: str
    payment_intent: str | None
    payout: str | None
    created: dt.date = dt.date(2026, 3, 1)
    payout_date: dt.date = dt.date(2026, 3, 3)
    description: str = ""


def stripe_report(rows: list[StripeRow], currency: str = "eur") -> bytes:
    out = [STRIPE_HEADER]
    for r in rows:
        out.append(
            ",".join(
                [
                    r.txn,
                    f"{r.created.isoformat()} 10:15:00",
                    f"{r.payout_date.isoformat()} 00:00:00",
                    currency,
                    ("-" if r.gross < 0 else "") + major(r.gross, currency),
                    ("-" if r.fee < 0 else "") + major(r.fee, currency),
                    ("-" if r.gross - r.fee < 0 else "") + major(r.gross - r.fee, currency),
                    r.category,
                    r.source,
                    r.description,
                    r.payment_intent or "",
                    r.payout or "",
                    f"{r.payout_date.isoformat()} 00:00:00" if r.payout else "",
                ]
            )
        )
    return ("\n".join(out) + "\n").encode()
