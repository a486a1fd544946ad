"""Result codes of a posting, named after TigerBeetle's ``CreateTransferResult``.

A posting never raises for a business reason: each transfer gets a code, so a batch can
report exactly which of its transfers failed and why. Codes fall into three groups,
evaluated in this order (the first that applies wins):

1. **Input** codes depend on the request alone (``amount_must_be_positive``,
   ``accounts_must_be_different``, ...). The same request always fails the same way, so
   they are not recorded.
2. **Idempotency** codes compare the request with a transfer already stored under the
   same id: ``exists`` (identical, a no-op that returns the original) or
   ``exists_with_different_<field>``; then ``id_already_failed`` when an earlier attempt
   under this id failed on ledger state.
3. **State** codes depend on what the ledger holds (accounts, balances, pending
   transfers). They are recorded in ``ledger_failed_transfers`` in the caller's
   transaction, so that the same id keeps failing even after the state changes (a
   transfer refused for lack of funds must not silently succeed when retried later:
   the caller retries with a new id, deliberately).
"""

from __future__ import annotations

from enum import StrEnum


class ResultCode(StrEnum):
    OK = "ok"
    EXISTS = "exists"
    LINKED_EVENT_FAILED = "linked_event_failed"

    # -- input ---------------------------------------------------------------------------
    ID_INVALID = "id_invalid"
    PENDING_ID_INVALID = "pending_id_invalid"
    REVERSES_INVALID = "reverses_invalid"
    PENDING_ID_MUST_BE_DIFFERENT = "pending_id_must_be_different"
    REVERSES_MUST_BE_DIFFERENT = "reverses_must_be_different"
    ACCOUNTS_MUST_BE_DIFFERENT = "accounts_must_be_different"
    AMOUNT_MUST_BE_POSITIVE = "amount_must_be_positive"
    AMOUNT_TOO_LARGE = "amount_too_large"
    CURRENCY_INVALID = "currency_invalid"
    CODE_INVALID = "code_invalid"
    REFERENCE_INVALID = "reference_invalid"
    TIMEOUT_RESERVED_FOR_PENDING_TRANSFER = "timeout_reserved_for_pending_transfer"
    TIMEOUT_MUST_BE_POSITIVE = "timeout_must_be_positive"

    # -- idempotency ---------------------------------------------------------------------
    EXISTS_WITH_DIFFERENT_KIND = "exists_with_different_kind"
    EXISTS_WITH_DIFFERENT_DEBIT = "exists_with_different_debit"
    EXISTS_WITH_DIFFERENT_CREDIT = "exists_with_different_credit"
    EXISTS_WITH_DIFFERENT_AMOUNT = "exists_with_different_amount"
    EXISTS_WITH_DIFFERENT_CURRENCY = "exists_with_different_currency"
    EXISTS_WITH_DIFFERENT_PENDING_ID = "exists_with_different_pending_id"
    EXISTS_WITH_DIFFERENT_REVERSES = "exists_with_different_reverses"
    EXISTS_WITH_DIFFERENT_TIMEOUT = "exists_with_different_timeout"
    EXISTS_WITH_DIFFERENT_CODE = "exists_with_different_code"
    EXISTS_WITH_DIFFERENT_REFERENCE = "exists_with_different_reference"
    EXISTS_WITH_DIFFERENT_METADATA = "exists_with_different_metadata"
    JOURNAL_PARTIALLY_EXISTS = "journal_partially_exists"
    ID_ALREADY_FAILED = "id_already_failed"

    # -- state ---------------------------------------------------------------------------
    DEBIT_ACCOUNT_NOT_FOUND = "debit_account_not_found"
    CREDIT_ACCOUNT_NOT_FOUND = "credit_account_not_found"
    CURRENCY_MISMATCH = "currency_mismatch"
    PENDING_TRANSFER_NOT_FOUND = "pending_transfer_not_found"
    PENDING_TRANSFER_NOT_PENDING = "pending_transfer_not_pending"
    PENDING_TRANSFER_ALREADY_POSTED = "pending_transfer_already_posted"
    PENDING_TRANSFER_ALREADY_VOIDED = "pending_transfer_already_voided"
    PENDING_TRANSFER_EXPIRED = "pending_transfer_expired"
    PENDING_TRANSFER_NOT_EXPIRED = "pending_transfer_not_expired"
    EXCEEDS_PENDING_TRANSFER_AMOUNT = "exceeds_pending_transfer_amount"
    TRANSFER_NOT_FOUND = "transfer_not_found"
    TRANSFER_NOT_REVERSIBLE = "transfer_not_reversible"
    ALREADY_REVERSED = "already_reversed"
    OVERFLOWS_DEBITS_PENDING = "overflows_debits_pending"
    OVERFLOWS_CREDITS_PENDING = "overflows_credits_pending"
    OVERFLOWS_DEBITS_POSTED = "overflows_debits_posted"
    OVERFLOWS_CREDITS_POSTED = "overflows_credits_posted"
    OVERFLOWS_DEBITS = "overflows_debits"
    OVERFLOWS_CREDITS = "overflows_credits"
    OVERFLOWS_TIMEOUT = "overflows_timeout"
    EXCEEDS_CREDITS = "exceeds_credits"
    EXCEEDS_DEBITS = "exceeds_debits"

    @property
    def ok(self) -> bool:
        """``ok`` and ``exists`` both mean: the transfer is in the ledger as requested."""
        return self in _SUCCESS

    @property
    def recorded(self) -> bool:
        """Whether a failure with this code is remembered against the transfer id."""
        return self in _STATE


_SUCCESS = frozenset({ResultCode.OK, ResultCode.EXISTS})
_STATE = frozenset(
    code
    for code in ResultCode
    if list(ResultCode).index(code) >= list(ResultCode).index(ResultCode.DEBIT_ACCOUNT_NOT_FOUND)
)


class LedgerError(Exception):
    """A refused ledger operation, raised by the ``*_or_raise`` calls and account lookups.

    ``code`` is a :class:`ResultCode` value (or an account-level code such as
    ``account_exists_with_different_flags``); ``transfer_id`` names the transfer that
    failed, when there is one.
    """

    def __init__(self, code: str, transfer_id: str | None = None, message: str = "") -> None:
        self.code = str(code)
        self.transfer_id = transfer_id
        self.message = message or self.code.replace("_", " ")
        subject = f" (transfer {transfer_id})" if transfer_id else ""
        super().__init__(f"{self.code}{subject}: {self.message}")
