"""The fields every Stripe-shaped object carries, and the request-side field types."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec

Metadata = Annotated[
    dict[
        Annotated[str, msgspec.Meta(min_length=1, max_length=40)],
        Annotated[str, msgspec.Meta(max_length=500)],
    ],
    msgspec.Meta(max_length=50, description="Up to 50 keys (40 chars) with values of 500 chars."),
]

Amount = Annotated[
    int, msgspec.Meta(ge=1, le=99_999_999_999, description="Positive amount in minor units.")
]
CurrencyCode = Annotated[
    str, msgspec.Meta(min_length=3, max_length=3, description="ISO 4217 code (any case).")
]
CountryCode = Annotated[
    str, msgspec.Meta(min_length=2, max_length=2, description="ISO 3166-1 alpha-2 code.")
]
ShortText = Annotated[str, msgspec.Meta(max_length=500)]
Email = Annotated[str, msgspec.Meta(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class Request(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """Base for request bodies: unknown parameters are refused, as Stripe does."""


def timestamp(value: dt.datetime | None) -> int | None:
    return int(value.timestamp()) if value is not None else None


def envelope(kind: str, object_id: str, created: dt.datetime, **fields: Any) -> dict[str, Any]:
    return {
        "id": object_id,
        "object": kind,
        "created": timestamp(created),
        "livemode": False,
        **fields,
    }


def merge_metadata(current: dict[str, str], update: dict[str, str] | None) -> dict[str, str]:
    """Stripe's rule: keys set to "" are removed, others set; metadata="" clears all."""
    if update is None:
        return current
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged
