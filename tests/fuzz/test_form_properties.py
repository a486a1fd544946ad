"""Properties of Stripe's form encoding (``api/forms.py``).

* Whatever nested structure the SDKs can send (objects of objects, lists of scalars and
  of objects, any text in names and values) survives ``encode`` -> URL encoding ->
  ``decode_body`` unchanged.
* Any bytes at all decode to a structure or raise :class:`FormError`: never another
  exception, never a structure deeper than ``MAX_DEPTH``.
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from api.forms import MAX_DEPTH, FormError, decode, decode_body, encode

EXAMPLES = 3000 if os.environ.get("CORRIDOR_TEST_FULL") == "1" else 300
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
names = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="[]"), min_size=1, max_size=12
).filter(lambda name: not name.isdigit())
"""A name the encoding can carry: no brackets, and not all digits (an index)."""


def _values(parts: int) -> st.SearchStrategy[Any]:
    """Values whose names may add ``parts`` more name segments (``[key]`` or ``[0]``)."""
    options: list[st.SearchStrategy[Any]] = [text]
    if parts >= 1:
        options.append(st.lists(text, min_size=1, max_size=4))
        options.append(_objects(parts - 1))
    if parts >= 2:
        options.append(st.lists(_objects(parts - 2), min_size=1, max_size=3))
    return st.one_of(*options)


def _objects(parts: int) -> st.SearchStrategy[dict[str, Any]]:
    """Non-empty objects (an empty one is not sent) with at most ``parts`` more segments."""
    return st.dictionaries(names, st.deferred(lambda: _values(parts)), min_size=1, max_size=4)


def _max_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((_max_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_max_depth(v) for v in value), default=0)
    return 0


@PROPERTY
@given(params=_objects(MAX_DEPTH - 1))
@example(params={"0": "x"})
@example(params={"metadata": {"order": "42"}, "expand": ["customer", "invoice"]})
@example(params={"items": [{"price": "p_1", "quantity": "2"}, {"price": "p_2"}]})
@example(params={"a b&c=d": {"é": "x=y&z", "+": "%20"}})
def test_encode_then_decode_is_the_identity(params: dict[str, Any]) -> None:
    body = urlencode(encode(params)).encode("utf-8")
    assert decode_body(body) == params
    assert decode(encode(params)) == params


@PROPERTY
@given(body=st.binary(max_size=300))
@example(body=b"a=1&a[b]=2")
@example(body=b"a[b]=1&a=2")
@example(body=b"a[]=1&a[x]=2")
@example(body=b"a[0]=1&a[2]=2")
@example(body=b"[x]=1")
@example(body=b"a[b]]=1")
@example(body=b"\xff\xfe")
@example(body=b"a" + b"[b]" * 40 + b"=1")
@example(body=b"&".join(b"k%d=1" % i for i in range(2500)))
def test_any_bytes_decode_or_raise_form_error(body: bytes) -> None:
    try:
        decoded = decode_body(body)
    except FormError as exc:
        assert isinstance(exc.param, str)
        return
    assert isinstance(decoded, dict)
    json.dumps(decoded)
    assert _max_depth(decoded) <= MAX_DEPTH


brackety = st.text(alphabet="ab0129[]=&%+ \x00é", max_size=80)


@PROPERTY
@given(body=brackety)
def test_bracket_soup_decodes_or_raises_form_error(body: str) -> None:
    try:
        decoded = decode_body(body.encode("utf-8"))
    except FormError:
        return
    assert isinstance(decoded, dict)
    assert _max_depth(decoded) <= MAX_DEPTH


@PROPERTY
@given(pairs=st.lists(st.tuples(brackety, text), max_size=20))
def test_any_pairs_decode_or_raise_form_error(pairs: list[tuple[str, str]]) -> None:
    try:
        decoded = decode(pairs)
    except FormError:
        return
    assert isinstance(decoded, dict)
