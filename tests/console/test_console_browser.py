"""End to end in a real browser: the system Chromium, headless, driven by Playwright.

Each walk signs in through the login form like a person would and checks every step
twice, on the page and in the database: a held payment cleared by compliance and
captured by its merchant; a bank statement uploaded by finance and its break resolved;
a merchant's refund. Screenshots of the key pages are saved under
``test-artifacts/console/``. Accessibility is checked on the way (labels, landmarks,
keyboard, contrast) and the pages are opened on a phone-sized screen too.

The browser is ``/usr/bin/chromium`` (Debian package ``chromium``; ``.ci/system-packages``
installs it) or ``$CORRIDOR_CHROMIUM``, driven by the Python package ``playwright`` (never
``playwright install``). Without either, these tests are skipped with the reason, unless
``CORRIDOR_REQUIRE_BROWSER`` is set (CI), where a missing browser is a failure.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

import core.database
from api.keys import issue_key
from compliance import reviews
from core.accounts import open_account
from core.database import Database, set_database, utcnow
from core.settings import get_settings
from payments.intents import PaymentIntent
from payments.refunds import Refund
from settlement.reconciliation.tables import BreakRow, LineRow
from tests.conftest import free_port, make_test_database
from tests.console.conftest import make_app
from tests.console.console_world import (
    HELD_PAYER,
    bank_statement,
    compliance_wired,
    load_eu_list,
    payment,
    payouts_expected,
    settle_and_pay_out,
)
from tests.http import http

CHROMIUM = os.environ.get("CORRIDOR_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def _missing() -> str | None:
    if not os.access(CHROMIUM, os.X_OK):
        return (
            f"no Chromium at {CHROMIUM}: install the Debian package 'chromium' "
            "(.ci/system-packages does) or set CORRIDOR_CHROMIUM"
        )
    if importlib.util.find_spec("playwright") is None:
        return "the Python package 'playwright' is not installed (pip install 'playwright>=1.45')"
    return None


MISSING = _missing()
REQUIRED = bool(os.environ.get("CORRIDOR_REQUIRE_BROWSER"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(MISSING is not None and not REQUIRED, reason=MISSING or ""),
]


@dataclass
class Live:
    base_url: str
    db: Database

    def post(self, path: str, key: str, form: dict[str, Any]) -> dict[str, Any]:
        response = http.post(
            self.base_url + path, data=form, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code < 400, response.text
        return response.json()

    def key(self, role: str, account_id: str | None = None) -> str:
        with self.db.transaction() as session:
            return issue_key(session, role, account_id).secret

    def merchant(self, name: str) -> tuple[str, str]:
        with self.db.transaction() as session:
            account = open_account(
                session, business_name=name, country="DE", default_currency="EUR"
            )
            return account.id, issue_key(session, "merchant", account.id).secret


def _console_mounted_by_the_app() -> bool:
    from api.app import route_handlers

    return any(getattr(handler, "path", None) == "/console" for handler in route_handlers())


@pytest.fixture(scope="module")
def live(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Live]:
    """The running service: the suite's shared ``service`` once the app mounts the console,
    until then the same app (``create_app`` + the console) served the same way here."""
    if _console_mounted_by_the_app():
        service = request.getfixturevalue("service")
        yield Live(service.base_url, service.db)
        return
    import uvicorn

    root = tmp_path_factory.mktemp("console-live")
    port = free_port()
    env = {
        "CORRIDOR_DATA_DIR": str(root),
        "CORRIDOR_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    saved = {name: os.environ.get(name) for name in [*env, "CORRIDOR_AUDIT_SIGNING_KEY"]}
    os.environ.update(env)
    os.environ.pop("CORRIDOR_AUDIT_SIGNING_KEY", None)
    get_settings.cache_clear()
    previous = core.database._current
    db, drop = make_test_database(root)
    server = uvicorn.Server(
        uvicorn.Config(make_app(db), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the console test server did not start")
        time.sleep(0.02)
    try:
        yield Live(f"http://127.0.0.1:{port}", db)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        drop()
        set_database(previous)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if MISSING is not None:
        pytest.fail(f"CORRIDOR_REQUIRE_BROWSER is set but {MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, live: Live) -> Iterator[Any]:
    context = browser.new_context(base_url=live.base_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors: list[str] = []

    def console_error(message: Any) -> None:
        # A refused action answers 4xx on purpose; the browser and htmx log those.
        expected = re.search(r"status of 4\d\d|Response Status Error Code 4\d\d", message.text)
        if message.type == "error" and not expected:
            errors.append(message.text)

    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("console", console_error)
    yield tab
    context.close()
    assert errors == [], f"errors in the browser (scripts, CSP): {errors}"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, key: str, lands_on: str) -> None:
    page.goto("/console/login")
    field = page.get_by_label("Secret API key")
    field.fill(key)
    field.press("Enter")  # the form works from the keyboard alone
    page.wait_for_url(re.compile(re.escape(lands_on) + r"$"))


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/login\?reason=signed_out$"))
    assert page.get_by_text("You have signed out.").is_visible()


AUDIT_JS = """
() => {
  const problems = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || !visible(el)) continue;
    const named = (el.labels && el.labels.length) || el.getAttribute('aria-label')
      || el.getAttribute('aria-labelledby');
    if (!named) problems.push('no label: ' + (el.name || el.id));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (!visible(el)) continue;
    const name = (el.getAttribute('aria-label') || el.textContent || '').trim();
    if (!name) problems.push('unnamed control: ' + el.outerHTML.slice(0, 80));
  }
  if (document.querySelectorAll('main').length !== 1) problems.push('main landmarks');
  if (!document.querySelector('h1')) problems.push('no h1');
  if (!document.documentElement.lang) problems.push('no lang');
  const ids = {};
  for (const el of document.querySelectorAll('[id]')) {
    if (ids[el.id]) problems.push('duplicate id ' + el.id);
    ids[el.id] = true;
  }
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).map(Number);
  const luminance = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let node = el; node; node = node.parentElement) {
      const value = rgb(getComputedStyle(node).backgroundColor);
      if (value.length === 3 || (value.length === 4 && value[3] > 0.9)) return value.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const texts = 'p, li, td, th, a, button, label, dt, dd, h1, h2, h3, span, code, summary';
  for (const el of document.querySelectorAll(texts)) {
    if (!visible(el) || !el.textContent.trim()) continue;
    if (el.closest('svg')) continue;
    const fg = luminance(rgb(getComputedStyle(el).color).slice(0, 3));
    const bg = luminance(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) {
      problems.push('contrast ' + ratio.toFixed(2) + ': ' + el.textContent.trim().slice(0, 40));
    }
  }
  return problems;
}
"""


def accessible(page: Any) -> None:
    """Labels, names, landmarks, ids and text contrast (WCAG AA 4.5:1) of the current page."""
    assert page.evaluate(AUDIT_JS) == []


def fits_a_phone(page: Any) -> None:
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page is {overflow}px wider than the screen"


def notice(page: Any, text: str) -> None:
    status = page.locator(".notice", has_text=text)
    status.wait_for()
    assert status.is_visible()


def test_compliance_clears_a_held_payment_and_the_merchant_captures_it(page, live):
    account_id, merchant_key = live.merchant("Held Payments GmbH")
    officer_key = live.key("compliance")
    load_eu_list(live.db)
    with compliance_wired():
        held = payment(
            live.post, merchant_key, amount=250_00, capture_method="manual", payer=HELD_PAYER
        )
    assert held["status"] == "requires_review"
    review_id = held["review"]

    sign_in(page, officer_key, "/console/compliance")
    accessible(page)
    # Filter the queue (htmx replaces the results in place) down to the sanctions rule.
    page.get_by_label("Rule", exact=True).select_option("sanctions.payer")
    page.wait_for_url(re.compile(r"rule=sanctions.payer"))
    case_link = page.get_by_role("link", name=review_id)
    case_link.wait_for()
    shot(page, "compliance-queue")
    case_link.click()
    page.wait_for_url(re.compile(rf"/console/compliance/reviews/{review_id}$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith(f"Case {review_id}")
    entry = page.locator(".match .compare")
    assert "Ahmed Ibrahim AL-HAMDANI" in entry.inner_text()
    assert HELD_PAYER["name"] in entry.inner_text()
    accessible(page)
    shot(page, "compliance-case")

    # Approving with the match unresolved is refused, and nothing moves.
    page.get_by_role("button", name="Approve and release").click()
    alert = page.get_by_role("alert")
    alert.wait_for()
    assert "sanctions match is unresolved" in alert.inner_text()
    # The console moves focus to the problem once it is shown: wait for that, then check.
    page.wait_for_function("() => document.activeElement && document.activeElement.id")
    assert page.evaluate("() => document.activeElement && document.activeElement.id") == "problem"
    with live.db.transaction(write=False) as session:
        assert session.get(PaymentIntent, held["id"]).status == "requires_review"

    page.locator(".match textarea").fill("Payer born 1985; the listed man in 1960-62.")
    page.get_by_role("button", name="Mark false positive").click()
    notice(page, "The match was recorded as a false positive.")
    page.get_by_label("Approval note (optional)").fill("Cleared after the date-of-birth check.")
    page.get_by_role("button", name="Approve and release").click()
    notice(page, "The case was approved and the held money released.")
    shot(page, "compliance-case-approved")
    with live.db.transaction(write=False) as session:
        assert session.get(PaymentIntent, held["id"]).status == "requires_capture"
        decided = reviews.get_review(session, review_id)
        assert decided.status.value == "approved"
        assert [e.action for e in reviews.history(session, review_id)][-2:] == [
            "match_false_positive",
            "approved",
        ]
    sign_out(page)

    sign_in(page, merchant_key, "/console/merchant")
    page.get_by_role("link", name="Payments", exact=True).click()
    page.get_by_role("link", name=held["id"]).click()
    page.get_by_role("button", name="Capture", exact=True).click()
    notice(page, "The payment was captured.")
    assert "payment_intent.succeeded" in page.locator(".timeline").inner_text()
    shot(page, "merchant-payment-captured")
    with live.db.transaction(write=False) as session:
        intent = session.get(PaymentIntent, held["id"])
        assert (intent.status, intent.amount_received) == ("succeeded", 250_00)
        assert intent.account_id == account_id


def test_finance_uploads_a_statement_and_resolves_the_break(page, live, tmp_path):
    account_id, _ = live.merchant("Payout Bakery GmbH")
    settled = settle_and_pay_out(live.db, account_id, captured=120_00, payout=70_00)
    statement = tmp_path / "camt053.xml"
    statement.write_bytes(
        bank_statement(settled.payout_id, settled.payout_amount, unknown=45_67, day=utcnow().date())
    )
    with payouts_expected():
        sign_in(page, live.key("finance"), "/console/finance")
        page.locator("#ledger-verify .verify").wait_for()  # loaded by htmx
        assert "The ledger balances." in page.locator("#ledger-verify").inner_text()
        assert page.locator("svg.chart-svg[role=img]").count() >= 1
        accessible(page)
        shot(page, "finance-overview")

        page.get_by_role("link", name="Reconciliation", exact=True).click()
        page.get_by_label("Source").fill("bank-de-eur")
        page.get_by_label("Statement file").set_input_files(str(statement))
        page.get_by_role("button", name="Import and reconcile").click()
        notice(page, "The statement was imported and reconciled.")
        statement_id = re.search(r"statements/(stmt_\w+)", page.url).group(1)  # type: ignore[union-attr]
        counts = page.locator(".counts").inner_text()
        assert re.search(r"matched\s+1", counts) and re.search(r"unmatched\s+1", counts)
        shot(page, "finance-statement")
        with live.db.transaction(write=False) as session:
            outcomes = {
                (row.direction, row.amount): row.outcome
                for row in session.scalars(
                    select(LineRow).where(LineRow.statement_id == statement_id)
                )
            }
            assert outcomes == {("debit", 70_00): "matched", ("credit", 45_67): "unmatched"}
            brk = session.scalars(
                select(BreakRow).where(BreakRow.status == "open", BreakRow.amount == 45_67)
            ).one()

        page.get_by_role("link", name="Breaks", exact=True).click()
        page.get_by_role("link", name=brk.id).click()
        accessible(page)
        page.get_by_label("Write off to a ledger account").check()
        page.get_by_label("Ledger account (write-off, or a match's difference)").select_option(
            "reconciliation_suspense"
        )
        page.get_by_label("Note (required to write off or ignore)").fill(
            "Unknown sender; the bank is tracing it."
        )
        page.get_by_role("button", name="Resolve the break").click()
        notice(page, "The break was resolved.")
        shot(page, "finance-break-resolved")
    with live.db.transaction(write=False) as session:
        resolved = session.get(BreakRow, brk.id)
        assert (resolved.status, resolved.resolution) == ("resolved", "write_off")
        assert resolved.write_off_account == "reconciliation_suspense" and resolved.transfer_ids
    page.get_by_role("link", name="Reconciliation", exact=True).click()
    page.wait_for_url(re.compile(r"/console/finance/reconciliation$"))
    page.get_by_role("heading", name="Upload a statement").wait_for()
    assert page.locator("figure.chart").count() == 2
    shot(page, "finance-reconciliation")


def test_a_merchant_refunds_from_the_payment_page(page, live):
    account_id, key = live.merchant("Refund Shop GmbH")
    paid = payment(live.post, key, amount=99_90, description="Linen shirt, size M")
    payment(live.post, key, amount=15_00, description="Socks")
    sign_in(page, key, "/console/merchant")
    accessible(page)
    page.get_by_role("link", name="Payments", exact=True).click()
    page.wait_for_url(re.compile(r"/console/merchant/payments$"))
    page.wait_for_load_state("networkidle")  # the boosted page is swapped in and settled
    search = page.get_by_label("Search", exact=True)
    search.press_sequentially("linen", delay=30)  # typing searches as you go
    page.wait_for_url(re.compile(r"q=linen"))  # htmx pushed the search into the address
    results = page.locator("#payment-results")
    results.get_by_role("link", name=paid["id"]).wait_for()
    assert "Socks" not in results.inner_text()
    results.get_by_role("link", name=paid["id"]).click()
    accessible(page)
    page.get_by_label(re.compile(r"^Amount to refund")).fill("25.00")
    page.get_by_label("Reason").select_option("requested_by_customer")
    page.get_by_role("button", name="Refund", exact=True).click()
    notice(page, "The refund was made.")
    assert "refund.created" in page.locator(".timeline").inner_text()
    shot(page, "merchant-refund")
    with live.db.transaction(write=False) as session:
        (refund,) = session.scalars(select(Refund).where(Refund.intent_id == paid["id"])).all()
        assert (refund.amount, refund.status, refund.reason, refund.account_id) == (
            25_00,
            "succeeded",
            "requested_by_customer",
            account_id,
        )
    # The same page in Simplified Chinese.
    page.get_by_role("link", name="简体中文").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "zh-Hans"
    assert page.get_by_role("heading", name="退款").is_visible()
    accessible(page)
    shot(page, "merchant-payment-zh")


def test_roles_csrf_keyboard_and_a_phone_screen(page, live, browser):
    account_id, key = live.merchant("Small Screen GmbH")
    paid = payment(live.post, key, amount=10_00)
    sign_in(page, key, "/console/merchant")
    # A merchant is refused every compliance and finance page.
    for url in ("/console/compliance", "/console/finance/reconciliation"):
        response = page.goto(url)
        assert response.status == 403
        assert page.get_by_role("heading", name="No access").is_visible()
    # A forged post without the CSRF token is refused, with the session cookie attached.
    forged = page.request.post(
        f"/console/merchant/payments/{paid['id']}/refund", form={"amount": "10.00"}
    )
    assert forged.status == 403
    with live.db.transaction(write=False) as session:
        assert session.scalars(select(Refund).where(Refund.intent_id == paid["id"])).all() == []
    # The keyboard: the first Tab reaches the skip link, which moves focus to the content.
    page.goto("/console/merchant")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focus is visible"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    phone = browser.new_context(
        base_url=live.base_url, viewport={"width": 375, "height": 740}, is_mobile=True
    )
    try:
        small = phone.new_page()
        sign_in(small, key, "/console/merchant")
        for url, name in (
            ("/console/merchant", "phone-merchant-balance"),
            ("/console/merchant/payments", "phone-merchant-payments"),
            (f"/console/merchant/payments/{paid['id']}", "phone-merchant-payment"),
        ):
            small.goto(url)
            fits_a_phone(small)
            shot(small, name)
        sign_out(small)
        sign_in(small, live.key("finance"), "/console/finance")
        for url, name in (
            ("/console/finance", "phone-finance-overview"),
            ("/console/finance/reconciliation", "phone-finance-reconciliation"),
        ):
            small.goto(url)
            fits_a_phone(small)
            shot(small, name)
    finally:
        phone.close()
    assert account_id


def test_an_idle_session_sends_the_browser_back_to_sign_in(page, live):
    from sqlalchemy import update

    from api.console.sessions import ConsoleSession

    _, key = live.merchant("Idle GmbH")
    sign_in(page, key, "/console/merchant")
    with live.db.transaction() as session:
        session.execute(update(ConsoleSession).values(last_seen=utcnow() - dt.timedelta(hours=1)))
    page.get_by_role("link", name="API keys").click()
    page.wait_for_url(re.compile(r"/console/login\?reason=expired"))
    assert page.get_by_text("Your session has ended.").is_visible()
