"""Which format a file is in, told from its content (never its name), and its parser.

- ``camt``: an XML document in an ISO 20022 camt namespace;
- ``mt940``: SWIFT field tags (``:20:``, ``:25:``, ``:60F:``), optionally inside SWIFT
  ``{1:..}{4:`` blocks;
- ``stripe_report``: a CSV whose header has Stripe's balance-transaction columns;
- ``csv``: any other CSV, readable only with the source's saved :class:`CsvMapping`.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Final

from .camt import NAMESPACE_PREFIX, parse_camt
from .generic_csv import CsvMapping, parse_generic_csv
from .mt940 import parse_mt940
from .statement import ParsedStatement, StatementRefused
from .stripe_report import is_stripe_report, parse_stripe_report

_MT940_FIELDS: Final = re.compile(r"^:(20|25|60[FM]):", re.MULTILINE)
_SNIFF: Final = 4096


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise StatementRefused("the file is not UTF-8 text", line) from exc


def detect_format(data: bytes) -> str:
    head = data[:_SNIFF].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if NAMESPACE_PREFIX.encode() + b"camt." in head:
            return "camt"
        raise StatementRefused("an XML file that is not an ISO 20022 camt message", 1)
    text = head.decode("utf-8", errors="replace")
    if head.startswith(b"{1:") or len(set(_MT940_FIELDS.findall(text))) >= 2:
        return "mt940"
    first_line = text.splitlines()[0] if text else ""
    try:
        header = next(csv.reader(io.StringIO(first_line)))
    except (StopIteration, csv.Error):
        header = []
    if header and is_stripe_report(header):
        return "stripe_report"
    if any(len(first_line.split(sep)) >= 2 for sep in ",;\t|"):
        return "csv"
    raise StatementRefused("unrecognised statement format (camt, MT940 or CSV expected)", 1)


def parse_statement(data: bytes, mapping: CsvMapping | None = None) -> ParsedStatement:
    """Detect the format and parse; raises :class:`StatementRefused` (line and reason)."""
    if not data.strip():
        raise StatementRefused("the file is empty", 1)
    kind = detect_format(data)
    if kind == "camt":
        return parse_camt(data)
    if kind == "mt940":
        return parse_mt940(data)
    text = _text(data)
    if kind == "stripe_report":
        return parse_stripe_report(text)
    if mapping is None:
        raise StatementRefused("a CSV file needs a saved column mapping for its source", 1)
    return parse_generic_csv(text, mapping)
