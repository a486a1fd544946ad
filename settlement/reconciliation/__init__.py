"""Reconciliation: prove every day that the ledger, the providers and the banks agree.

Import a statement file (camt.053/054, MT940, Stripe's itemized reconciliation report,
or any CSV through a saved column mapping), match its lines against what the system
expects (payouts, provider settlements, payers' bank transfers), post what matching
proves to the ledger, and put every break in front of finance. See DESIGN.md
(Settlement) and the modules' docs.

Entry points: :func:`import_statement`, :func:`reconcile`, :func:`resolve_break`,
:func:`list_breaks`, :func:`daily_report`, the ``render_*`` functions, and for other
parts of the system :func:`register_provider` and the hooks in :mod:`.hooks`.
"""

from .breaks import ACTIONS, get_break, list_breaks, resolve_break
from .engine import Group, LineItem, MatchResult, Outcome, match
from .expected import Expected, ExpectedKind, ExpectedProvider, Window, register_provider
from .formats import detect_format, parse_statement
from .generic_csv import CsvMapping
from .hooks import BankCredit, on_bank_transfer_received, on_payout_confirmed
from .providers import (
    AwaitingBankTransfers,
    AwaitingTransfer,
    BankTransferExpectations,
    CaptureExpectations,
    PayoutExpectations,
    ProviderCapture,
    ProviderCaptures,
    install_payouts_link,
)
from .render import render_break, render_line, render_statement
from .report import daily_report, render_report, report_csv
from .rules import SourceRules, configure_source
from .service import (
    ImportResult,
    ReconciliationError,
    RunSummary,
    csv_mapping,
    get_statement,
    import_statement,
    reconcile,
    save_csv_mapping,
    statement_counts,
    statement_lines,
)
from .statement import Direction, ParsedStatement, StatementKind, StatementLine, StatementRefused

__all__ = [
    "ACTIONS",
    "AwaitingBankTransfers",
    "AwaitingTransfer",
    "BankCredit",
    "BankTransferExpectations",
    "CaptureExpectations",
    "CsvMapping",
    "Direction",
    "Expected",
    "ExpectedKind",
    "ExpectedProvider",
    "Group",
    "ImportResult",
    "LineItem",
    "MatchResult",
    "Outcome",
    "ParsedStatement",
    "PayoutExpectations",
    "ProviderCapture",
    "ProviderCaptures",
    "ReconciliationError",
    "RunSummary",
    "SourceRules",
    "StatementKind",
    "StatementLine",
    "StatementRefused",
    "Window",
    "configure_source",
    "csv_mapping",
    "daily_report",
    "detect_format",
    "get_break",
    "get_statement",
    "import_statement",
    "install_payouts_link",
    "list_breaks",
    "match",
    "on_bank_transfer_received",
    "on_payout_confirmed",
    "parse_statement",
    "reconcile",
    "register_provider",
    "render_break",
    "render_line",
    "render_report",
    "render_statement",
    "report_csv",
    "resolve_break",
    "save_csv_mapping",
    "statement_counts",
    "statement_lines",
]
