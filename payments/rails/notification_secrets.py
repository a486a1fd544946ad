"""Per-provider secrets that sign the wallet and bank rails' asynchronous notifications.

``CORRIDOR_WALLET_NOTIFICATION_SECRET`` is either explicit pairs,
``alipay:SECRET,wechat_pay:SECRET,paypal:SECRET,bank_transfer:SECRET`` (what a
provider hands out), or one master secret from which each provider's secret is
derived (HMAC-SHA256 of the provider name under the master), so one leaked provider
secret does not forge another provider's notifications. Unset (the embedded
default), the master is generated once in ``Settings.data_dir``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

from core.key_files import load_or_create_text
from core.settings import Settings

PROVIDERS: Final = ("alipay", "wechat_pay", "paypal", "bank_transfer")
MASTER_FILE: Final = "rail_notification.secret"


def derive(master: str, provider: str) -> str:
    digest = hmac.new(
        master.encode(), f"corridor.rail-notification.{provider}".encode(), hashlib.sha256
    ).digest()
    return "rnsec_" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def parse(spec: str) -> dict[str, str]:
    """Explicit ``provider:secret`` pairs, or one master secret for all providers."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    pairs = [item.partition(":") for item in items]
    if items and all(sep and name in PROVIDERS for name, sep, _ in pairs):
        # Explicit pairs configure exactly the providers they name.
        table = {name: value.strip() for name, _, value in pairs}
        if any(not value for value in table.values()):
            raise ValueError("a provider's notification secret is empty")
        return table
    if len(items) != 1:
        raise ValueError(
            "wallet notification secret: give provider:secret pairs or one master secret"
        )
    return {provider: derive(items[0], provider) for provider in PROVIDERS}


def from_settings(settings: Settings) -> dict[str, str]:
    spec = settings.wallet_notification_secret
    if not spec:
        spec = load_or_create_text(
            settings.data_dir / MASTER_FILE, secrets.token_urlsafe(32) + "\n"
        ).strip()
    return parse(spec)
