"""Card checks, brand detection, fingerprints, the BIN table and Stripe's test ids."""

from __future__ import annotations

import csv
import datetime as dt
from importlib import resources

import pytest
from stdnum import luhn

from payments.bins import BinTable, default_bin_table
from payments.cards import (
    CardValidationError,
    check_cvc,
    check_expiry,
    check_number,
    detect_brand,
    fingerprint,
    is_expired,
    validate_card,
)
from payments.stripe_test_cards import (
    is_test_payment_method,
    resolve_test_payment_method,
    stripe_test_cards,
)

TODAY = dt.date(2026, 5, 15)
KEY = b"k" * 32


def with_luhn(partial: str) -> str:
    return partial + luhn.calc_check_digit(partial)


@pytest.mark.parametrize(
    ("number", "brand"),
    [
        ("4242424242424242", "visa"),
        ("4000056655665556", "visa"),
        ("5555555555554444", "mastercard"),
        ("2223003122003222", "mastercard"),
        ("5200828282828210", "mastercard"),
        ("5105105105105100", "mastercard"),
        ("378282246310005", "amex"),
        ("371449635398431", "amex"),
        ("6011111111111117", "discover"),
        ("6011000990139424", "discover"),
        ("3056930009020004", "diners"),
        ("36227206271667", "diners"),
        ("3566002020360505", "jcb"),
        ("6200000000000005", "unionpay"),
        ("6205500000000000004", "unionpay"),
    ],
)
def test_stripe_brand_test_cards_validate_with_their_brand(number: str, brand: str) -> None:
    assert check_number(number) == (number, brand)


@pytest.mark.parametrize(
    ("prefix", "brand"),
    [
        ("2220", "unknown"),
        ("2221", "mastercard"),
        ("2720", "mastercard"),
        ("2721", "unknown"),
        ("3527", "unknown"),
        ("3528", "jcb"),
        ("3589", "jcb"),
        ("3590", "unknown"),
        ("3000", "diners"),
        ("3060", "unknown"),
        ("6440", "discover"),
        ("6500", "discover"),
        ("6200", "unionpay"),
        ("4", "visa"),
    ],
)
def test_brand_range_boundaries(prefix: str, brand: str) -> None:
    assert detect_brand(prefix) == brand


def test_spaces_and_dashes_are_ignored() -> None:
    assert check_number("4242 4242-4242 4242") == ("4242424242424242", "visa")


def test_luhn_failure_is_incorrect_number() -> None:
    with pytest.raises(CardValidationError) as caught:
        check_number("4242424242424241")
    assert caught.value.code == "incorrect_number"
    assert caught.value.param == "card[number]"


@pytest.mark.parametrize(
    "number",
    [
        with_luhn("378282246310005"),  # a 16-digit amex
        with_luhn("55555555555544"),  # 15-digit mastercard
        with_luhn("42424242424"),  # 12-digit visa
        "4242abcd42424242",
        "",
    ],
)
def test_wrong_length_or_characters_is_invalid_number(number: str) -> None:
    with pytest.raises(CardValidationError) as caught:
        check_number(number)
    assert caught.value.code == "invalid_number"


@pytest.mark.parametrize(
    ("month", "year", "expected"),
    [
        (5, 2026, (5, 2026)),
        (12, 2026, (12, 2026)),
        (1, 2027, (1, 2027)),
        (6, 27, (6, 2027)),
        (12, 2076, (12, 2076)),
    ],
)
def test_valid_expiries(month: int, year: int, expected: tuple[int, int]) -> None:
    assert check_expiry(month, year, TODAY) == expected


@pytest.mark.parametrize(
    ("month", "year", "code"),
    [
        (4, 2026, "invalid_expiry_month"),
        (12, 2025, "invalid_expiry_year"),
        (13, 2027, "invalid_expiry_month"),
        (0, 2027, "invalid_expiry_month"),
        (1, 2077, "invalid_expiry_year"),
        (1, 95, "invalid_expiry_year"),
    ],
)
def test_invalid_expiries(month: int, year: int, code: str) -> None:
    with pytest.raises(CardValidationError) as caught:
        check_expiry(month, year, TODAY)
    assert caught.value.code == code


def test_is_expired_is_end_of_month() -> None:
    assert not is_expired(5, 2026, TODAY)
    assert not is_expired(5, 2026, dt.date(2026, 5, 31))
    assert is_expired(5, 2026, dt.date(2026, 6, 1))


@pytest.mark.parametrize(
    ("cvc", "brand", "ok"),
    [
        ("123", "visa", True),
        ("1234", "visa", False),
        ("1234", "amex", True),
        ("123", "amex", False),
        ("12", "mastercard", False),
        ("12a", "visa", False),
    ],
)
def test_cvc_length_by_brand(cvc: str, brand: str, ok: bool) -> None:
    if ok:
        assert check_cvc(cvc, brand) == cvc  # type: ignore[arg-type]
    else:
        with pytest.raises(CardValidationError) as caught:
            check_cvc(cvc, brand)  # type: ignore[arg-type]
        assert caught.value.code == "invalid_cvc"


def test_validate_card_keeps_no_cvc_and_masks_repr() -> None:
    card = validate_card("3782 822463 10005", 1, 2030, "1234", today=TODAY)
    assert (card.number, card.brand, card.last4) == ("378282246310005", "amex", "0005")
    assert "378282246310005" not in repr(card)
    assert "378282246310005" not in str(card)
    assert not hasattr(card, "cvc")


def test_validate_card_checks_cvc_only_when_given() -> None:
    assert validate_card("4242424242424242", 1, 2030, None, today=TODAY).brand == "visa"
    with pytest.raises(CardValidationError):
        validate_card("4242424242424242", 1, 2030, "1", today=TODAY)


def test_fingerprint_is_stable_keyed_and_per_number() -> None:
    a = fingerprint("4242424242424242", KEY)
    assert a == fingerprint("4242 4242 4242 4242", KEY)
    assert len(a) == 16 and a.isalnum()
    assert a != fingerprint("4000056655665556", KEY)
    assert a != fingerprint("4242424242424242", b"j" * 32)
    with pytest.raises(ValueError):
        fingerprint("4242424242424242", b"short")


def test_bin_table_rows_agree_with_brand_rules_and_pycountry() -> None:
    table = default_bin_table()
    assert len(table) > 70
    for record in table.records():
        assert detect_brand(record.prefix) == record.brand, record


@pytest.mark.parametrize(
    ("number", "country", "funding"),
    [
        ("4242424242424242", "US", "credit"),
        ("4000056655665556", "US", "debit"),
        ("5555555555554444", "US", "credit"),
        ("2223003122003222", "US", "credit"),
        ("5200828282828210", "US", "debit"),
        ("378282246310005", "US", "credit"),
        ("6011111111111117", "US", "credit"),
        ("3056930009020004", "US", "credit"),
        ("3566002020360505", "JP", "credit"),
        ("6200000000000005", "CN", "credit"),
        ("6200000000000047", "CN", "debit"),
        ("4000000760000002", "BR", "credit"),
        ("4000003920000003", "JP", "credit"),
        ("4000002760000016", "DE", "credit"),
        ("4000008260000000", "GB", "credit"),
        ("4000058260000005", "GB", "debit"),
        ("4000001560000002", "CN", "credit"),
        ("4000002500000003", "FR", "credit"),
        ("4000000000009995", "US", "credit"),
        ("4000002760003184", "DE", "credit"),
    ],
)
def test_issuing_country_from_bin_table(number: str, country: str, funding: str) -> None:
    record = default_bin_table().lookup(number)
    assert record is not None
    assert (record.country, record.funding) == (country, funding)


def test_unknown_bin_is_none() -> None:
    assert default_bin_table().lookup("4111111111111111") is None


def test_bin_table_rejects_bad_rows() -> None:
    with pytest.raises(ValueError, match="ISO 3166"):
        BinTable.from_csv("prefix,brand,country,funding,description\n411111,visa,XX,credit,\n")
    with pytest.raises(ValueError, match="twice"):
        BinTable.from_csv(
            "prefix,brand,country,funding,description\n"
            "411111,visa,US,credit,\n411111,visa,GB,credit,\n"
        )
    with pytest.raises(ValueError, match="funding"):
        BinTable.from_csv("prefix,brand,country,funding,description\n411111,visa,US,gift,\n")


def test_longest_prefix_wins() -> None:
    table = BinTable.from_csv(
        "prefix,brand,country,funding,description\n"
        "411111,visa,US,credit,\n41111122,visa,GB,debit,\n"
    )
    assert table.lookup("4111112200000000").country == "GB"  # type: ignore[union-attr]
    assert table.lookup("4111113300000000").country == "US"  # type: ignore[union-attr]


REQUIRED_TOKENS = [
    "pm_card_visa",
    "pm_card_visa_debit",
    "pm_card_mastercard",
    "pm_card_amex",
    "pm_card_discover",
    "pm_card_diners",
    "pm_card_jcb",
    "pm_card_unionpay",
    "pm_card_chargeDeclined",
    "pm_card_chargeDeclinedInsufficientFunds",
    "pm_card_chargeDeclinedLostCard",
    "pm_card_chargeDeclinedStolenCard",
    "pm_card_chargeDeclinedExpiredCard",
    "pm_card_chargeDeclinedIncorrectCvc",
    "pm_card_chargeDeclinedProcessingError",
    "pm_card_authenticationRequired",
    "pm_card_threeDSecure2Required",
    "pm_card_us",
    "pm_card_jp",
    "pm_card_br",
    "pm_card_de",
    "pm_card_gb",
    "pm_card_fr",
    "pm_card_cn",
]


@pytest.mark.parametrize("token", REQUIRED_TOKENS)
def test_required_test_tokens_resolve_to_valid_cards(token: str) -> None:
    card = resolve_test_payment_method(token)
    assert card is not None and is_test_payment_method(token)
    month, year = card.expiry(TODAY)
    validated = validate_card(card.number, month, year, None, today=TODAY)
    assert validated.last4 == card.number[-4:]


def test_every_test_token_is_a_valid_card_with_a_known_bin() -> None:
    table = default_bin_table()
    for token, card in stripe_test_cards().items():
        number, brand = check_number(card.number)
        record = table.lookup(number)
        assert record is not None, token
        assert record.brand == brand, token


def test_country_tokens_issue_in_their_country() -> None:
    table = default_bin_table()
    country_tokens = [t for t in stripe_test_cards() if len(t.split("_")[2]) == 2]
    assert len(country_tokens) > 40
    for token in country_tokens:
        country = token.split("_")[2].upper()
        record = table.lookup(stripe_test_cards()[token].number)
        assert record is not None and record.country == country, token


def test_brief_examples_map_to_documented_numbers() -> None:
    documented = {
        "pm_card_visa": "4242424242424242",
        "pm_card_visa_debit": "4000056655665556",
        "pm_card_mastercard": "5555555555554444",
        "pm_card_amex": "378282246310005",
        "pm_card_jp": "4000003920000003",
        "pm_card_br": "4000000760000002",
        "pm_card_de": "4000002760000016",
        "pm_card_gb": "4000008260000000",
        "pm_card_cn": "4000001560000002",
        "pm_card_chargeDeclined": "4000000000000002",
        "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
        "pm_card_authenticationRequired": "4000002760003184",
        "pm_card_threeDSecure2Required": "4000000000003220",
    }
    for token, number in documented.items():
        assert stripe_test_cards()[token].number == number


def test_data_files_have_no_duplicate_rows() -> None:
    text = resources.files("payments.data").joinpath("test_card_behaviours.csv").read_text()
    numbers = [row["number"] for row in csv.DictReader(text.splitlines())]
    assert len(numbers) == len(set(numbers))
