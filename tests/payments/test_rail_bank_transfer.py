"""Bank transfers: IBAN/BIC, RF references, instructions, credit advice and matching."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.settings import Settings
from payments.rails import creditor_reference
from payments.rails.bank_transfer import (
    SANDBOX_ACCOUNT,
    SIGNATURE_HEADER,
    BankDetailsError,
    BankTransferAdapter,
    ReceivingAccount,
    build_credit_advice,
    transfer_instructions,
    validate_bic,
    validate_iban,
)
from payments.rails.base import (
    AuthorisationOutcome,
    AuthorisationRequest,
    BankTransferInstrument,
    CardInstrument,
    NotificationError,
    NotificationKind,
    RailAdapter,
    RailError,
    RefundStatus,
    UnsupportedOperation,
)
from payments.rails.credit_matching import CreditOutcome, match_credit

SECRET = "rnsec_bank_test"


def bank_request(intent_id: str = "pi_bank1", *, currency: str = "EUR", attempt: int = 1):
    return AuthorisationRequest(
        intent_id=intent_id,
        attempt=attempt,
        amount=10_000,
        currency=currency,
        capture_method="automatic",
        instrument=BankTransferInstrument(payer_name="Ana Souza"),
    )


@pytest.fixture
def rail() -> BankTransferAdapter:
    return BankTransferAdapter(SANDBOX_ACCOUNT, SECRET)


# ------------------------------------------------------------------ IBAN / BIC


def test_iban_and_bic_validation() -> None:
    assert validate_iban("de89 3704 0044 0532 0130 00") == "DE89370400440532013000"
    assert validate_bic("cobadeffxxx") == "COBADEFFXXX"
    with pytest.raises(BankDetailsError) as bad_iban:
        validate_iban("DE89370400440532013001", param="payer_iban")
    assert bad_iban.value.param == "payer_iban"
    with pytest.raises(BankDetailsError):
        validate_bic("COBA")


def test_receiving_account_checks_bic_country() -> None:
    with pytest.raises(BankDetailsError, match="country"):
        ReceivingAccount("Corridor", "DE89370400440532013000", "BUKBGB22")


def settings_with(**overrides: str) -> Settings:
    return Settings(data_dir=Path("/nonexistent"), database_url="sqlite://", **overrides)


def test_receiving_account_from_settings() -> None:
    assert ReceivingAccount.from_settings(settings_with()) == SANDBOX_ACCOUNT
    gb = ReceivingAccount.from_settings(
        settings_with(bank_receiving_iban="GB33 BUKB 2020 1555 5555 55", bank_receiving_name="X")
    )
    assert (gb.iban, gb.bic, gb.country) == ("GB33BUKB20201555555555", "BUKBGB22", "GB")


# ------------------------------------------------------------------ references


def test_rf_reference_check_digits_match_the_standard_example() -> None:
    assert creditor_reference.with_check_digits("539007547034") == "RF18539007547034"
    assert creditor_reference.is_valid("RF18 5390 0754 7034")


def test_reference_is_stable_unique_and_valid() -> None:
    refs = {creditor_reference.reference_for(f"pi_{n}") for n in range(2000)}
    assert len(refs) == 2000
    for ref in list(refs)[:100]:
        assert creditor_reference.is_valid(ref) and len(ref) == 20
    assert creditor_reference.reference_for("pi_1") == creditor_reference.reference_for("pi_1")


def test_reference_survives_what_banks_do_to_it() -> None:
    ref = creditor_reference.reference_for("pi_bank1")
    spaced = creditor_reference.format_reference(ref)
    mangled = f"payment for order 42 / {spaced.lower().replace(' ', '-')} thanks"
    assert creditor_reference.find_reference(mangled) == ref
    assert creditor_reference.find_reference(f"INV-7 {ref}") == ref
    typo = ref[:-1] + ("0" if ref[-1] != "0" else "1")
    assert creditor_reference.find_reference(typo) is None
    assert creditor_reference.find_reference("no reference here") is None


# ------------------------------------------------------------------ instructions


def test_authorise_shows_stripe_shaped_instructions(rail: BankTransferAdapter) -> None:
    assert isinstance(rail, RailAdapter)
    result = rail.authorise(bank_request())
    assert result.outcome is AuthorisationOutcome.ACTION_REQUIRED
    auth = result.authorisation
    assert auth is not None
    ref = creditor_reference.reference_for("pi_bank1")
    assert auth.reference == ref
    assert result.next_action == {
        "type": "display_bank_transfer_instructions",
        "display_bank_transfer_instructions": {
            "type": "eu_bank_transfer",
            "amount_remaining": 10_000,
            "currency": "eur",
            "reference": ref,
            "reference_formatted": creditor_reference.format_reference(ref),
            "financial_addresses": [
                {
                    "type": "iban",
                    "iban": {
                        "account_holder_name": "Corridor Payments Sandbox",
                        "bic": "COBADEFFXXX",
                        "country": "DE",
                        "iban": "DE89370400440532013000",
                    },
                    "supported_networks": ["sepa"],
                }
            ],
            "hosted_instructions_url": None,
        },
    }
    again = rail.authorise(bank_request(attempt=2))
    assert again.authorisation is not None and again.authorisation.reference == ref


def test_non_euro_transfers_go_over_swift(rail: BankTransferAdapter) -> None:
    action = rail.authorise(bank_request(currency="USD")).next_action
    assert action is not None
    details = action["display_bank_transfer_instructions"]
    assert details["type"] == "international_bank_transfer"
    assert details["financial_addresses"][0]["supported_networks"] == ["swift"]
    assert details["currency"] == "usd"


def test_instructions_after_a_short_payment() -> None:
    ref = creditor_reference.reference_for("pi_bank1")
    action = transfer_instructions(
        SANDBOX_ACCOUNT, reference=ref, amount_remaining=2500, currency="eur"
    )
    assert action["display_bank_transfer_instructions"]["amount_remaining"] == 2500


def test_other_operations(rail: BankTransferAdapter) -> None:
    auth = rail.authorise(bank_request()).authorisation
    assert auth is not None
    with pytest.raises(UnsupportedOperation):
        rail.capture(auth, 100)
    with pytest.raises(UnsupportedOperation):
        rail.resume(auth)
    assert rail.cancel(auth).amount_released == 0
    refund = rail.refund(auth, 4000, refund_id="re_b")
    assert (refund.status, refund.amount, refund.currency) == (RefundStatus.PENDING, 4000, "EUR")
    with pytest.raises(RailError, match="automatic"):
        rail.authorise(dataclasses.replace(bank_request(), capture_method="manual"))
    with pytest.raises(RailError):
        rail.authorise(
            dataclasses.replace(
                bank_request(), instrument=CardInstrument("4242424242424242", 1, 2030)
            )
        )


# ------------------------------------------------------------------ credit advice


def test_credit_advice_round_trip_finds_reference_in_remittance_text(
    rail: BankTransferAdapter,
) -> None:
    ref = creditor_reference.reference_for("pi_bank1")
    advice = build_credit_advice(
        SECRET,
        amount=10_000,
        currency="EUR",
        remittance_information=f"Order 42 {creditor_reference.format_reference(ref).lower()}",
        payer_name="Ana Souza",
        payer_iban="FR14 2004 1010 0505 0001 3M02 606",
        credit_id="bcrd_1",
    )
    note = rail.parse_notification(advice.headers, advice.body)
    assert note.kind is NotificationKind.FUNDS_RECEIVED
    assert (note.event_id, note.reference, note.amount, note.currency) == (
        "bcrd_1",
        ref,
        10_000,
        "EUR",
    )
    assert note.payload["payer_iban"] == "FR1420041010050500013M02606"


def test_credit_without_a_valid_reference_is_still_reported(rail: BankTransferAdapter) -> None:
    advice = build_credit_advice(SECRET, amount=500, currency="EUR", reference="RF00 WRONG")
    note = rail.parse_notification(advice.headers, advice.body)
    assert note.reference is None and note.amount == 500


def test_unsigned_or_stale_credit_advice_is_refused(rail: BankTransferAdapter) -> None:
    advice = build_credit_advice(SECRET, amount=500, currency="EUR")
    with pytest.raises(NotificationError):
        rail.parse_notification({}, advice.body)
    forged = build_credit_advice("other", amount=500, currency="EUR")
    with pytest.raises(NotificationError):
        rail.parse_notification(forged.headers, forged.body)
    stale = build_credit_advice(
        SECRET, amount=500, currency="EUR", timestamp=int(time.time()) - 900
    )
    with pytest.raises(NotificationError):
        rail.parse_notification(stale.headers, stale.body)
    assert SIGNATURE_HEADER in advice.headers


# ------------------------------------------------------------------ matching


def test_exact_short_and_excess() -> None:
    exact = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=0,
        credit_amount=10_000,
        credit_currency="eur",
    )
    assert (exact.outcome, exact.applied, exact.remaining, exact.surplus) == (
        CreditOutcome.EXACT,
        10_000,
        0,
        0,
    )
    assert exact.completes_payment

    short = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=0,
        credit_amount=7_500,
        credit_currency="EUR",
    )
    assert (short.outcome, short.applied, short.amount_remaining, short.surplus) == (
        CreditOutcome.SHORT,
        7_500,
        2_500,
        0,
    )
    assert not short.completes_payment

    rest = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=7_500,
        credit_amount=2_500,
        credit_currency="EUR",
    )
    assert (rest.outcome, rest.received_total, rest.completes_payment) == (
        CreditOutcome.EXACT,
        10_000,
        True,
    )

    excess = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=7_500,
        credit_amount=4_000,
        credit_currency="EUR",
    )
    assert (excess.outcome, excess.applied, excess.surplus, excess.surplus_currency) == (
        CreditOutcome.EXCESS,
        2_500,
        1_500,
        "EUR",
    )


def test_credits_that_the_intent_cannot_take_are_all_surplus() -> None:
    paid = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=10_000,
        credit_amount=10_000,
        credit_currency="EUR",
    )
    assert (paid.outcome, paid.applied, paid.surplus, paid.completes_payment) == (
        CreditOutcome.EXCESS,
        0,
        10_000,
        False,
    )
    wrong = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=0,
        credit_amount=11_000,
        credit_currency="USD",
    )
    assert (wrong.outcome, wrong.applied, wrong.surplus, wrong.surplus_currency) == (
        CreditOutcome.CURRENCY_MISMATCH,
        0,
        11_000,
        "USD",
    )
    closed = match_credit(
        amount_due=10_000,
        currency="EUR",
        received_so_far=0,
        credit_amount=10_000,
        credit_currency="EUR",
        accepting=False,
    )
    assert (closed.outcome, closed.applied, closed.surplus) == (
        CreditOutcome.NOT_ACCEPTING,
        0,
        10_000,
    )


def test_matching_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        match_credit(
            amount_due=100,
            currency="EUR",
            received_so_far=101,
            credit_amount=1,
            credit_currency="EUR",
        )
    with pytest.raises(ValueError):
        match_credit(
            amount_due=100,
            currency="EUR",
            received_so_far=0,
            credit_amount=0,
            credit_currency="EUR",
        )
    with pytest.raises(ValueError):
        match_credit(
            amount_due=100,
            currency="EUR",
            received_so_far=0,
            credit_amount=1.0,  # type: ignore[arg-type]
            credit_currency="EUR",
        )


@given(
    due=st.integers(1, 10**12),
    credits=st.lists(st.integers(1, 10**12), min_size=1, max_size=8),
)
def test_every_minor_unit_is_accounted_for(due: int, credits: list[int]) -> None:
    received = 0
    for credit in credits:
        match = match_credit(
            amount_due=due,
            currency="JPY",
            received_so_far=received,
            credit_amount=credit,
            credit_currency="JPY",
        )
        assert match.applied + match.surplus == credit
        assert match.received_total + match.remaining == due
        assert match.applied >= 0 and match.surplus >= 0 and match.remaining >= 0
        received = match.received_total
    assert received == min(due, sum(credits))
