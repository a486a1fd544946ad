"""Render a receipt as plain text, HTML or PDF, in the payer's language.

This is the entry point other packages call: the API's receipt routes and the
receipt e-mail. All three formats render one :class:`~i18n.receipt_view.ReceiptView`,
so they always agree. Text is aligned by display width (CJK characters take two
columns, combining marks none) so that the columns line up in a terminal or a
fixed-width mail client; HTML is a single self-contained page (inline CSS, no
external resources) with ``lang`` and ``dir`` set; PDF is in :mod:`i18n.receipt_pdf`.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from pathlib import Path
from typing import Final, Literal

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from i18n.locales import SUPPORTED_LOCALES, match_locale
from i18n.receipt_data import ReceiptData
from i18n.receipt_view import ReceiptView, build_view

Format = Literal["txt", "html", "pdf"]
FORMATS: Final[tuple[str, ...]] = ("txt", "html", "pdf")
MEDIA_TYPES: Final = {
    "txt": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}
_TEMPLATES: Final = Path(__file__).resolve().parent / "templates"


def resolve_locale(locale: str) -> str:
    """One of our locales for ``locale`` (``pt-BR`` -> ``pt_BR``), or ``ValueError``."""
    if locale in SUPPORTED_LOCALES:
        return locale
    matched = match_locale(locale)
    if matched is None:
        raise ValueError(f"no receipt catalog for locale {locale!r}")
    return matched


def render_receipt(
    data: ReceiptData, locale: str, fmt: Format = "txt", timezone: str = "UTC"
) -> bytes:
    """The receipt for ``data`` in ``locale``, times shown in ``timezone``, as bytes.

    ``fmt`` is ``"txt"`` or ``"html"`` (UTF-8) or ``"pdf"``. Raises ``ValueError`` for
    an unknown format, locale or time zone, and :class:`i18n.fonts.FontNotFoundError`
    / :class:`i18n.fonts.MissingGlyphError` when a PDF cannot be drawn faithfully.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown receipt format {fmt!r}; use one of {', '.join(FORMATS)}")
    view = build_view(data, resolve_locale(locale), timezone)
    return render_view(view, fmt)


def render_view(view: ReceiptView, fmt: Format) -> bytes:
    """Render an already built view (the e-mail builds one view for three formats)."""
    if fmt == "txt":
        return render_text(view).encode("utf-8")
    if fmt == "html":
        return render_html(view).encode("utf-8")
    if fmt == "pdf":
        from i18n.receipt_pdf import render_pdf  # fpdf2 and fonts only when a PDF is asked for

        return render_pdf(view)
    raise ValueError(f"unknown receipt format {fmt!r}")


def display_width(text: str) -> int:
    """Columns ``text`` takes in a fixed-width font (East Asian wide = 2, marks = 0)."""
    width = 0
    for ch in text:
        if unicodedata.category(ch) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1
    return width


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def render_text(view: ReceiptView) -> str:
    """Plain-text receipt: title, intro, aligned label/value lines, refunds, closing."""
    lines = [view.title, "=" * max(display_width(view.title), 8), view.merchant, "", view.intro, ""]
    label_width = max(display_width(row.label) for row in view.rows) + 3
    lines.extend(_pad(row.label, label_width) + row.value for row in view.rows)
    if view.refunds:
        lines += ["", view.refunds_heading, "-" * max(display_width(view.refunds_heading), 8)]
        lines += [view.refunds_summary, ""]
        table = [view.refund_columns] + [(r.date, r.amount, r.reference) for r in view.refunds]
        widths = [max(display_width(row[i]) for row in table) + 3 for i in range(2)]
        for date, amount, reference in table:
            lines.append(_pad(date, widths[0]) + _pad(amount, widths[1]) + reference)
    lines.append("")
    lines.extend(view.closing)
    return "\n".join(line.rstrip() for line in lines) + "\n"


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_html(view: ReceiptView, note: str | None = None) -> str:
    """Self-contained, accessible HTML page (``lang``/``dir``, headings, scoped headers).

    ``note`` is an extra closing line (the e-mail's "a PDF copy is attached").
    """
    return _environment().get_template("receipt.html").render(view=view, note=note)
