"""Receipt e-mail: a localised MIME message, and handing it to an SMTP relay.

The message is ``multipart/mixed``: a ``multipart/alternative`` body (plain text
first, then HTML, so every client shows the richest part it can) and the PDF receipt
as an attachment. Subject, body and ``Content-Language`` follow the payer's locale.

Building and sending are separate so that the task queue can build once, and retry
:func:`send` on transient failures (it raises ``smtplib.SMTPException`` or
``OSError``; a 4xx answer is worth retrying, a 5xx usually is not).

The relay is an operator setting (``CORRIDOR_SMTP_URL``)::

    smtp://relay.example:25                  plain SMTP
    smtp://relay.example:587?starttls=1      STARTTLS, required
    smtp+starttls://user:pass@relay:587      the same, with AUTH
    smtps://user:pass@relay.example:465      implicit TLS

Credentials are never sent over an unencrypted connection, except to a loopback
relay (a local MTA or a test server).
"""

from __future__ import annotations

import ipaddress
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Final
from urllib.parse import parse_qs, unquote, urlsplit

from i18n.receipt_data import ReceiptData, ReceiptKind
from i18n.receipt_view import build_view
from i18n.receipts import render_html, render_text, render_view, resolve_locale

_ATTACHMENT_STEM: Final = {
    ReceiptKind.PAYMENT: "receipt",
    ReceiptKind.REFUND: "refund-receipt",
    ReceiptKind.PAYOUT: "remittance-advice",
}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})


def _one_line(text: str) -> str:
    """Header-safe: user-supplied names must not smuggle line breaks into headers."""
    return " ".join(text.split())


def build_receipt_message(
    data: ReceiptData,
    locale: str,
    *,
    sender: str,
    recipient: str,
    timezone: str = "UTC",
    reply_to: str | None = None,
) -> EmailMessage:
    """The receipt e-mail for ``data`` in ``locale`` (text + HTML, PDF attached)."""
    view = build_view(data, resolve_locale(locale), timezone)
    message = EmailMessage()
    message["Subject"] = _one_line(view.subject)
    message["From"] = sender
    message["To"] = recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message["Date"] = formatdate(usegmt=True)
    domain = sender.rpartition("@")[2].strip("> ") or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please

    message.set_content(f"{render_text(view)}\n{view.attachment_note}\n", subtype="plain")
    message.add_alternative(render_html(view, note=view.attachment_note), subtype="html")
    message.add_attachment(
        render_view(view, "pdf"),
        maintype="application",
        subtype="pdf",
        filename=f"{_ATTACHMENT_STEM[data.kind]}-{data.reference}.pdf",
    )
    # Last: building the body moves or clears Content-* headers set earlier.
    message["Content-Language"] = view.lang
    return message


@dataclass(frozen=True, slots=True)
class SmtpRelay:
    """A parsed ``smtp://`` / ``smtp+starttls://`` / ``smtps://`` relay URL."""

    host: str
    port: int
    implicit_tls: bool
    starttls: bool
    username: str | None
    password: str | None

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False


def parse_smtp_url(url: str) -> SmtpRelay:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtp+starttls", "smtps"):
        raise ValueError(f"SMTP URL must start with smtp://, smtp+starttls:// or smtps://: {url!r}")
    if not parts.hostname:
        raise ValueError(f"SMTP URL has no host: {url!r}")
    query = {key.lower(): values[-1].lower() for key, values in parse_qs(parts.query).items()}
    implicit_tls = scheme == "smtps"
    starttls = scheme == "smtp+starttls" or query.get("starttls", "") in _TRUE
    default_port = 465 if implicit_tls else 587 if starttls else 25
    return SmtpRelay(
        host=parts.hostname,
        port=parts.port or default_port,
        implicit_tls=implicit_tls,
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def send(
    message: EmailMessage,
    smtp_url: str,
    *,
    timeout: float = 30.0,
    ssl_context: ssl.SSLContext | None = None,
) -> dict[str, tuple[int, bytes]]:
    """Hand ``message`` to the relay; returns recipients the relay refused (if some
    were accepted; if all are refused ``smtplib.SMTPRecipientsRefused`` is raised)."""
    relay = parse_smtp_url(smtp_url)
    encrypted = relay.implicit_tls or relay.starttls
    if relay.username and not encrypted and not relay.loopback:
        raise ValueError("refusing to send SMTP credentials without TLS; use smtps:// or starttls")
    context = ssl_context or ssl.create_default_context()
    client: smtplib.SMTP
    if relay.implicit_tls:
        client = smtplib.SMTP_SSL(relay.host, relay.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(relay.host, relay.port, timeout=timeout)
    with client:
        client.ehlo()
        if relay.starttls:
            client.starttls(context=context)  # raises SMTPNotSupportedError if not offered
            client.ehlo()
        if relay.username:
            client.login(relay.username, relay.password or "")
        return client.send_message(message)
