"""Stripe's form encoding: ``metadata[order]=42&expand[]=customer&items[0][price]=p``.

Stripe's SDKs send request bodies form-encoded with bracket nesting. This module turns
such a body into the nested JSON-like structure the handlers declare, so one typed
request model serves both encodings. Shapes that cannot be reconciled (``a=1&a[b]=2``)
are refused with the offending parameter named.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

MAX_DEPTH = 6
MAX_PARAMS = 2000

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


class FormError(ValueError):
    def __init__(self, message: str, param: str) -> None:
        super().__init__(message)
        self.param = param


def _split(key: str) -> list[str]:
    match = _KEY.match(key)
    if not match:
        raise FormError(f"Invalid parameter name: {key}", param=key)
    head, rest = match.groups()
    parts = [head, *re.findall(r"\[([^\[\]]*)\]", rest)]
    if len(parts) > MAX_DEPTH:
        raise FormError(f"Parameter {key} is nested too deeply.", param=key)
    return parts


def _listify(node: Any, name: str) -> Any:
    """Dicts whose keys are all indices (``items[0]``, ``items[1]``) become lists."""
    if isinstance(node, dict):
        for key in list(node):
            node[key] = _listify(node[key], f"{name}[{key}]" if name else key)
        if node and all(k.isdigit() for k in node):
            indices = sorted(node, key=int)
            if [int(i) for i in indices] != list(range(len(indices))):
                raise FormError(f"Array {name} has missing indices.", param=name)
            return [node[i] for i in indices]
    elif isinstance(node, list):
        return [_listify(item, f"{name}[{i}]") for i, item in enumerate(node)]
    return node


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Decode already-split ``(key, value)`` pairs into a nested structure."""
    if len(pairs) > MAX_PARAMS:
        raise FormError("Too many parameters.", param="")
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split(key)
        node: Any = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            name = parts[0] + "".join(f"[{p}]" for p in parts[1 : depth + 1])
            if isinstance(node, list):
                if part != "":  # pragma: no cover - lists are only created by "[]"
                    raise FormError(f"Invalid array parameter {name}.", param=name)
                if last:
                    node.append(value)
                    break
                child: Any = {}
                node.append(child)
                node = child
                continue
            if part == "":
                raise FormError(f"Invalid parameter name: {key}", param=key)
            nxt = parts[depth + 1] if not last else None
            if last:
                if part in node and isinstance(node[part], dict | list):
                    raise FormError(
                        f"Parameter {name} is given both as a value and as an object.", param=name
                    )
                node[part] = value
                break
            want: Any = [] if nxt == "" else {}
            existing = node.get(part)
            if existing is None:
                node[part] = want
            elif not isinstance(existing, type(want)):
                raise FormError(
                    f"Parameter {name} is given both as a value and as an object.", param=name
                )
            node = node[part]
    # Only nested objects become lists: the body itself is always an object, even when
    # every top-level name is a number ("0=x").
    return {key: _listify(value, key) for key, value in root.items()}


def decode_body(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormError("The request body is not valid UTF-8.", param="") from exc
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_PARAMS + 1)
    except ValueError as exc:  # more than max_num_fields
        raise FormError("Too many parameters.", param="") from exc
    return decode(pairs)


def nul_parameter(params: Any, name: str = "") -> str | None:
    """The first parameter whose name or value holds a NUL character, or None.

    PostgreSQL's text cannot store NUL, and no legitimate field needs one: such input is
    refused up front, by name, rather than failing at the database as a server error.
    """
    if isinstance(params, str):
        return name if "\x00" in params else None
    if isinstance(params, dict):
        for key, value in params.items():
            child = f"{name}[{key}]" if name else str(key)
            if "\x00" in str(key):
                return child
            found = nul_parameter(value, child)
            if found is not None:
                return found
    elif isinstance(params, list):
        for index, value in enumerate(params):
            found = nul_parameter(value, f"{name}[{index}]")
            if found is not None:
                return found
    return None


def encode(params: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """The inverse of :func:`decode` (used by tests and by outbound Stripe-style calls)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, dict):
            pairs.extend(encode(value, name))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    pairs.extend(encode(item, f"{name}[{i}]"))
                else:
                    pairs.append((f"{name}[{i}]", _scalar(item)))
        elif value is not None:
            pairs.append((name, _scalar(value)))
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
