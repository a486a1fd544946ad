"""Signing in with an API key, signing out, and admitting each console request.

``/console/login`` exchanges a secret key for a session (:mod:`api.console.sessions`);
the key is checked with the API's own :func:`api.keys.authenticate`, so a revoked or
unknown key opens nothing, and a merchant key opens only its account. The session
cookie is ``__Host-`` prefixed, ``Secure``, ``HttpOnly`` and ``SameSite=Strict``; it is
a session cookie (no ``Max-Age``), the server enforcing idle and absolute expiry.

CSRF: the sign-in form carries a token paired with a short-lived cookie (there is no
session yet); every other POST must carry the session's CSRF token, as a form field or
(htmx) the ``X-CSRF-Token`` header. :func:`admit` runs before every protected handler:
it resolves the session, refuses a role outside the section (403) and a POST without
the token (403), and sends anyone not signed in to the sign-in page.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote, urlsplit

import anyio
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath
from litestar.response import Redirect
from sqlalchemy.orm import Session

from api.console.error_pages import CsrfRefused, NotYours, SectionClosed
from api.console.form_input import csrf_presented, params_of, text
from api.console.sessions import (
    DEFAULT_POLICY,
    SessionPolicy,
    close_session,
    csrf_matches,
    find_session,
    open_session,
    purge_ended,
)
from api.console.templating import page
from api.console.translations import CONSOLE_LOCALES, LANGUAGE_COOKIE, console_locale
from api.console.viewer import Viewer
from api.keys import authenticate
from core.ids import random_token

SESSION_COOKIE: Final = "__Host-corridor_console"
LOGIN_COOKIE: Final = "__Host-corridor_console_login"
LOGIN_PATH: Final = "/console/login"


def _session_cookie(value: str, *, clear: bool = False) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
        max_age=0 if clear else None,
    )


def _login_cookie(value: str, *, clear: bool = False) -> Cookie:
    return Cookie(
        key=LOGIN_COOKIE,
        value=value,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
        max_age=0 if clear else 1800,
    )


def safe_next(target: str | None) -> str | None:
    """Only a console path of this site (no scheme, host or ``//``): no open redirect."""
    if not target or not target.startswith("/console") or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def _go(request: Request[Any, Any, Any], target: str, cookies: list[Cookie]) -> Response[Any]:
    """A redirect that htmx follows as a full navigation too."""
    if request.headers.get("hx-request") == "true":
        return Response(b"", status_code=200, headers={"HX-Redirect": target}, cookies=cookies)
    return Redirect(target, status_code=303, cookies=cookies)


def _session(request: Request[Any, Any, Any]) -> Session:
    return request.scope["state"]["session"]


def _policy(request: Request[Any, Any, Any]) -> SessionPolicy:
    return request.route_handler.opt.get("session_policy", DEFAULT_POLICY)


async def admit(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """``before_request`` of every protected console route (see the module doc)."""
    token = request.cookies.get(SESSION_COOKIE)
    session = _session(request)
    policy = _policy(request)
    row = await anyio.to_thread.run_sync(
        lambda: find_session(session, token, policy=policy) if token else None
    )
    if row is None:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-current-url"):  # a fragment: come back to its page
            current = urlsplit(request.headers["hx-current-url"])
            back = current.path + (f"?{current.query}" if current.query else "")
        reason = "expired" if token else "required"
        target = f"{LOGIN_PATH}?reason={reason}"
        if request.method == "GET" and safe_next(back):
            target += f"&next={quote(back, safe='')}"
        cookies = [_session_cookie("", clear=True)] if token else []
        return _go(request, target, cookies)
    viewer = Viewer(row.id, row.key_id, row.role, row.account_id, row.csrf_token)
    request.scope["state"]["viewer"] = viewer
    section = request.route_handler.opt.get("section")
    if section is not None and not viewer.may_open(section):
        raise SectionClosed(section)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not csrf_matches(
        viewer.csrf_token, await csrf_presented(request)
    ):
        raise CsrfRefused()
    return None


def viewer_of(request: Request[Any, Any, Any]) -> Viewer:
    return request.scope["state"]["viewer"]


# --- routes -------------------------------------------------------------------------


@get("/login", sync_to_thread=True)
def login_form(request: Request[Any, Any, Any]) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token and find_session(_session(request), token, policy=_policy(request)) is not None:
        return Redirect("/console", status_code=303)
    return _login_page(request)


def _login_page(
    request: Request[Any, Any, Any], *, status: int = 200, problem: str | None = None
) -> Response[Any]:
    login_token = random_token(43)
    response = page(
        request,
        "login.html",
        status=status,
        login_token=login_token,
        problem=problem,
        reason=request.query_params.get("reason"),
        next_path=safe_next(request.query_params.get("next")) or "",
    )
    response.cookies.append(_login_cookie(login_token))
    return response


@post("/login", sync_to_thread=True, status_code=303)
def login(request: Request[Any, Any, Any]) -> Response[Any]:
    params = params_of(request)
    if not csrf_matches(request.cookies.get(LOGIN_COOKIE) or "", text(params, "csrf_token")):
        raise CsrfRefused()
    session = _session(request)
    secret = text(params, "api_key", max_length=200) or ""
    key = authenticate(session, secret)
    if key is None:
        return _login_page(request, status=401, problem="rejected")
    policy = _policy(request)
    purge_ended(session, policy=policy)
    close_session(session, request.cookies.get(SESSION_COOKIE))
    opened = open_session(session, key, policy=policy)
    target = safe_next(text(params, "next")) or "/console"
    return Redirect(
        target,
        status_code=303,
        cookies=[_session_cookie(opened.token), _login_cookie("", clear=True)],
    )


def sign_out(request: Request[Any, Any, Any], reason: FromPath[str]) -> Response[Any]:
    """End the request's session and send the browser to the sign-in page."""
    close_session(_session(request), request.cookies.get(SESSION_COOKIE))
    return _go(request, f"{LOGIN_PATH}?reason={reason}", [_session_cookie("", clear=True)])


@post("/logout", sync_to_thread=True, status_code=303)
def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    return sign_out(request, "signed_out")


@get("/", sync_to_thread=False)
def home(request: Request[Any, Any, Any]) -> Response[Any]:
    return Redirect(viewer_of(request).home, status_code=303)


@get("/language", sync_to_thread=False)
def language(request: Request[Any, Any, Any]) -> Response[Any]:
    """The language switch: remembered in a cookie, for signed-in and signed-out pages."""
    chosen = console_locale(request.query_params.get("lang")) or CONSOLE_LOCALES[0]
    target = safe_next(request.query_params.get("next")) or LOGIN_PATH
    cookie = Cookie(
        key=LANGUAGE_COOKIE,
        value=chosen,
        path="/console",
        secure=True,
        httponly=True,
        samesite="lax",
        max_age=365 * 24 * 3600,
    )
    return Redirect(target, status_code=303, cookies=[cookie])


@get("/{rest:path}", sync_to_thread=False)
def unknown_page(rest: FromPath[str]) -> Response[Any]:
    """Anything else under ``/console``: the console's own 404 page, not the API's JSON."""
    raise NotYours()


PUBLIC_ROUTES = [login_form, login, language, unknown_page]
SIGNED_IN_ROUTES = [home, logout]
