"""The web console: server-rendered pages for compliance officers, finance and merchants.

Mounted under ``/console`` by the app (``route_handlers=[..., console.router]``). Pages
are Jinja2 templates rendered on the server in the reader's language, enhanced with
htmx (2.0.11, vendored in ``static/``, 0BSD licence; see ``static/htmx.LICENSE.txt``):
every link and form works without JavaScript, and with it navigation and filters update
in place. The console calls the same service functions as the JSON API, never the API
over HTTP.

Its routes are marked ``opt={"public": True, "console": True}``: the API's unit of work
gives them a database session and a transaction but does not ask for an API key; the
console authenticates with its own session cookie (:mod:`api.console.signin`) and
checks roles per section (:mod:`api.console.viewer`). They are left out of the OpenAPI
document, which describes the JSON API only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from api.console import compliance_pages, finance_pages, merchant_pages, signin
from api.console.error_pages import error_page
from api.console.sessions import DEFAULT_POLICY, SessionPolicy

STATIC: Final = Path(__file__).resolve().parent / "static"
CONSOLE_OPT: Final = {"public": True, "console": True}


def console_router(policy: SessionPolicy = DEFAULT_POLICY) -> Router:
    """A fresh router (one per app); ``policy`` sets the sessions' idle and absolute expiry."""

    def section(path: str, name: str | None, handlers: list) -> Router:  # type: ignore[type-arg]
        return Router(
            path,
            route_handlers=handlers,
            opt={"section": name} if name else {},
            before_request=signin.admit,
        )

    return Router(
        "/console",
        route_handlers=[
            create_static_files_router(
                "/static",
                directories=[STATIC],
                cache_control=CacheControlHeader(max_age=3600, private=True),
                include_in_schema=False,
            ),
            *signin.PUBLIC_ROUTES,
            section("/", None, signin.SIGNED_IN_ROUTES),
            section("/compliance", "compliance", compliance_pages.ROUTES),
            section("/finance", "finance", finance_pages.ROUTES),
            section("/merchant", "merchant", merchant_pages.ROUTES),
        ],
        opt={**CONSOLE_OPT, "session_policy": policy},
        exception_handlers={Exception: error_page},
        include_in_schema=False,
    )


router: Final = console_router()
"""What the app mounts."""

__all__ = ["console_router", "router"]
