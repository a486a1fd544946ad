"""Receipts through the API: the payer's language, the right formats, e-mailed on success."""

from __future__ import annotations

import email
import io
from email import policy

import httpx
import pytest
from pypdf import PdfReader

from tests.http import http


def _receipt(service, key: str, path: str, **params) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"}
    headers.update(params.pop("headers", {}))
    return http.get(f"{service.base_url}{path}", params=params, headers=headers)


@pytest.fixture
def jpy_payment(service, make_merchant):
    merchant = make_merchant(country="DE", currency="eur", name="Kaffeerösterei Müller GmbH")
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 12000,
            "currency": "jpy",
            "payment_method": "pm_card_jp",
            "confirm": True,
            "description": "Coffee beans",
        }
    )
    assert intent.status == "succeeded"
    return merchant, intent


def test_payment_receipt_in_japanese_html(service, jpy_payment):
    merchant, intent = jpy_payment
    response = _receipt(
        service,
        merchant.key,
        f"/v1/payment_intents/{intent.id}/receipt",
        locale="ja",
        format="html",
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "ja"
    page = response.text
    assert '<html lang="ja" dir="ltr">' in page
    assert "￥12,000" in page  # CLDR's ja pattern, no decimals for JPY
    assert "領収書" in page or "レシート" in page
    assert "€" in page  # the settlement amount in EUR, with the rate
    assert "4242" not in page and "0003" in page  # pm_card_jp ends in 0003


def test_locale_from_accept_language_and_rtl_arabic(service, jpy_payment):
    merchant, intent = jpy_payment
    arabic = _receipt(
        service,
        merchant.key,
        f"/v1/payment_intents/{intent.id}/receipt",
        format="html",
        headers={"Accept-Language": "ar-SA,ar;q=0.9,en;q=0.5"},
    )
    assert arabic.headers["content-language"] == "ar"
    assert 'dir="rtl"' in arabic.text
    traditional = _receipt(
        service,
        merchant.key,
        f"/v1/payment_intents/{intent.id}/receipt",
        format="txt",
        headers={"Accept-Language": "zh-HK"},
    )
    assert traditional.headers["content-language"] == "zh-Hant"
    unknown = _receipt(
        service,
        merchant.key,
        f"/v1/payment_intents/{intent.id}/receipt",
        format="txt",
        headers={"Accept-Language": "xx-YY"},
    )
    assert unknown.headers["content-language"] == "en"


@pytest.mark.fonts
def test_pdf_receipt_carries_the_translated_text(service, jpy_payment):
    merchant, intent = jpy_payment
    response = _receipt(
        service, merchant.key, f"/v1/payment_intents/{intent.id}/receipt", locale="de", format="pdf"
    )
    assert response.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Kaffeerösterei Müller GmbH" in text
    assert "12.000" in text  # 12,000 JPY in German grouping


def test_refund_receipt(service, merchant):
    intent = merchant.client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    refund = merchant.client.v1.refunds.create(params={"payment_intent": intent.id, "amount": 1250})
    response = _receipt(
        service, merchant.key, f"/v1/refunds/{refund.id}/receipt", locale="fr", format="txt"
    )
    assert response.status_code == 200
    assert "12,50\xa0€" in response.text  # fr: a no-break space before the sign
    assert intent.id in response.text
    payment = _receipt(
        service, merchant.key, f"/v1/payment_intents/{intent.id}/receipt", locale="en", format="txt"
    )
    assert "€12.50" in payment.text  # refunds so far appear on the payment's receipt


def test_receipts_are_private_and_formats_checked(service, make_merchant, jpy_payment):
    _, intent = jpy_payment
    stranger = make_merchant(name="Stranger")
    hidden = _receipt(service, stranger.key, f"/v1/payment_intents/{intent.id}/receipt")
    assert hidden.status_code == 404
    owner = jpy_payment[0]
    bad = _receipt(service, owner.key, f"/v1/payment_intents/{intent.id}/receipt", format="docx")
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "format"
    zone = _receipt(
        service, owner.key, f"/v1/payment_intents/{intent.id}/receipt", timezone="Mars/Olympus"
    )
    assert zone.status_code == 400 and zone.json()["error"]["param"] == "timezone"


@pytest.mark.fonts
def test_receipt_email_is_sent_when_the_payment_succeeds(service, merchant):
    address = f"payer-{merchant.account_id.lower()}@example.com"
    merchant.client.v1.payment_intents.create(
        params={
            "amount": 4200,
            "currency": "eur",
            "payment_method": "pm_card_visa",
            "confirm": True,
            "receipt_email": address,
            "payer": {"name": "Hana Sato", "locale": "ja"},
        }
    )

    def delivered():
        for raw in list(service.mailbox):
            message = email.message_from_bytes(raw, policy=policy.default)
            if message["To"] == address:
                return message
        return None

    message = service.wait_for(delivered)
    assert message["Content-Language"] == "ja"
    parts = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html", "application/pdf"} <= parts
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "€42.00" in text or "42.00" in text
