"""``corridor demo``: one cross-border story, end to end, told as it happens.

A payer in Japan pays a German coffee roaster in yen; the roaster settles in euros. The
demo drives the real API in-process (the same routes a checkout calls) on a throwaway
database, and prints each step: the payment, the fee and exchange rate, a refund, the
T+2 settlement with its reserve, the payout and its ISO 20022 file, the bank's answer,
the receipt in Japanese, and the ledger proving every minor unit is accounted for.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from litestar.testing import TestClient
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from api.app import create_app
from api.keys import issue_key
from core.accounts import open_account
from core.database import Database, migrate
from core.settings import load_settings
from i18n.formatting import format_money

DAY = 86400


class Story:
    def __init__(self, client: TestClient[Any], console: Console) -> None:
        self.client = client
        self.console = console
        self.step = 0

    def call(self, key: str, method: str, path: str, **kwargs: Any) -> Any:
        response = self.client.request(
            method, path, headers={"Authorization": f"Bearer {key}"}, **kwargs
        )
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if "json" in response.headers.get("content-type", "") else response

    def say(self, title: str, *lines: str) -> None:
        self.step += 1
        self.console.print(Panel("\n".join(lines), title=f"{self.step}. {title}", expand=False))


def _money(minor: int, currency: str, locale: str = "en") -> str:
    return format_money(minor, currency.upper(), locale)


def run(console: Console | None = None, data_dir: Path | None = None) -> int:
    for noisy in ("httpx", "corridor"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    console = console or Console()
    root = data_dir or Path(tempfile.mkdtemp(prefix="corridor-demo-"))
    url = f"sqlite:///{root / 'demo.db'}"
    migrate(url)
    db = Database(url)
    settings = load_settings()
    with db.transaction() as session:
        roaster = open_account(
            session,
            business_name="Kaffeerösterei Müller GmbH",
            country="DE",
            default_currency="EUR",
            settings={
                "payouts": {"schedule": {"delay_days": 2, "interval": "manual"}},
                "reserve": {"percent": 10, "days": 30},
            },
        )
        merchant = issue_key(session, "merchant", roaster.id, "demo").secret
        finance = issue_key(session, "finance", None, "demo").secret
        admin = issue_key(session, "admin", None, "demo").secret
    app = create_app(db, settings, embedded_worker=False)
    with TestClient(app) as client:
        story = Story(client, console)
        story.call(
            admin,
            "POST",
            f"/v1/accounts/{roaster.id}",
            data={
                "external_account[country]": "DE",
                "external_account[currency]": "eur",
                "external_account[account_number]": "DE89370400440532013000",
                "external_account[account_holder_name]": "Kaffeerösterei Müller GmbH",
            },
        )
        story.call(
            finance,
            "POST",
            "/v1/fee_schedules",
            json={
                "account": roaster.id,
                "percent_ppm": 29000,
                "fixed": {"eur": 30},
                "cross_border_ppm": 10000,
            },
        )
        story.say(
            "A German roaster joins",
            f"Merchant {roaster.id}, settles in EUR, T+2,",
            "fees 2.9 % + €0.30 and 1 % for foreign cards, 10 % rolling reserve.",
        )

        intent = story.call(
            merchant,
            "POST",
            "/v1/payment_intents",
            data={
                "amount": 12000,
                "currency": "jpy",
                "payment_method": "pm_card_jp",
                "confirm": "true",
                "payer[name]": "Hana Sato",
                "payer[country]": "JP",
                "description": "Ethiopian Yirgacheffe, 2 kg",
            },
        )
        txn = story.call(
            merchant, "GET", "/v1/balance_transactions", params={"source": intent["id"]}
        )["data"][0]
        story.say(
            "Hana in Tokyo pays in yen",
            f"{intent['id']}: {_money(12000, 'jpy', 'ja')} — {intent['status']}",
            f"Converted at {txn['exchange_rate']} EUR per JPY (ECB reference rate):",
            f"  gross {_money(txn['amount'], 'eur')}, fee {_money(txn['fee'], 'eur')}, "
            f"net {_money(txn['net'], 'eur')} (pending until T+2)",
        )

        refund = story.call(
            merchant, "POST", "/v1/refunds", data={"payment_intent": intent["id"], "amount": 2000}
        )
        story.say(
            "One bag was damaged",
            f"Refund {refund['id']}: {_money(2000, 'jpy', 'ja')} — {refund['status']}",
        )

        run_ = story.call(
            finance,
            "POST",
            "/v1/settlement_runs",
            json={"account": roaster.id, "as_of": int(time.time()) + 3 * DAY},
        )
        balance = story.call(merchant, "GET", "/v1/balance")
        available = balance["available"][0]["amount"]
        story.say(
            "Settlement, T+2",
            f"Run {run_['id']}: net {_money(run_['net'], 'eur')}, "
            f"reserve held {_money(run_['reserved'], 'eur')}",
            f"Available to pay out: {_money(available, 'eur')}",
        )

        payout = story.call(merchant, "POST", "/v1/payouts", data={"amount": available})
        bank_file = story.call(merchant, "GET", f"/v1/payouts/{payout['id']}/file")
        answered = story.call(
            finance,
            "POST",
            f"/v1/test_helpers/payouts/{payout['id']}/answer",
            json={"result": "paid"},
        )
        story.say(
            "Payout to the roaster's bank",
            f"{payout['id']}: {_money(payout['amount'], 'eur')} by SEPA credit transfer",
            f"pain.001 file: {len(bank_file.content)} bytes, validated against the "
            "ISO 20022 schema",
            f"The bank answers: {answered['status']}",
        )

        receipt = story.call(
            merchant,
            "GET",
            f"/v1/payment_intents/{intent['id']}/receipt",
            params={"locale": "ja", "format": "txt"},
        )
        story.say("Hana's receipt, in Japanese", receipt.text.strip())

        verify = story.call(finance, "GET", "/v1/ledger/verify")
        accounts = story.call(finance, "GET", "/v1/ledger/accounts", params={"limit": 100})
        table = Table(title="Ledger accounts")
        for column in ("owner", "purpose", "currency", "debits", "credits"):
            table.add_column(column)
        for row in accounts["data"]:
            table.add_row(
                row["owner"],
                row["purpose"],
                row["currency"],
                str(row["debits_posted"]),
                str(row["credits_posted"]),
            )
        console.print(table)
        story.say(
            "Every minor unit accounted for",
            f"ledger.verify(): {'clean' if verify['ok'] else verify['problems']} — "
            f"{verify['transfers']} transfers, {verify['journals']} journals, each "
            "currency balanced.",
        )
    db.dispose()
    return 0 if verify["ok"] else 1
