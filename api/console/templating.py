"""Rendering console pages: Jinja2 (autoescaped) in the reader's language, with Babel.

Every page gets ``_`` / ``gettext`` / ``ngettext`` bound to the reader's catalog and a
:class:`Formatter` (``fmt``) that formats money from integer minor units, dates, numbers
and country names with CLDR data for the same locale, so a page never mixes languages.
Pages are served with a strict Content-Security-Policy: scripts and styles only from the
console's own static files (htmx and a few lines of focus handling), no inline code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.dates import format_skeleton
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from litestar import Request, Response
from markupsafe import Markup

from api.console.translations import LANGUAGE_COOKIE, choose_locale, translations
from i18n.formatting import country_name, format_money, format_number
from i18n.locales import babel_locale, language_tag, text_direction

TEMPLATES: Final = Path(__file__).resolve().parent / "templates"

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.policies["ext.i18n.trimmed"] = True
    env.newstyle_gettext = True  # type: ignore[attr-defined]
    return env


ENVIRONMENT: Final = _environment()


@dataclass(frozen=True)
class Formatter:
    """Formatting for one locale; amounts are always integer minor units."""

    locale: str

    def money(self, amount: int | None, currency: str | None) -> str:
        if amount is None or not currency:
            return "—"
        return format_money(int(amount), currency.upper(), self.locale)

    def number(self, value: int | Decimal | None) -> str:
        if value is None:
            return "—"
        return format_number(value, self.locale)

    def datetime(self, moment: dt.datetime | int | None) -> str:
        """Medium date and time, in UTC (the console's one time zone), zone shown."""
        if moment is None:
            return "—"
        if isinstance(moment, int):
            moment = dt.datetime.fromtimestamp(moment, dt.UTC)
        text = babel_datetime(moment, "medium", tzinfo=dt.UTC, locale=babel_locale(self.locale))
        return f"{text} UTC"

    def date(self, day: dt.date | dt.datetime | None) -> str:
        if day is None:
            return "—"
        if isinstance(day, dt.datetime):
            day = day.astimezone(dt.UTC).date()
        return babel_date(day, "medium", locale=babel_locale(self.locale))

    def short_date(self, day: dt.date) -> str:
        """Axis labels: month and day only, in the locale's order (``Mar 2``, ``3月2日``)."""
        return format_skeleton("MMMd", day, locale=babel_locale(self.locale))

    def country(self, code: str | None) -> str:
        if not code:
            return "—"
        try:
            return f"{country_name(code, self.locale)} ({code.upper()})"
        except ValueError:
            return code

    def percent(self, value: float | Decimal | None) -> str:
        if value is None:
            return "—"
        return format_number(Decimal(str(round(float(value) * 100, 1))), self.locale) + "%"


@dataclass(frozen=True)
class Gettext:
    """Jinja's "new style" gettext over one catalog: ``_("Paid %(amount)s", amount=x)``.

    The translation is marked safe and the variables are escaped into it, so a
    translator's markup survives and a payer's name never becomes markup.
    """

    catalog: Translations

    def callables(self) -> dict[str, Any]:
        catalog = self.catalog

        @pass_context
        def gettext(context: Context, message: str, **variables: Any) -> str:
            text = catalog.gettext(message)
            if context.eval_ctx.autoescape:
                text = Markup(text)  # noqa: S704 - our own catalog, not input
            return text % variables

        @pass_context
        def ngettext(
            context: Context, singular: str, plural: str, num: int, **variables: Any
        ) -> str:
            variables.setdefault("num", num)
            text = catalog.ngettext(singular, plural, num)
            if context.eval_ctx.autoescape:
                text = Markup(text)  # noqa: S704 - our own catalog, not input
            return text % variables

        return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


def request_locale(request: Request[Any, Any, Any]) -> str:
    return choose_locale(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


def render(template: str, locale: str, **context: Any) -> str:
    """A template rendered in ``locale`` (also used for fragments and e-mail-free tests)."""
    return ENVIRONMENT.get_template(template).render(
        **Gettext(translations(locale)).callables(),
        fmt=Formatter(locale),
        locale=locale,
        lang_tag=language_tag(locale),
        direction=text_direction(locale),
        **context,
    )


def page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response[str]:
    """A full page, or a fragment when ``template`` is one; always HTML with the CSP."""
    locale = request_locale(request)
    state = request.scope.get("state", {})
    viewer = state.get("viewer")
    body = render(
        template,
        locale,
        viewer=viewer,
        csrf_token=viewer.csrf_token if viewer is not None else None,
        path=request.url.path,
        query=dict(request.query_params),
        **context,
    )
    return Response(
        body,
        status_code=status,
        media_type="text/html",
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Content-Language": language_tag(locale),
            "Vary": "Cookie, Accept-Language, HX-Request",
            **(headers or {}),
        },
    )


def is_fragment_request(request: Request[Any, Any, Any], target: str) -> bool:
    """An htmx request for one region of a page (not a boosted navigation)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-target") == target
    )
