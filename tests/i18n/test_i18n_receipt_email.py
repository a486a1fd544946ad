"""Receipt e-mail built with the stdlib and delivered to a local SMTP server (aiosmtpd)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import email.policy
import io
import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pypdf import PdfReader

from i18n.receipt_data import ReceiptData
from i18n.receipt_email import build_receipt_message, parse_smtp_url, send

pytestmark = pytest.mark.fonts

SENDER = "receipts@corridor.test"
PAYER = "hanako@example.jp"


class Inbox:
    """aiosmtpd handler keeping every delivered message."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        return [
            email.message_from_bytes(envelope.content, policy=email.policy.default)
            for envelope in self.envelopes
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve(inbox: Inbox, **options) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    return controller, port


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    controller, port = serve(inbox)
    yield inbox, port
    controller.stop()


def authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"shop",
        b"s3cr:t/pass",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid for the test's duration."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_message_structure_and_language(cross_currency_payment: ReceiptData) -> None:
    message = build_receipt_message(
        cross_currency_payment, "ja", sender=SENDER, recipient=PAYER, timezone="Asia/Tokyo"
    )
    assert message["Subject"] == "Kaffeerösterei Müller GmbH からの領収書"
    assert message["Content-Language"] == "ja"
    assert message.get_content_type() == "multipart/mixed"
    body, attachment = message.iter_parts()
    assert body.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in body.iter_parts()] == ["text/plain", "text/html"]
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "receipt-pi_3MtwBwLkdIwHu7ix28a3tqPa.pdf"


def test_receipt_email_delivered_over_smtp(
    cross_currency_payment: ReceiptData, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    message = build_receipt_message(
        cross_currency_payment, "ja", sender=SENDER, recipient=PAYER, timezone="Asia/Tokyo"
    )
    assert send(message, f"smtp://127.0.0.1:{port}") == {}

    [envelope] = inbox.envelopes
    assert envelope.mail_from == SENDER and envelope.rcpt_tos == [PAYER]
    [received] = inbox.messages()
    assert received["Subject"] == "Kaffeerösterei Müller GmbH からの領収書"
    assert received["Content-Language"] == "ja"
    assert received["Message-ID"].endswith("@corridor.test>")
    text = received.get_body(preferencelist=("plain",)).get_content()
    assert "領収書" in text and "￥12,000" in text and "PDF の控えを添付しています。" in text
    page = received.get_body(preferencelist=("html",)).get_content()
    assert '<html lang="ja" dir="ltr">' in page and "￥12,000" in page
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "receipt-pi_3MtwBwLkdIwHu7ix28a3tqPa.pdf"
    pdf = attachment.get_content()
    extracted = PdfReader(io.BytesIO(pdf)).pages[0].extract_text().replace("\x00", "")
    assert "領収書" in extracted.replace(" ", "")


def test_arabic_refund_email(bhd_refund: ReceiptData, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    send(
        build_receipt_message(bhd_refund, "ar", sender=SENDER, recipient=PAYER),
        f"smtp://127.0.0.1:{port}",
    )
    [received] = inbox.messages()
    assert received["Subject"] == "إيصال الاسترداد الخاص بك من Manama Books"
    page = received.get_body(preferencelist=("html",)).get_content()
    assert 'dir="rtl"' in page and "12.345" in page
    [attachment] = list(received.iter_attachments())
    assert attachment.get_filename() == "refund-receipt-re_3NbQ2kLkdIwHu7ix0ZfL1x9Q.pdf"


def test_merchant_names_cannot_inject_headers(
    cross_currency_payment: ReceiptData, smtp_server: tuple[Inbox, int]
) -> None:
    inbox, port = smtp_server
    hostile = dataclasses.replace(
        cross_currency_payment, merchant_name="Evil\r\nBcc: all@example.com"
    )
    send(
        build_receipt_message(hostile, "en", sender=SENDER, recipient=PAYER),
        f"smtp://127.0.0.1:{port}",
    )
    [envelope] = inbox.envelopes
    assert envelope.rcpt_tos == [PAYER]
    [received] = inbox.messages()
    assert received["Bcc"] is None
    assert received["Subject"] == "Your receipt from Evil Bcc: all@example.com"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
def test_smtp_auth(cross_currency_payment: ReceiptData) -> None:
    inbox = Inbox()
    controller, port = serve(
        inbox, authenticator=authenticate, auth_require_tls=False, auth_required=True
    )
    try:
        message = build_receipt_message(
            cross_currency_payment, "de", sender=SENDER, recipient=PAYER
        )
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send(message, f"smtp://shop:wrong@127.0.0.1:{port}")
        with pytest.raises(smtplib.SMTPSenderRefused):  # no AUTH at all
            send(message, f"smtp://127.0.0.1:{port}")
        assert inbox.envelopes == []
        send(message, f"smtp://shop:s3cr%3At%2Fpass@127.0.0.1:{port}")  # URL-encoded password
        [received] = inbox.messages()
        assert received["Subject"] == "Ihre Quittung von Kaffeerösterei Müller GmbH"
    finally:
        controller.stop()


def test_starttls_with_auth(
    cross_currency_payment: ReceiptData, tls_files: tuple[Path, Path]
) -> None:
    cert_file, key_file = tls_files
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert_file, key_file)
    inbox = Inbox()
    controller, port = serve(
        inbox, tls_context=server_context, require_starttls=True, authenticator=authenticate
    )
    try:
        client_context = ssl.create_default_context(cafile=str(cert_file))
        message = build_receipt_message(
            cross_currency_payment, "fr", sender=SENDER, recipient=PAYER
        )
        url = f"smtp+starttls://shop:s3cr%3At%2Fpass@127.0.0.1:{port}"
        send(message, url, ssl_context=client_context)
        [received] = inbox.messages()
        assert received["Subject"] == "Votre reçu de Kaffeerösterei Müller GmbH"
        with pytest.raises(ssl.SSLCertVerificationError):  # the default trust store refuses it
            send(message, url)
    finally:
        controller.stop()


def test_credentials_never_travel_in_clear_to_a_remote_relay(
    cross_currency_payment: ReceiptData,
) -> None:
    message = build_receipt_message(cross_currency_payment, "en", sender=SENDER, recipient=PAYER)
    with pytest.raises(ValueError, match="without TLS"):
        send(message, "smtp://user:pass@mail.example.com:25")


def test_parse_smtp_url() -> None:
    plain = parse_smtp_url("smtp://relay.internal")
    assert (plain.host, plain.port, plain.starttls, plain.implicit_tls) == (
        "relay.internal",
        25,
        False,
        False,
    )
    starttls = parse_smtp_url("smtp://relay:2525?starttls=yes")
    assert (starttls.port, starttls.starttls) == (2525, True)
    assert parse_smtp_url("smtp+starttls://relay").port == 587
    secure = parse_smtp_url("smtps://a%40b:p%3Aw@relay")
    assert (secure.port, secure.implicit_tls, secure.username, secure.password) == (
        465,
        True,
        "a@b",
        "p:w",
    )
    assert parse_smtp_url("smtp://[::1]:2525").loopback
    assert parse_smtp_url("smtp://localhost").loopback
    assert not parse_smtp_url("smtp://10.0.0.5").loopback
    for bad in ("http://relay", "smtp://", "relay:25"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)
