"""What ``/schema/openapi.json`` promises clients, beyond what Litestar infers from types.

Litestar documents a route's success type and, for routes that validate input, its own
``{"status_code", "detail"}`` validation body. Corridor never answers with that body: every
failure is Stripe's envelope (:mod:`api.errors`). A generated client, a contract test
(schemathesis) or a reader of the document would otherwise be told something false. So,
once all routes are registered, this module rewrites the built document:

* every operation lists the error statuses the service can answer with (400, 401, 402,
  403, 404, 409, 413, 415, 429, 500, 503), each as the shared ``Error`` envelope schema
  (429 also documents ``Retry-After``);
* authenticated ``/v1`` JSON routes answer with a Stripe object (``object`` names its
  kind), and list routes (those taking ``limit``) with Stripe's list envelope;
* a route that answers in several media types declares them in its options as
  ``opt={"media_types": (...)}`` (receipts: text, HTML, PDF) and they are listed.

:class:`OpenAPIContract` is the Litestar plugin that applies this at startup;
:func:`refine` applies it to a built app directly (idempotent).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)
from litestar.plugins import InitPluginProtocol

ERROR_STATUSES: dict[int, str] = {
    400: "Invalid request: a parameter is missing, malformed or not allowed.",
    401: "No valid API key was provided.",
    402: "The card was declined (card_error).",
    403: "The key's role or account may not use this route or object.",
    404: "The object or the URL does not exist (resource_missing).",
    409: "Idempotency-Key in use by a request still in flight, or a conflicting change.",
    413: "The request body is too large.",
    415: "Unsupported media type: send form encoding or JSON.",
    429: "Too many requests for this key (code rate_limit); retry after Retry-After seconds.",
    500: "Internal error (api_error); nothing was applied and the request is safe to retry.",
    503: "A dependency (a payment processor, the database) did not answer; safe to retry.",
}

ERROR_TYPES = [
    "api_error",
    "card_error",
    "idempotency_error",
    "invalid_request_error",
    "rate_limit_error",
]

_STRING = Schema(type=OpenAPIType.STRING)

ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["error"],
    description="Stripe's error envelope.",
    properties={
        "error": Schema(
            type=OpenAPIType.OBJECT,
            required=["type", "message"],
            properties={
                "type": Schema(type=OpenAPIType.STRING, enum=ERROR_TYPES),
                "message": _STRING,
                "code": _STRING,
                "param": _STRING,
                "decline_code": _STRING,
            },
            additional_properties=True,
        )
    },
)

OBJECT_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["object"],
    description="A Stripe-shaped object; ``object`` names its kind.",
    properties={"object": _STRING, "id": _STRING},
    additional_properties=True,
)

LIST_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["object", "data", "has_more", "url"],
    description="Stripe's list envelope, newest first.",
    properties={
        "object": Schema(type=OpenAPIType.STRING, const="list"),
        "data": Schema(type=OpenAPIType.ARRAY, items=OBJECT_SCHEMA),
        "has_more": Schema(type=OpenAPIType.BOOLEAN),
        "url": _STRING,
    },
    additional_properties=True,
)

_ERROR_REF = Reference(ref="#/components/schemas/Error")
_JSON = "application/json"


def _operations(openapi: OpenAPI) -> Iterator[tuple[str, str, Operation]]:
    for path, item in (openapi.paths or {}).items():
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is not None:
                yield method, path, operation


def _error_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    if status == 429:
        headers = {
            "Retry-After": OpenAPIHeader(
                schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
                description="Seconds until the key's bucket holds a token again.",
            )
        }
    return OpenAPIResponse(
        description=ERROR_STATUSES[status],
        headers=headers,
        content={_JSON: OpenAPIMediaType(schema=_ERROR_REF)},
    )


def _is_list(operation: Operation) -> bool:
    names = {
        getattr(parameter, "name", None) for parameter in operation.parameters or [] if parameter
    }
    return {"limit", "starting_after", "ending_before"} <= names


def _success(operation: Operation) -> OpenAPIResponse | None:
    for status, response in (operation.responses or {}).items():
        if status.startswith("2") and isinstance(response, OpenAPIResponse):
            return response
    return None


def _refine_operation(operation: Operation, path: str, opt: dict[str, Any]) -> None:
    responses = operation.responses if operation.responses is not None else {}
    operation.responses = responses
    for status in ERROR_STATUSES:
        responses[str(status)] = _error_response(status)
    response = _success(operation)
    if response is None:
        return
    media_types = opt.get("media_types")
    if media_types:
        response.content = {
            media_type.split(";")[0].strip(): OpenAPIMediaType(schema=Schema())
            for media_type in media_types
        }
        return
    authenticated = bool(opt.get("roles")) and not opt.get("public")
    if not (authenticated and path.startswith("/v1/") and response.content):
        return
    if _JSON in response.content:
        schema = LIST_SCHEMA if _is_list(operation) else OBJECT_SCHEMA
        response.content[_JSON] = OpenAPIMediaType(schema=schema)


def route_options(app: Litestar) -> dict[tuple[str, str], dict[str, Any]]:
    """``(method, path)`` -> the route handler's merged options (roles, public, media_types)."""
    options: dict[tuple[str, str], dict[str, Any]] = {}
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in getattr(handler, "http_methods", ()):
                options[(method.lower(), route.path_format or "/")] = dict(handler.opt or {})
    return options


def refine_document(openapi: OpenAPI, options: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Apply the contract to a built document (see the module docstring)."""
    components = openapi.components
    schemas = dict(components.schemas or {})
    if schemas.get("Error") is ERROR_SCHEMA:
        return  # already refined
    schemas["Error"] = ERROR_SCHEMA
    components.schemas = schemas
    for method, path, operation in _operations(openapi):
        _refine_operation(operation, path, options.get((method, path), {}))


def refine(app: Litestar) -> None:
    """Refine ``app``'s OpenAPI document in place; call after the last route is registered."""
    from litestar._openapi.plugin import OpenAPIPlugin

    plugin = app.plugins.get(OpenAPIPlugin)
    refine_document(app.openapi_schema, route_options(app))
    plugin._openapi_schema = None  # the cached JSON form is rebuilt from the refined document


class OpenAPIContract(InitPluginProtocol):
    """``Litestar(plugins=[OpenAPIContract()])``: refine the document when the app starts."""

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.on_startup = [*app_config.on_startup, refine]
        return app_config


__all__ = ["ERROR_SCHEMA", "ERROR_STATUSES", "OpenAPIContract", "refine", "refine_document"]
