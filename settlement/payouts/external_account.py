"""The merchant's payout bank account (Stripe's ``external_account``), validated and vaulted.

Given Stripe's fields (``country``, ``currency``, ``account_number`` — the IBAN in IBAN
countries —, ``routing_number`` for domestic schemes, ``account_holder_name``, optional
``bic``), the account is validated with :func:`settlement.bankfiles.bank_account`
(schwifty for IBAN/BIC, the country's clearing scheme otherwise), the full number goes
into the vault (:func:`core.vault.store_bank_account_number`) and ``account.external_account``
keeps only what may be shown plus the vault token::

    {"id": "ba_...", "object": "bank_account", "account_holder_name": "...",
     "bank_name": "Commerzbank", "country": "DE", "currency": "eur", "last4": "3000",
     "status": "new", "scheme": "iban" | "domestic", "vault_token": "tok_...",
     "bic": "COBADEFFXXX" | null, "routing_number": null | "110000000",
     "clearing_system": null | "USABA"}

:func:`render_external_account` shows the Stripe BankAccount fields only (no token, no
routing data); :func:`beneficiary_account` rebuilds the full account for a bank file.
"""

from __future__ import annotations

import re
from typing import Any, Final

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sqlalchemy.orm import Session

from core.accounts import Account
from core.ids import new_id
from core.keyring import Keyring
from core.money import CurrencyError, currency_code
from core.vault import last4, reveal, store_bank_account_number
from settlement.bankfiles import (
    BankAccount,
    BankAccountError,
    bank_account,
    domestic_account,
    iban_account,
)

_FIELDS: Final = {
    "iban": "account_number",
    "account_number": "account_number",
    "holder_name": "account_holder_name",
    "routing_code": "routing_number",
    "bic": "bic",
    "country": "country",
}
_LOOKS_LIKE_IBAN: Final = re.compile(r"[A-Za-z]{2}\d{2}")


class ExternalAccountError(ValueError):
    """A bank account Corridor cannot pay out to; ``param`` is Stripe's field name."""

    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _bank_name(account: BankAccount) -> str | None:
    try:
        if account.iban:
            return IBAN(account.iban).bank_name
        if account.bic:
            names = BIC(account.bic).bank_names
            return names[0] if names else None
    except SchwiftyException:
        return None
    return None


def validate_external_account(
    *,
    country: str,
    account_number: str,
    account_holder_name: str,
    routing_number: str | None = None,
    bic: str | None = None,
) -> BankAccount:
    """The validated account, or :class:`ExternalAccountError` naming the Stripe field."""
    compact = re.sub(r"[\s-]", "", account_number or "")
    try:
        if _LOOKS_LIKE_IBAN.match(compact):
            if routing_number:
                raise ExternalAccountError(
                    "an IBAN needs no routing number; give the IBAN alone", "routing_number"
                )
            return bank_account(account_holder_name, iban=compact, bic=bic, country=country)
        return bank_account(
            account_holder_name,
            country=country,
            account_number=compact,
            routing_code=routing_number,
            bic=bic,
        )
    except BankAccountError as exc:
        raise ExternalAccountError(str(exc), _FIELDS.get(exc.field, exc.field)) from exc


def set_external_account(
    session: Session,
    account: Account,
    keyring: Keyring,
    *,
    country: str,
    currency: str,
    account_number: str,
    account_holder_name: str,
    routing_number: str | None = None,
    bic: str | None = None,
) -> dict[str, Any]:
    """Validate, vault and attach the payout account; returns the stored (private) shape.

    The currency must be the account's settlement currency: balances, and so payouts,
    are kept in it.
    """
    try:
        code = currency_code(currency)
    except CurrencyError as exc:
        raise ExternalAccountError(str(exc), "currency") from exc
    if code != account.default_currency:
        raise ExternalAccountError(
            f"payouts are made in the account's settlement currency "
            f"({account.default_currency.lower()}), not {code.lower()}",
            "currency",
        )
    validated = validate_external_account(
        country=country,
        account_number=account_number,
        account_holder_name=account_holder_name,
        routing_number=routing_number,
        bic=bic,
    )
    number = validated.iban or validated.account_number or ""
    stored = {
        "id": new_id("ba"),
        "object": "bank_account",
        "account_holder_name": validated.holder_name,
        "bank_name": _bank_name(validated),
        "country": validated.country,
        "currency": code.lower(),
        "last4": last4(number),
        "status": "new",
        "scheme": "iban" if validated.iban else "domestic",
        "vault_token": store_bank_account_number(session, keyring, number),
        "bic": validated.bic,
        "routing_number": validated.routing_code,
        "clearing_system": validated.clearing_system,
    }
    account.external_account = stored
    session.flush()
    return stored


def render_external_account(stored: dict[str, Any], account_id: str) -> dict[str, Any]:
    """Stripe's BankAccount object: the masked fields only."""
    return {
        "id": stored["id"],
        "object": "bank_account",
        "account": account_id,
        "account_holder_name": stored.get("account_holder_name"),
        "account_holder_type": None,
        "bank_name": stored.get("bank_name"),
        "country": stored.get("country"),
        "currency": stored.get("currency"),
        "default_for_currency": True,
        "last4": stored.get("last4"),
        "metadata": {},
        "status": stored.get("status", "new"),
    }


def beneficiary_account(session: Session, keyring: Keyring, stored: dict[str, Any]) -> BankAccount:
    """The full account behind a stored (or snapshotted) external account, for a bank file."""
    number = reveal(session, keyring, stored["vault_token"], kind="bank_account_number")
    holder = stored["account_holder_name"]
    if stored.get("scheme") == "iban":
        return iban_account(holder, number, stored.get("bic"))
    return domestic_account(
        holder, stored["country"], number, stored.get("routing_number") or "", stored.get("bic")
    )
