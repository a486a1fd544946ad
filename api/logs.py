"""Log lines: one JSON object (or one readable line) each, with secrets masked.

Logs leave the process: they are shipped, indexed and read by people who must never see
a card number, a CVC or a key. Code is written not to log them, but an exception message
or a third-party library can still carry one, so every line passes
:class:`MaskSecrets` on its way out. It replaces

* API secret keys (``sk_test_...``/``sk_live_...``/``rk_...``) by their prefix and last 4,
* webhook signing secrets (``whsec_...``) and PaymentIntent client secrets,
* ``Authorization`` credentials (Bearer and Basic),
* card numbers: 13 to 19 digits (spaces or dashes allowed) that pass the Luhn check, by
  their last 4, and
* CVCs given as ``cvc``/``cvv``/``cvc2`` fields,

in the message, its arguments, any extra fields and the formatted exception.

``CORRIDOR_LOG_FORMAT=json`` (one JSON object a line, for shipping) or ``text`` (the
default, for a terminal) and ``CORRIDOR_LOG_LEVEL`` (default ``INFO``) select the output;
:func:`configure_logging` installs it on the root logger.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import sys
from typing import Any, Final, TextIO

_STANDARD_ATTRIBUTES: Final = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))
) | {"message", "asctime", "taskName"}

_API_KEY = re.compile(r"\b((?:sk|rk)_(?:test|live)_)[A-Za-z0-9]{8,}([A-Za-z0-9]{4})\b")
_WEBHOOK_SECRET = re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]{6,}")
_CLIENT_SECRET = re.compile(r"\b(pi_[A-Za-z0-9]+_secret_)[A-Za-z0-9]+")
_AUTHORIZATION = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}")
_CVC = re.compile(
    r"(?i)((?:\"|')?(?:card\[)?(?:cvc|cvv|cvc2|cvv2|csc)\]?(?:\"|')?\s*[:=]\s*(?:\"|')?)\d{3,4}"
)
_PAN_CANDIDATE = re.compile(r"(?<![\d.])\d(?:[ -]?\d){12,18}(?![\d.])")


def luhn_valid(digits: str) -> bool:
    """The Luhn (mod 10) check every payment card number passes."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _mask_pan(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"[ -]", "", text)
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return text
    return f"****{digits[-4:]}"


def mask(text: str) -> str:
    """``text`` with every secret it contains replaced (see the module docstring)."""
    if not text:
        return text
    text = _AUTHORIZATION.sub(r"\1\2****", text)
    text = _API_KEY.sub(r"\1****\2", text)
    text = _WEBHOOK_SECRET.sub("whsec_****", text)
    text = _CLIENT_SECRET.sub(r"\1****", text)
    text = _CVC.sub(r"\1***", text)
    return _PAN_CANDIDATE.sub(_mask_pan, text)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


class MaskSecrets(logging.Filter):
    """Mask secrets in a record before any handler formats it (installed on handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep what there is, masked
            message = f"{record.msg} {record.args}"
        record.msg = mask(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD_ATTRIBUTES:
                setattr(record, name, _masked(value))
        return True


def extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a caller passed with ``extra=``."""
    return {
        name: value
        for name, value in vars(record).items()
        if name not in _STANDARD_ATTRIBUTES and not name.startswith("_")
    }


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts``, ``level``, ``logger``, ``message``, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(extra_fields(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return mask(json.dumps(line, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """``time level logger message key=value ...``: the same fields, for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = extra_fields(record)
        if fields:
            extras = " ".join(f"{key}={value}" for key, value in fields.items())
            first, newline, rest = text.partition("\n")
            text = f"{first} {extras}{newline}{rest}"
        return mask(text)


FORMATS: Final = ("json", "text")


class _StandardError(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not when configured
    (a process that swaps stderr, as test runners do, must not leave a closed stream here)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass


def make_handler(fmt: str = "text", stream: TextIO | None = None) -> logging.Handler:
    """A stream handler with the masking filter and the chosen formatter."""
    if fmt not in FORMATS:
        raise ValueError(f"CORRIDOR_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {fmt!r}")
    handler = logging.StreamHandler(stream) if stream is not None else _StandardError()
    handler.addFilter(MaskSecrets())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.set_name("corridor")
    return handler


def configure_logging(
    fmt: str | None = None, level: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Install Corridor's handler on the root logger (replacing a previous one).

    ``fmt`` and ``level`` default to ``CORRIDOR_LOG_FORMAT`` and ``CORRIDOR_LOG_LEVEL``.
    """
    fmt = (fmt or os.environ.get("CORRIDOR_LOG_FORMAT") or "text").lower()
    level = (level or os.environ.get("CORRIDOR_LOG_LEVEL") or "INFO").upper()
    handler = make_handler(fmt, stream)
    root = logging.getLogger()
    for existing in list(root.handlers):
        if existing.get_name() == "corridor" or type(existing) in (
            logging.StreamHandler,
            _StandardError,
        ):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    # The request line comes from corridor.access; uvicorn's own access log would repeat it
    # with the raw query string.
    logging.getLogger("uvicorn.access").disabled = True
    # stripe-python logs whole request bodies (card numbers, for the Stripe rail) at DEBUG.
    logging.getLogger("stripe").setLevel(max(logging.WARNING, root.level))
    return handler
