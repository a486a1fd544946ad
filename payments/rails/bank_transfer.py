"""Bank transfers: the payer pushes funds to the platform's account with a reference.

``authorise`` leaves the intent in ``requires_action`` with Stripe's
``display_bank_transfer_instructions``: the amount, the platform's receiving account
(IBAN and BIC, validated with schwifty) and an ISO 11649 RF reference unique to the
intent (:mod:`payments.rails.creditor_reference`). Funds are confirmed when a credit
with that reference arrives — a statement line, or in the sandbox a signed credit
advice from the test-helper route — and :mod:`payments.rails.credit_matching` decides
what the amount does (exact, short, excess).

Credit advice (what :meth:`BankTransferAdapter.parse_notification` accepts; the
statement importer produces the same fields)::

    Corridor-Bank-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">
    {"id": "bcrd_...", "object": "bank_credit", "created": <unix seconds>,
     "amount": 5000, "currency": "eur", "reference": "RF.. .... ....",
     "remittance_information": "free text that may contain the reference",
     "payer_name": "...", "payer_iban": "..."}

The receiving account comes from ``Settings`` (``bank_receiving_iban``,
``bank_receiving_bic``, ``bank_receiving_name``) or, in the sandbox, the documented
example account :data:`SANDBOX_ACCOUNT` (DE89 3704 0044 0532 0130 00, COBADEFFXXX).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from core.ids import new_id
from core.money import CurrencyError, currency_code
from core.settings import Settings
from payments import webhook_signature
from payments.rails import creditor_reference
from payments.rails.base import (
    Authorisation,
    AuthorisationRequest,
    AuthorisationResult,
    BankTransferInstrument,
    CancelResult,
    CaptureResult,
    Notification,
    NotificationError,
    NotificationKind,
    RailError,
    RefundResult,
    RefundStatus,
    SignedMessage,
    UnsupportedOperation,
    check_refund_amount,
    header_value,
)

RAIL: Final = "bank_transfer"
SIGNATURE_HEADER: Final = "Corridor-Bank-Signature"
SEPA_CURRENCY: Final = "EUR"


class BankDetailsError(ValueError):
    """An IBAN or BIC that does not validate; ``param`` names the field."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param
        self.message = message


def validate_iban(text: str, *, param: str = "iban") -> str:
    """Compact, check-digit-verified IBAN (``DE89370400440532013000``)."""
    try:
        return IBAN(text).compact
    except SchwiftyException as exc:
        raise BankDetailsError(param, f"{text!r} is not a valid IBAN: {exc}") from exc


def validate_bic(text: str, *, param: str = "bic") -> str:
    try:
        return BIC(text).compact
    except SchwiftyException as exc:
        raise BankDetailsError(param, f"{text!r} is not a valid BIC: {exc}") from exc


@dataclass(frozen=True)
class ReceivingAccount:
    """The platform's account payers send bank transfers to."""

    account_holder_name: str
    iban: str
    bic: str

    def __post_init__(self) -> None:
        iban = validate_iban(self.iban, param="bank_receiving_iban")
        bic = validate_bic(self.bic, param="bank_receiving_bic")
        if IBAN(iban).country_code != BIC(bic).country_code:
            raise BankDetailsError(
                "bank_receiving_bic", f"BIC {bic} is not in the IBAN's country ({iban[:2]})"
            )
        object.__setattr__(self, "iban", iban)
        object.__setattr__(self, "bic", bic)
        if not self.account_holder_name.strip():
            raise BankDetailsError("bank_receiving_name", "the account holder name is empty")

    @property
    def country(self) -> str:
        return self.iban[:2]

    @classmethod
    def from_settings(cls, settings: Settings) -> ReceivingAccount:
        iban = settings.bank_receiving_iban
        if not iban:
            return SANDBOX_ACCOUNT
        bic = settings.bank_receiving_bic
        if not bic:
            looked_up = IBAN(validate_iban(iban, param="bank_receiving_iban")).bic
            if looked_up is None:
                raise BankDetailsError(
                    "bank_receiving_bic", "set the BIC: the IBAN's bank is not in the registry"
                )
            bic = looked_up.compact
        return cls(
            account_holder_name=settings.bank_receiving_name,
            iban=iban,
            bic=bic,
        )


SANDBOX_ACCOUNT: Final = ReceivingAccount(
    account_holder_name="Corridor Payments Sandbox",
    iban="DE89370400440532013000",
    bic="COBADEFFXXX",
)


def transfer_instructions(
    account: ReceivingAccount, *, reference: str, amount_remaining: int, currency: str
) -> dict[str, Any]:
    """``next_action`` for an intent awaiting a transfer, in Stripe's shape.

    Called again after a short payment with the new ``amount_remaining``. EUR goes over
    SEPA (``eu_bank_transfer``); other currencies to the same IBAN over SWIFT.
    """
    currency = currency_code(currency)
    sepa = currency == SEPA_CURRENCY
    return {
        "type": "display_bank_transfer_instructions",
        "display_bank_transfer_instructions": {
            "type": "eu_bank_transfer" if sepa else "international_bank_transfer",
            "amount_remaining": amount_remaining,
            "currency": currency.lower(),
            "reference": reference,
            "reference_formatted": creditor_reference.format_reference(reference),
            "financial_addresses": [
                {
                    "type": "iban",
                    "iban": {
                        "account_holder_name": account.account_holder_name,
                        "bic": account.bic,
                        "country": account.country,
                        "iban": account.iban,
                    },
                    "supported_networks": ["sepa"] if sepa else ["swift"],
                }
            ],
            "hosted_instructions_url": None,
        },
    }


def build_credit_advice(
    secret: str,
    *,
    amount: int,
    currency: str,
    reference: str | None = None,
    remittance_information: str | None = None,
    payer_name: str | None = None,
    payer_iban: str | None = None,
    credit_id: str | None = None,
    timestamp: int | None = None,
) -> SignedMessage:
    """A signed credit advice, for the test-helper route that plays the bank."""
    ts = int(time.time()) if timestamp is None else timestamp
    body = json.dumps(
        {
            "id": credit_id or new_id("bcrd"),
            "object": "bank_credit",
            "created": ts,
            "amount": amount,
            "currency": currency_code(currency).lower(),
            "reference": reference,
            "remittance_information": remittance_information,
            "payer_name": payer_name,
            "payer_iban": validate_iban(payer_iban, param="payer_iban") if payer_iban else None,
        },
        separators=(",", ":"),
    ).encode()
    return SignedMessage(
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: webhook_signature.sign(body, secret, timestamp=ts),
        },
        body=body,
    )


class BankTransferAdapter:
    name = RAIL
    supports_manual_capture = False
    cancelable_while_processing = False

    def __init__(
        self,
        account: ReceivingAccount,
        secret: str,
        *,
        tolerance: int = webhook_signature.DEFAULT_TOLERANCE_SECONDS,
        now: Callable[[], float] = time.time,
    ) -> None:
        if not secret:
            raise ValueError("no bank notification secret")
        self.account = account
        self._secret = secret
        self._tolerance = tolerance
        self._now = now

    def authorise(self, request: AuthorisationRequest) -> AuthorisationResult:
        if not isinstance(request.instrument, BankTransferInstrument):
            raise RailError("payment_method_unsupported", "the bank_transfer rail takes transfers")
        if request.capture_method != "automatic":
            raise RailError(
                "capture_method_unsupported",
                "bank transfers are captured when they arrive; capture_method must be automatic",
            )
        # Same reference for every attempt: a payer who already sent money with the
        # first instructions must still be matched.
        reference = creditor_reference.reference_for(request.intent_id)
        auth = Authorisation(
            rail=RAIL,
            reference=reference,
            intent_id=request.intent_id,
            amount=request.amount,
            currency=request.currency,
            state={"receiving_iban": self.account.iban},
        )
        return AuthorisationResult.action_required(
            auth,
            transfer_instructions(
                self.account,
                reference=reference,
                amount_remaining=request.amount,
                currency=request.currency,
            ),
        )

    def resume(
        self, authorisation: Authorisation, *, action_result: str | None = None
    ) -> AuthorisationResult:
        raise UnsupportedOperation(RAIL, "resume (a transfer completes when its funds arrive)")

    def capture(
        self, authorisation: Authorisation, amount: int, *, attempt: int = 1
    ) -> CaptureResult:
        raise UnsupportedOperation(RAIL, "manual capture")

    def cancel(self, authorisation: Authorisation, *, attempt: int = 1) -> CancelResult:
        # Nothing is held; later credits with this reference become surplus to return.
        return CancelResult(reference=authorisation.reference, amount_released=0)

    def refund(
        self, authorisation: Authorisation, amount: int, *, refund_id: str, attempt: int = 1
    ) -> RefundResult:
        """Accepted and pending: the money leaves in the next outgoing payment file."""
        check_refund_amount(authorisation, amount)
        return RefundResult(
            reference=f"btre_{refund_id}",
            amount=amount,
            currency=authorisation.currency,
            status=RefundStatus.PENDING,
        )

    def parse_notification(self, headers: Mapping[str, str], body: bytes) -> Notification:
        try:
            webhook_signature.verify(
                body,
                header_value(headers, SIGNATURE_HEADER),
                self._secret,
                tolerance=self._tolerance,
                now=int(self._now()),
            )
        except webhook_signature.SignatureError as exc:
            raise NotificationError(f"bank credit signature rejected: {exc}") from exc
        try:
            credit = json.loads(body)
            if credit.get("object") != "bank_credit" or not credit.get("id"):
                raise ValueError("not a bank credit")
            amount = credit["amount"]
            if type(amount) is not int or amount <= 0:
                raise ValueError("amount must be a positive integer of minor units")
            currency = currency_code(str(credit["currency"]))
            created = int(credit["created"])
        except (ValueError, KeyError, TypeError, CurrencyError) as exc:
            raise NotificationError(f"malformed bank credit: {exc}") from exc
        reference = None
        for text in (credit.get("reference"), credit.get("remittance_information")):
            if isinstance(text, str) and text:
                reference = creditor_reference.find_reference(text)
                if reference:
                    break
        return Notification(
            rail=RAIL,
            event_id=str(credit["id"]),
            kind=NotificationKind.FUNDS_RECEIVED,
            event_type="bank_credit",
            reference=reference,
            occurred_at=created,
            amount=amount,
            currency=currency,
            payload=credit,
        )
