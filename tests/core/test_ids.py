"""Ids: the right length, only base62, every character equally likely."""

from __future__ import annotations

import string
from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from core.ids import new_id, random_token

ALPHABET = set(string.ascii_letters + string.digits)


@given(st.integers(min_value=0, max_value=300))
def test_tokens_have_the_asked_length_and_only_base62(length: int) -> None:
    token = random_token(length)
    assert len(token) == length
    assert set(token) <= ALPHABET


def test_ids_carry_their_prefix() -> None:
    made = new_id("pi")
    assert made.startswith("pi_") and len(made) == 27


def test_characters_are_uniform() -> None:
    """A chi-square test over 248,000 characters (61 degrees of freedom). A bias such as
    mapping all 256 byte values modulo 62 (the first eight characters 5 of 256 likelier)
    gives a statistic above 1,000; uniform draws exceed 130 less than once in a million."""
    counts = Counter("".join(random_token(31) for _ in range(8_000)))
    expected = 248_000 / 62
    assert set(counts) == ALPHABET
    chi_square = sum((counts[c] - expected) ** 2 / expected for c in ALPHABET)
    assert chi_square < 130, chi_square
