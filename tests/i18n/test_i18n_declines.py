"""Localised decline messages: the code is stable, the message speaks the payer's language."""

from __future__ import annotations

import pytest

from i18n.declines import DECLINE_CODES, decline_message, decline_message_id
from i18n.locales import SUPPORTED_LOCALES

HIDDEN_REASONS = ["lost_card", "stolen_card", "fraudulent", "pickup_card", "do_not_honor"]


def test_english_messages() -> None:
    assert decline_message("insufficient_funds", "en") == "Your card has insufficient funds."
    assert decline_message("expired_card", "en") == "Your card has expired."
    assert decline_message("incorrect_cvc", "en") == "Your card's security code is incorrect."
    assert decline_message("generic_decline", "en") == "Your card was declined."


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("ja", "カードの残高が不足しています。"),
        ("de", "Ihre Karte ist nicht ausreichend gedeckt."),
        ("ar", "رصيد بطاقتك غير كافٍ."),
        ("pt_BR", "Seu cartão não tem saldo suficiente."),
        ("zh_Hant", "您的卡片餘額不足。"),
    ],
)
def test_insufficient_funds_in_the_payers_language(locale: str, expected: str) -> None:
    assert decline_message("insufficient_funds", locale) == expected


@pytest.mark.parametrize("locale", SUPPORTED_LOCALES)
def test_fraud_related_codes_are_shown_as_the_generic_decline(locale: str) -> None:
    generic = decline_message("generic_decline", locale)
    for code in HIDDEN_REASONS:
        assert decline_message(code, locale) == generic
    assert decline_message("some_future_code", locale) == generic
    assert decline_message(None, locale) == generic


@pytest.mark.parametrize("locale", [loc for loc in SUPPORTED_LOCALES if loc != "en"])
def test_every_code_is_translated(locale: str) -> None:
    for code in DECLINE_CODES:
        assert decline_message(code, locale) != decline_message_id(code), (locale, code)


def test_distinct_reasons_stay_distinct() -> None:
    for locale in SUPPORTED_LOCALES:
        texts = {
            decline_message(code, locale)
            for code in ("generic_decline", "insufficient_funds", "expired_card", "incorrect_cvc")
        }
        assert len(texts) == 4, locale
