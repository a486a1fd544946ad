"""Compliance plugged into the money flow: the checks payments and payouts ask before money moves.

Payments and settlement must not import compliance (domains only meet in the composition
root), so each offers a registry and :func:`install` fills them:

* ``payments.preauthorisation``: every confirm asks :func:`check_payment`. It screens the
  payer (name, country, date of birth) and the merchant (legal name, country) against the
  active sanctions lists, converts the amount to the rule set's base currency, and runs
  :func:`compliance.assessment.assess` (rules, history, review case, audit entry). Its
  ``review`` holds the intent in ``requires_review`` with the case id; ``block`` becomes
  the generic decline payments gives (nobody outside compliance learns why).
* ``payments.preauthorisation.on_refund``: every accepted refund is remembered for the
  refund-abuse rule.
* ``settlement.payout_screening``: every payout is screened on its beneficiary and
  assessed the same way before it is sent.
* :func:`record_key_event` is what ``corridor keys create`` calls to put key creation on
  the audit trail.

:func:`install` is idempotent; the app factory and the CLI call it at start-up.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN
from typing import Any

from sqlalchemy.orm import Session

from api.errors import InvalidRequest, translate
from compliance import audit
from compliance.active_index import ActiveIndex, active_index
from compliance.assessment import assess
from compliance.rules import ContextError, Party, PaymentContext
from compliance.rules.observations import record_refund as remember_refund
from compliance.rules.screening import ScreeningResultLike
from compliance.rules.store import ensure_active_rule_set
from core.accounts import Account
from core.database import utcnow
from payments import preauthorisation
from payments.preauthorisation import PaymentFacts, RefundFacts, Verdict
from settlement import payout_screening
from settlement.fx import Rate, RateNotFound, convert, default_rate_book
from settlement.payout_screening import PayoutScreening, ScreeningDecision, ScreeningOutcome
from settlement.payouts.tables import Payout

BASE_ROUNDING = ROUND_HALF_EVEN
"""Rounding of the base-currency amount. It is a measurement compared with thresholds, not
money that moves, so its sub-unit remainder is not booked anywhere."""

_KEY_ACTIONS = {"keys.create": "api_key.created", "keys.revoke": "api_key.revoked"}


class ComplianceInputError(ValueError):
    """Payment data the compliance check cannot evaluate honestly (a 400 for the caller)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@translate(ComplianceInputError)
def _input_error(exc: ComplianceInputError) -> InvalidRequest:
    return InvalidRequest(str(exc), param=exc.param, code="parameter_invalid")


# --------------------------------------------------------------------------- pure mapping


def _date_of_birth(value: Any) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise ComplianceInputError(
            f"Invalid payer[date_of_birth]: {value!r} is not a date (YYYY-MM-DD).",
            param="payer[date_of_birth]",
        ) from exc


def payer_party(payer: Mapping[str, Any]) -> Party:
    """The payer as the rules see it, from the intent's ``payer`` hash."""
    try:
        return Party(
            name=payer.get("name"),
            country=payer.get("country"),
            account=payer.get("account"),
            address=payer.get("address"),
            date_of_birth=_date_of_birth(payer.get("date_of_birth")),
            kind="person",
        )
    except ContextError as exc:
        raise ComplianceInputError(f"Invalid payer: {exc}.", param="payer") from exc


def merchant_party(account: Account) -> Party:
    return Party(
        name=account.business_name,
        country=account.country,
        account=account.id,
        kind="entity",
        id=account.id,
    )


def is_cross_border(home: str | None, *countries: str | None) -> bool:
    """Whether any known country differs from ``home`` (unknown countries prove nothing)."""
    return bool(home) and any(country and country != home for country in countries)


def card_key(account_id: str, fingerprint: str | None) -> str | None:
    """The velocity key of a card: its fingerprint within one merchant account.

    Radar counts card velocity per account, and Corridor's sandbox test cards are shared by
    every merchant (everyone pays with 4242...), so a platform-wide count would hold any
    sandbox merchant's sixth test payment of the hour.
    """
    return f"{account_id}:{fingerprint}" if fingerprint else None


def payment_context(
    facts: PaymentFacts,
    merchant: Party,
    *,
    base_amount: int,
    base_currency: str,
    at: dt.datetime,
) -> PaymentContext:
    """The rules' view of a payment intent being confirmed."""
    payer = payer_party(facts.payer)
    try:
        return PaymentContext(
            ref=facts.intent_id,
            amount=facts.amount,
            currency=facts.currency,
            base_amount=base_amount,
            base_currency=base_currency,
            occurred_at=at,
            payer=payer,
            merchant=merchant,
            account_id=facts.account_id,
            email=facts.payer.get("email"),
            ip=facts.payer.get("ip_address"),
            card_fingerprint=card_key(facts.account_id, facts.card_fingerprint),
            card_country=facts.card_country,
            cross_border=is_cross_border(merchant.country, payer.country, facts.card_country),
            object_type="payment_intent",
            method=facts.method_type,
        )
    except ContextError as exc:
        raise ComplianceInputError(f"Invalid payment data: {exc}.") from exc


def payout_context(
    payout: PayoutScreening,
    merchant: Party,
    beneficiary: Party,
    *,
    base_amount: int,
    base_currency: str,
    at: dt.datetime,
) -> PaymentContext:
    """The rules' view of a payout: the merchant's money to its beneficiary's bank."""
    return PaymentContext(
        ref=payout.payout_id,
        amount=payout.amount,
        currency=payout.currency,
        base_amount=base_amount,
        base_currency=base_currency,
        occurred_at=at,
        beneficiary=beneficiary,
        merchant=merchant,
        account_id=payout.account_id,
        cross_border=is_cross_border(merchant.country, beneficiary.country),
        object_type="payout",
        method="bank_transfer",
    )


# --------------------------------------------------------------------------- I/O


RATE_TTL_SECONDS = 60.0
"""How long a looked-up rate is reused for base amounts (a treasury override reaches the
thresholds within a minute; building the rate book costs about as much as the rules)."""

_rates: dict[tuple[str, str, dt.date], tuple[Rate, float]] = {}
_rates_lock = threading.Lock()


def _rate(session: Session, currency: str, base: str, on: dt.date) -> Rate:
    key = (currency, base, on)
    now = time.monotonic()
    cached = _rates.get(key)
    if cached is not None and cached[1] > now:
        return cached[0]
    rate = default_rate_book(session).rate(currency, base, on)
    with _rates_lock:
        if len(_rates) > 1024:
            _rates.clear()
        _rates[key] = (rate, now + RATE_TTL_SECONDS)
    return rate


def base_amount(session: Session, amount: int, currency: str, base: str, on: dt.date) -> int:
    """``amount`` in ``base`` minor units at the day's rate (exact Decimal, one rounding)."""
    currency, base = currency.upper(), base.upper()
    if currency == base:
        return amount
    try:
        rate = _rate(session, currency, base, on)
    except RateNotFound as exc:
        raise ComplianceInputError(
            f"Payments in {currency.lower()} cannot be screened: no exchange rate to "
            f"{base.lower()} on {on.isoformat()}.",
            param="currency",
        ) from exc
    return convert(amount, currency, base, rate, BASE_ROUNDING).amount_out


def _screen(active: ActiveIndex, party: Party | None, kind: str | None) -> Any:
    if party is None or not party.name:
        return None
    return active.index.screen(
        party.name, kind=kind, country=party.country, date_of_birth=party.date_of_birth
    )


def _screen_merchant(active: ActiveIndex, merchant: Party) -> Any:
    """A merchant's legal name is screened on every payment but rarely changes: the result
    is kept with the index it came from (a new list set is a new index, screened afresh)."""
    assert merchant.name is not None
    return active.memoised(merchant.name, kind="entity", country=merchant.country)


def _screenings(**results: Any) -> dict[str, ScreeningResultLike]:
    return {role: result for role, result in results.items() if result is not None}


def check_payment(session: Session, facts: PaymentFacts) -> Verdict:
    """The pre-authorisation check installed into payments."""
    account = session.get(Account, facts.account_id)
    if account is None:  # pragma: no cover - payments checked the account
        raise ComplianceInputError(f"No such account: {facts.account_id}")
    now = utcnow()
    base = ensure_active_rule_set(session).rule_set.base_currency
    merchant = merchant_party(account)
    ctx = payment_context(
        facts,
        merchant,
        base_amount=base_amount(session, facts.amount, facts.currency, base, now.date()),
        base_currency=base,
        at=now,
    )
    active = active_index(session)
    result = assess(
        session,
        ctx,
        screenings=_screenings(
            payer=_screen(active, ctx.payer, "person"),
            merchant=_screen_merchant(active, merchant),
        ),
    )
    if result.review is not None:
        return Verdict("review", result.review.id)
    return Verdict(result.decision.value)  # type: ignore[arg-type]


def screen_payout(session: Session, payout: PayoutScreening) -> ScreeningOutcome:
    """The beneficiary check installed into settlement's payouts."""
    account = session.get(Account, payout.account_id)
    if account is None:  # pragma: no cover - settlement checked the account
        raise ComplianceInputError(f"No such account: {payout.account_id}")
    row = session.get(Payout, payout.payout_id)
    last4 = (row.destination or {}).get("last4") if row is not None else None
    now = utcnow()
    base = ensure_active_rule_set(session).rule_set.base_currency
    merchant = merchant_party(account)
    beneficiary = Party(
        name=payout.beneficiary_name or None,
        country=payout.beneficiary_country or None,
        account=f"****{last4}" if last4 else None,
        kind="entity",
    )
    ctx = payout_context(
        payout,
        merchant,
        beneficiary,
        base_amount=base_amount(session, payout.amount, payout.currency, base, now.date()),
        base_currency=base,
        at=now,
    )
    active = active_index(session)
    result = assess(
        session,
        ctx,
        screenings=_screenings(
            # An account holder may be a person or a business: screen without a type.
            beneficiary=_screen(active, beneficiary, None),
            merchant=_screen_merchant(active, merchant),
        ),
    )
    return ScreeningOutcome(
        ScreeningDecision(result.decision.value),
        reference=result.review.id if result.review is not None else None,
    )


def record_refund(session: Session, refund: RefundFacts) -> None:
    """Count an accepted refund for the refund-abuse rule (under its payment's keys)."""
    base = ensure_active_rule_set(session).rule_set.base_currency
    remember_refund(
        session,
        ref=refund.refund_id,
        payment_ref=refund.intent_id,
        base_amount=base_amount(
            session, refund.amount, refund.currency, base, refund.created.date()
        ),
        occurred_at=refund.created,
        account_id=refund.account_id,
    )


def record_key_event(
    session: Session, action: str, ref: str | None, payload: Mapping[str, Any] | None
) -> None:
    """Key creation (and revocation) on the audit trail."""
    audit.append(session, "cli", _KEY_ACTIONS.get(action, action), ref, dict(payload or {}))


def install() -> None:
    """Plug compliance into payments, payouts and the CLI (safe to call more than once)."""
    import compliance.rescreening  # noqa: F401  (registers the re-screening job)

    preauthorisation.install(check_payment)
    preauthorisation.on_refund(record_refund)
    payout_screening.set_payout_screener(screen_payout)


def uninstall() -> None:
    """Back to the domains' defaults (allow everything, record nothing)."""
    preauthorisation.install(preauthorisation.allow_everything)
    preauthorisation.remove_refund_hook(record_refund)
    payout_screening.set_payout_screener(None)
