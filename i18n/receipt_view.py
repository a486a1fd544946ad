"""A receipt translated and formatted for one locale, ready for any output format.

This is the single place where receipt wording is chosen: text, HTML, PDF and e-mail
all render the same :class:`ReceiptView`, so they can never disagree on a label or an
amount. It is pure (catalog lookups and CLDR formatting only) and so is tested
without files, fonts or a mail server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from i18n.catalogs import NC_, translations
from i18n.declines import decline_message
from i18n.formatting import (
    country_name,
    format_date,
    format_datetime,
    format_money,
    format_rate,
    time_zone,
)
from i18n.locales import Direction, language_tag, require_supported, text_direction
from i18n.receipt_data import Amount, PaymentMethod, ReceiptData, ReceiptKind

Gettext = Callable[[str], str]

_STATUS_LABELS: Final[dict[str, tuple[str, str]]] = {
    "requires_payment_method": NC_("receipt status", "Awaiting payment method"),
    "requires_confirmation": NC_("receipt status", "Awaiting confirmation"),
    "requires_action": NC_("receipt status", "Action required"),
    "requires_review": NC_("receipt status", "Under review"),
    "processing": NC_("receipt status", "Processing"),
    "requires_capture": NC_("receipt status", "Authorized, awaiting capture"),
    "succeeded": NC_("receipt status", "Succeeded"),
    "canceled": NC_("receipt status", "Canceled"),
    "refunded": NC_("receipt status", "Refunded"),
    "partially_refunded": NC_("receipt status", "Partially refunded"),
    "pending": NC_("receipt status", "Pending"),
    "failed": NC_("receipt status", "Failed"),
    "in_transit": NC_("receipt status", "In transit"),
    "paid": NC_("receipt status", "Paid"),
}

# Statuses in which the payer's money has moved (or is held): a "thank you" fits.
_MONEY_MOVED: Final = frozenset(
    {"processing", "requires_capture", "succeeded", "refunded", "partially_refunded"}
)

# Card and wallet brands are proper nouns: shown as their owners write them, in every
# language. Keys are Stripe's brand / wallet identifiers.
_BRAND_NAMES: Final = {
    "amex": "American Express",
    "american_express": "American Express",
    "cartes_bancaires": "Cartes Bancaires",
    "diners": "Diners Club",
    "discover": "Discover",
    "eftpos_au": "eftpos",
    "jcb": "JCB",
    "mastercard": "Mastercard",
    "unionpay": "UnionPay",
    "visa": "Visa",
    "apple_pay": "Apple Pay",
    "google_pay": "Google Pay",
    "samsung_pay": "Samsung Pay",
    "alipay": "Alipay",
    "wechat_pay": "WeChat Pay",
    "paypal": "PayPal",
    "grabpay": "GrabPay",
    "kakao_pay": "Kakao Pay",
    "line_pay": "LINE Pay",
    "paypay": "PayPay",
}


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def printable(text: str) -> str:
    """Merchant-supplied text with control characters (line breaks, tabs) as spaces.

    A receipt line is one line in every format, and an e-mail subject must never
    carry a line break (header injection).
    """
    return _CONTROL.sub(" ", text).strip()


def brand_name(brand: str) -> str:
    """Display name of a card or wallet brand id (unknown ids are title-cased)."""
    return _BRAND_NAMES.get(brand.lower(), brand.replace("_", " ").title())


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled line of a receipt. ``key`` is stable across locales."""

    key: str
    label: str
    value: str
    emphasis: bool = False


@dataclass(frozen=True, slots=True)
class RefundRow:
    date: str
    amount: str
    reference: str


@dataclass(frozen=True, slots=True)
class ReceiptView:
    locale: str
    created: datetime
    """When the receipted event happened (PDF creation date, e-mail date)."""
    lang: str
    """BCP 47 tag for ``lang=`` / ``Content-Language``."""
    direction: Direction
    title: str
    merchant: str
    intro: str
    caption: str
    rows: tuple[Row, ...]
    refunds_heading: str
    refunds_summary: str
    refund_columns: tuple[str, str, str]
    refunds: tuple[RefundRow, ...]
    closing: tuple[str, ...]
    subject: str
    attachment_note: str

    def row(self, key: str) -> Row:
        """The row with a given stable key (``amount``, ``exchange_rate``, ...)."""
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(key)


def _payment_method_text(method: PaymentMethod, _: Gettext) -> str:
    if method.type == "card":
        if method.brand:
            # TRANSLATORS: %(brand)s is a card brand (Visa, Mastercard), a proper noun.
            return _("%(brand)s card ending in %(last4)s") % {
                "brand": brand_name(method.brand),
                "last4": method.last4,
            }
        return _("Card ending in %(last4)s") % {"last4": method.last4}
    if method.type == "wallet":
        # TRANSLATORS: %(wallet)s is a wallet brand (Apple Pay, Alipay), a proper noun.
        return _("%(wallet)s (digital wallet)") % {"wallet": brand_name(method.brand or "")}
    if method.last4:
        return _("Bank transfer from account ending in %(last4)s") % {"last4": method.last4}
    return _("Bank transfer")


@dataclass(frozen=True, slots=True)
class _Part:
    """The kind-specific part of a view: wording and rows before status/reference."""

    title: str
    intro: str
    subject: str
    rows: list[Row]
    closing: tuple[str, ...]


def _payout_part(data: ReceiptData, locale: str, timezone: str, _: Gettext) -> _Part:
    assert data.payout is not None  # ReceiptData guarantees it for payouts
    advice = data.payout
    paid = format_money(data.amount.minor, data.amount.currency, locale)
    beneficiary = printable(advice.beneficiary)
    rows = [Row("payout_to", _("Payout to"), beneficiary)]
    if advice.bank_last4:
        account = _("Account ending in %(last4)s") % {"last4": advice.bank_last4}
        rows.append(Row("bank_account", _("Bank account"), account))
    rows += [
        Row("merchant", _("Merchant"), printable(data.merchant_name)),
        Row("merchant_country", _("Merchant country"), country_name(data.merchant_country, locale)),
        Row("date", _("Date"), format_datetime(data.created, locale, timezone)),
        Row("amount", _("Payout amount"), paid, emphasis=True),
        Row("arrival_date", _("Arrival date"), format_date(advice.arrival_date, locale)),
    ]
    return _Part(
        title=_("Remittance advice"),
        intro=_("This remittance advice is for a payout of %(amount)s to %(beneficiary)s.")
        % {"amount": paid, "beneficiary": beneficiary},
        subject=_("Remittance advice: payout of %(amount)s") % {"amount": paid},
        rows=rows,
        closing=(_("Please keep this remittance advice for your records."),),
    )


def _payment_part(data: ReceiptData, locale: str, timezone: str, _: Gettext) -> _Part:
    """Payments and refunds: the same receipt, worded for the direction money went."""

    def money(amount: Amount) -> str:
        return format_money(amount.minor, amount.currency, locale)

    refund = data.kind is ReceiptKind.REFUND
    paid = money(data.amount)
    merchant = printable(data.merchant_name)
    names = {"amount": paid, "merchant": merchant}
    rows = [
        Row("merchant", _("Merchant"), merchant),
        Row("merchant_country", _("Merchant country"), country_name(data.merchant_country, locale)),
        Row("date", _("Date"), format_datetime(data.created, locale, timezone)),
    ]
    if data.description:
        rows.append(Row("description", _("Description"), printable(data.description)))
    amount_label = _("Amount refunded") if refund else _("Amount paid")
    rows.append(Row("amount", amount_label, paid, emphasis=True))
    if data.fee is not None:
        rows.append(Row("fee", _("Fee"), money(data.fee)))
    if data.settlement is not None:
        label = _("Amount debited from merchant") if refund else _("Amount credited to merchant")
        rows.append(Row("settlement_amount", label, money(data.settlement.amount)))
        if data.settlement.rate is not None:
            rate = format_rate(
                data.settlement.rate, data.amount.currency, data.settlement.amount.currency, locale
            )
            rows.append(Row("exchange_rate", _("Exchange rate"), rate))
    if data.payment_method is not None:
        label = _("Refunded to") if refund else _("Payment method")
        rows.append(Row("payment_method", label, _payment_method_text(data.payment_method, _)))
    if data.decline_code is not None:
        reason = decline_message(data.decline_code, locale)
        rows.append(Row("decline_reason", _("Reason for decline"), reason))
    if data.original_payment:
        original = printable(data.original_payment)
        rows.append(Row("original_payment", _("Original payment"), original))
    closing: tuple[str, ...] = (
        _("Questions about this receipt? Contact %(merchant)s.") % {"merchant": merchant},
    )
    if not refund and data.status in _MONEY_MOVED:
        closing = (_("Thank you for your payment."), *closing)
    if refund:
        return _Part(
            title=_("Refund receipt"),
            intro=_("This is a receipt for your refund of %(amount)s from %(merchant)s.") % names,
            subject=_("Your refund receipt from %(merchant)s") % names,
            rows=rows,
            closing=closing,
        )
    return _Part(
        title=_("Receipt"),
        intro=_("This is a receipt for your payment of %(amount)s to %(merchant)s.") % names,
        subject=_("Your receipt from %(merchant)s") % names,
        rows=rows,
        closing=closing,
    )


def build_view(data: ReceiptData, locale: str, timezone: str = "UTC") -> ReceiptView:
    """Translate and format ``data`` for ``locale``, with times in ``timezone``."""
    require_supported(locale)
    time_zone(timezone)  # fail early on a bad zone name
    catalog = translations(locale)
    _ = catalog.gettext
    if data.kind is ReceiptKind.PAYOUT:
        part = _payout_part(data, locale, timezone, _)
    else:
        part = _payment_part(data, locale, timezone, _)
    rows = part.rows

    context, status_message = _STATUS_LABELS[data.status]
    rows.append(Row("status", _("Status"), catalog.pgettext(context, status_message)))
    rows.append(Row("reference", _("Reference"), printable(data.reference)))

    refund_rows = tuple(
        RefundRow(
            date=format_datetime(entry.created, locale, timezone),
            amount=format_money(entry.amount.minor, entry.amount.currency, locale),
            reference=printable(entry.reference or ""),
        )
        for entry in data.refunds
    )
    total = sum(entry.amount.minor for entry in data.refunds)
    summary = ""
    if data.refunds:
        count = len(data.refunds)
        summary = catalog.ngettext(
            "%(count)d refund totalling %(total)s", "%(count)d refunds totalling %(total)s", count
        ) % {"count": count, "total": format_money(total, data.amount.currency, locale)}

    return ReceiptView(
        locale=locale,
        created=data.created,
        lang=language_tag(locale),
        direction=text_direction(locale),
        title=part.title,
        merchant=printable(data.merchant_name),
        intro=part.intro,
        caption=_("Details"),
        rows=tuple(rows),
        refunds_heading=_("Refunds so far"),
        refunds_summary=summary,
        refund_columns=(_("Date"), _("Amount"), _("Reference")),
        refunds=refund_rows,
        closing=part.closing,
        subject=part.subject,
        attachment_note=_("A PDF copy is attached."),
    )
