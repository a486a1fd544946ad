"""Signing in and out, the session cookie, CSRF, expiry, and the reader's language."""

from __future__ import annotations

import datetime as dt
from http.cookies import SimpleCookie

from sqlalchemy import func, select, update

from api.console.sessions import ConsoleSession, token_hash
from api.console.signin import LOGIN_COOKIE, SESSION_COOKIE
from api.keys import revoke_key
from core.database import utcnow
from tests.console.conftest import Console, csrf_of


def _set_cookies(response: object) -> dict[str, SimpleCookie]:
    found: dict[str, SimpleCookie] = {}
    for header in response.headers.get_list("set-cookie"):  # type: ignore[attr-defined]
        cookie = SimpleCookie()
        cookie.load(header)
        for name in cookie:
            found[name] = cookie
    return found


def _sessions(console: Console) -> list[ConsoleSession]:
    with console.db.transaction(write=False) as session:
        return list(session.scalars(select(ConsoleSession)))


def test_signing_in_exchanges_the_key_for_a_hardened_session_cookie(console, make_merchant):
    merchant = make_merchant()
    response = console.sign_in(merchant.key)
    assert response.status_code == 303
    assert response.headers["location"] == "/console"
    cookie = _set_cookies(response)[SESSION_COOKIE][SESSION_COOKIE]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/" and not cookie["domain"]
    assert not cookie["max-age"], "a browser-session cookie; the server enforces expiry"
    token = cookie.value
    (row,) = _sessions(console)
    assert row.id == token_hash(token) and token not in (row.id, row.csrf_token)
    assert (row.role, row.account_id) == ("merchant", merchant.account_id)
    assert row.expires - row.created == dt.timedelta(hours=12)
    home = console.client.get("/console", follow_redirects=False)
    assert home.headers["location"] == "/console/merchant"
    page = console.client.get("/console/merchant")
    assert page.status_code == 200
    assert csrf_of(page.text) == row.csrf_token
    assert "Bäckerei Müller GmbH" in page.text
    assert merchant.key not in page.text


def test_each_role_lands_on_its_section(console, platform_key):
    for role, home in (
        ("compliance", "/console/compliance"),
        ("finance", "/console/finance"),
        ("admin", "/console/compliance"),
    ):
        console.client.cookies.clear()
        console.sign_in(platform_key(role))
        assert console.client.get("/console", follow_redirects=False).headers["location"] == home


def test_a_wrong_or_revoked_key_opens_nothing(console, make_merchant):
    merchant = make_merchant()
    wrong = console.sign_in("sk_test_" + "x" * 40)
    assert wrong.status_code == 401
    assert "That key was not accepted" in wrong.text
    assert SESSION_COOKIE not in _set_cookies(wrong)
    with console.db.transaction() as session:
        from api.keys import authenticate

        key = authenticate(session, merchant.key)
        assert key is not None
        revoke_key(session, key.id)
    assert console.sign_in(merchant.key).status_code == 401
    assert _sessions(console) == []


def test_the_sign_in_form_needs_its_csrf_token(console, make_merchant):
    merchant = make_merchant()
    console.client.get("/console/login")
    missing = console.client.post(
        "/console/login", data={"api_key": merchant.key}, follow_redirects=False
    )
    assert missing.status_code == 403
    assert "Form expired" in missing.text
    forged = console.client.post(
        "/console/login",
        data={"api_key": merchant.key, "csrf_token": "not-the-token"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert _sessions(console) == []
    # The token must also match the cookie of the browser that loaded the form.
    token = csrf_of(console.client.get("/console/login").text)
    console.client.cookies.delete(LOGIN_COOKIE)
    stolen = console.client.post(
        "/console/login",
        data={"api_key": merchant.key, "csrf_token": token},
        follow_redirects=False,
    )
    assert stolen.status_code == 403
    assert _sessions(console) == []


def test_a_post_without_the_session_csrf_token_is_refused(console, make_merchant):
    merchant = make_merchant()
    console.sign_in(merchant.key)
    refused = console.client.post(
        "/console/merchant/api-keys", data={"description": "x"}, follow_redirects=False
    )
    assert refused.status_code == 403
    assert "Form expired" in refused.text
    wrong = console.client.post(
        "/console/merchant/api-keys",
        data={"description": "x"},
        headers={"X-CSRF-Token": "guess"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    with console.db.transaction(write=False) as session:
        from api.keys import ApiKey

        keys = session.scalar(
            select(func.count()).select_from(ApiKey).where(ApiKey.account_id == merchant.account_id)
        )
    assert keys == 1, "nothing was created by the refused posts"
    token = console.csrf("/console/merchant/api-keys")
    via_header = console.client.post(
        "/console/merchant/api-keys",
        data={"description": "from htmx"},
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
    )
    assert via_header.status_code == 200
    assert "sk_test_" in via_header.text


def test_signing_out_ends_the_session_for_good(console, platform_key):
    console.sign_in(platform_key("finance"))
    (row,) = _sessions(console)
    kept_cookie = console.client.cookies.get(SESSION_COOKIE)
    no_token = console.client.post("/console/logout", follow_redirects=False)
    assert no_token.status_code == 403
    assert len(_sessions(console)) == 1
    out = console.post("/console/logout", {}, token_from="/console/finance/payouts")
    assert out.status_code == 303
    assert out.headers["location"] == "/console/login?reason=signed_out"
    cleared = _set_cookies(out)[SESSION_COOKIE][SESSION_COOKIE]
    assert cleared["max-age"] == "0"
    assert _sessions(console) == []
    console.client.cookies.set(SESSION_COOKIE, kept_cookie or "", domain="testserver.local")
    again = console.client.get("/console/finance", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/console/login?reason=expired")
    assert row.id not in {r.id for r in _sessions(console)}


def _age(console: Console, **changes: dt.datetime) -> None:
    with console.db.transaction() as session:
        session.execute(update(ConsoleSession).values(**changes))


def test_an_idle_session_expires(console, platform_key):
    console.sign_in(platform_key("compliance"))
    assert console.client.get("/console/compliance").status_code == 200
    _age(console, last_seen=utcnow() - dt.timedelta(minutes=31))
    response = console.client.get("/console/compliance/audit", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == (
        "/console/login?reason=expired&next=%2Fconsole%2Fcompliance%2Faudit"
    )
    assert _set_cookies(response)[SESSION_COOKIE][SESSION_COOKIE]["max-age"] == "0"
    assert _sessions(console) == [], "the ended session is deleted"
    login = console.client.get(response.headers["location"])
    assert "Your session has ended" in login.text


def test_an_active_session_still_ends_at_its_absolute_lifetime(console, platform_key):
    console.sign_in(platform_key("compliance"))
    now = utcnow()
    _age(console, created=now - dt.timedelta(hours=13), expires=now - dt.timedelta(hours=1))
    assert console.client.get("/console/compliance", follow_redirects=False).status_code == 303
    assert _sessions(console) == []


def test_use_keeps_a_session_alive(console, platform_key):
    console.sign_in(platform_key("compliance"))
    _age(console, last_seen=utcnow() - dt.timedelta(minutes=20))
    assert console.client.get("/console/compliance").status_code == 200
    (row,) = _sessions(console)
    assert utcnow() - row.last_seen < dt.timedelta(minutes=1)


def test_revoking_a_key_ends_its_console_sessions(console, make_merchant):
    merchant = make_merchant()
    console.sign_in(merchant.key)
    (row,) = _sessions(console)
    with console.db.transaction() as session:
        revoke_key(session, row.key_id)
    response = console.client.get("/console/merchant", follow_redirects=False)
    assert response.status_code == 303
    assert _sessions(console) == []


def test_signed_out_visitors_are_sent_to_sign_in_and_back(console, platform_key):
    page = console.client.get("/console/finance/payouts?status=paid", follow_redirects=False)
    assert page.status_code == 303
    target = page.headers["location"]
    assert (
        target
        == "/console/login?reason=required&next=%2Fconsole%2Ffinance%2Fpayouts%3Fstatus%3Dpaid"
    )
    login = console.client.get(target)
    assert 'name="next" value="/console/finance/payouts?status=paid"' in login.text
    signed_in = console.client.post(
        "/console/login",
        data={
            "api_key": platform_key("finance"),
            "csrf_token": csrf_of(login.text),
            "next": "/console/finance/payouts?status=paid",
        },
        follow_redirects=False,
    )
    assert signed_in.headers["location"] == "/console/finance/payouts?status=paid"


def test_sign_in_never_redirects_off_the_console(console, platform_key):
    response = console.sign_in(platform_key("finance"), next_path="//evil.example/console")
    assert response.headers["location"] == "/console"


def test_htmx_requests_of_a_signed_out_browser_are_redirected_whole(console):
    response = console.client.get(
        "/console/compliance", headers={"HX-Request": "true"}, follow_redirects=False
    )
    assert response.status_code == 200
    assert response.headers["hx-redirect"].startswith("/console/login?reason=required")
    fragment = console.client.get(
        "/console/finance/ledger/verify",
        headers={
            "HX-Request": "true",
            "HX-Current-URL": "https://testserver.local/console/finance?x=1",
        },
        follow_redirects=False,
    )
    assert fragment.headers["hx-redirect"] == (
        "/console/login?reason=required&next=%2Fconsole%2Ffinance%3Fx%3D1"
    )


def test_pages_speak_the_readers_language(console, platform_key):
    english = console.client.get("/console/login")
    assert '<html lang="en" dir="ltr">' in english.text
    assert "Secret API key" in english.text
    chinese = console.client.get("/console/login", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans" dir="ltr">' in chinese.text
    assert "API 密钥" in chinese.text
    assert chinese.headers["content-language"] == "zh-Hans"
    switch = console.client.get(
        "/console/language?lang=zh_Hans&next=/console/login", follow_redirects=False
    )
    assert switch.headers["location"] == "/console/login"
    console.client.cookies.set(
        "corridor_console_lang", "zh_Hans", domain="testserver.local", path="/console"
    )
    console.sign_in(platform_key("finance"))
    overview = console.client.get("/console/finance")
    assert "财务概览" in overview.text
    assert "English" in overview.text and "简体中文" in overview.text


def test_pages_are_served_with_a_strict_content_security_policy(console):
    page = console.client.get("/console/login")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text and " style=" not in page.text
    htmx = console.client.get("/console/static/htmx.min.js")
    assert htmx.status_code == 200 and "htmx" in htmx.text[:200]


def test_unknown_console_paths_get_the_consoles_404_page(console):
    response = console.client.get("/console/no/such/page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Not found" in response.text
