"""Which rail moves a payment: per account and currency for cards, by type otherwise.

Cards go to the sandbox processor unless the account routes a currency (or ``*``) to
another card rail in ``settings.card_routing`` (``{"eur": "stripe"}``). Wallets and bank
transfers each have their own rail.
"""

from __future__ import annotations

from typing import Final

from core.accounts import Account
from core.settings import Settings
from payments.rails import notification_secrets
from payments.rails.bank_transfer import BankTransferAdapter, ReceivingAccount
from payments.rails.base import WALLET_PROVIDERS, RailAdapter, RailError
from payments.rails.sandbox_card import SandboxCardAdapter
from payments.rails.stripe_card import StripeCardAdapter
from payments.rails.wallet import WalletAdapter

CARD_RAILS: Final = ("sandbox_card", "stripe")


def card_rail(account: Account, currency: str) -> str:
    routing = {k.lower(): v for k, v in (account.settings or {}).get("card_routing", {}).items()}
    rail = routing.get(currency.lower()) or routing.get("*") or "sandbox_card"
    if rail not in CARD_RAILS:
        raise RailError("rail_not_configured", f"unknown card rail {rail!r} for {currency}")
    return rail


def rail_named(name: str, settings: Settings) -> RailAdapter:
    """The adapter for a rail by its name (as recorded on an authorisation)."""
    if name == "sandbox_card":
        return SandboxCardAdapter(settings.public_base_url)
    if name == "stripe":
        return StripeCardAdapter.from_settings(settings)
    secrets = notification_secrets.from_settings(settings)
    if name in WALLET_PROVIDERS:
        return WalletAdapter(name, secrets[name], settings.public_base_url)
    if name == "bank_transfer":
        return BankTransferAdapter(ReceivingAccount.from_settings(settings), secrets[name])
    raise RailError("rail_not_configured", f"unknown rail {name!r}")


def rail_for(settings: Settings, account: Account, method_type: str, currency: str) -> RailAdapter:
    if method_type == "card":
        return rail_named(card_rail(account, currency), settings)
    return rail_named(method_type, settings)
