"""``/v1/events`` and ``/v1/webhook_endpoints``: what happened, and where to send it."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import ADMIN, FINANCE, MERCHANT, Principal, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Metadata, Request, ShortText, merge_metadata
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_of, owned
from core.events import Event, render
from core.keyring import Keyring
from core.settings import get_settings
from payments.webhooks import (
    EndpointError,
    WebhookEndpoint,
    create_endpoint,
    render_endpoint,
    validate_url,
)

Url = Annotated[str, msgspec.Meta(min_length=8, max_length=2048)]
EventTypes = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=1, max_length=80)]], msgspec.Meta(max_length=100)
]


@translate(EndpointError)
def _endpoint_error(exc: EndpointError) -> InvalidRequest:
    return InvalidRequest(str(exc), param=exc.param)


class EndpointCreate(Request):
    url: Url
    enabled_events: EventTypes
    description: ShortText | None = None
    metadata: Metadata | None = None
    api_version: str | None = None
    connect: bool | None = None


class EndpointUpdate(Request):
    url: Url | None = None
    enabled_events: EventTypes | None = None
    description: ShortText | None = None
    disabled: bool | None = None
    metadata: Metadata | None = None


def _visible_event(principal: Principal, event: Event) -> bool:
    return principal.owns(event.account_id)


class EventController(Controller):
    path = "/v1/events"
    opt = roles(MERCHANT, FINANCE, ADMIN)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        type_: Annotated[str | None, QueryParameter(name="type", max_length=80)] = None,
    ) -> dict[str, Any]:
        where = owned(Event.account_id, principal)
        if type_:
            where.append(Event.type == type_)
        return list_of(
            session,
            Event,
            page,
            "/v1/events",
            render,
            where=where,
            cursor_visible=lambda e: _visible_event(principal, e),
        )

    @get("/{event_id:str}", sync_to_thread=True)
    def retrieve(
        self, event_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        event = session.get(Event, event_id)
        if event is None or not _visible_event(principal, event):
            raise NotFound("event", event_id)
        return render(event)


def _find_endpoint(session: Any, principal: Principal, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.deleted or endpoint.account_id != principal.account_id:
        raise NotFound("webhook endpoint", endpoint_id)
    return endpoint


class WebhookEndpointController(Controller):
    """A merchant's endpoints; a platform key without Stripe-Account manages platform ones."""

    path = "/v1/webhook_endpoints"
    opt = roles(MERCHANT, ADMIN)

    @post("/", status_code=200, sync_to_thread=True)
    def create(
        self, data: JSONBody[EndpointCreate], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        endpoint, secret = create_endpoint(
            session,
            Keyring.from_settings(get_settings()),
            account_id=principal.account_id,
            url=data.url,
            enabled_events=data.enabled_events,
            description=data.description,
            metadata=data.metadata,
        )
        return render_endpoint(endpoint, secret)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(self, session: SessionDep, principal: PrincipalDep, page: PageDep) -> dict[str, Any]:
        owner = (
            WebhookEndpoint.account_id.is_(None)
            if principal.account_id is None
            else WebhookEndpoint.account_id == principal.account_id
        )
        return list_of(
            session,
            WebhookEndpoint,
            page,
            "/v1/webhook_endpoints",
            render_endpoint,
            where=[owner, WebhookEndpoint.deleted.is_(False)],
            cursor_visible=lambda e: e.account_id == principal.account_id and not e.deleted,
        )

    @get("/{endpoint_id:str}", sync_to_thread=True)
    def retrieve(
        self, endpoint_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        return render_endpoint(_find_endpoint(session, principal, endpoint_id))

    @post("/{endpoint_id:str}", status_code=200, sync_to_thread=True)
    def update(
        self,
        endpoint_id: FromPath[str],
        data: JSONBody[EndpointUpdate],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        endpoint = _find_endpoint(session, principal, endpoint_id)
        if data.url is not None:
            endpoint.url = validate_url(
                data.url, allow_private=get_settings().webhook_allow_private
            )
        if data.enabled_events is not None:
            if not data.enabled_events:
                raise InvalidRequest("enabled_events must not be empty.", param="enabled_events")
            endpoint.enabled_events = list(dict.fromkeys(data.enabled_events))
        if data.description is not None:
            endpoint.description = data.description
        if data.disabled is not None:
            endpoint.status = "disabled" if data.disabled else "enabled"
        endpoint.metadata_ = merge_metadata(endpoint.metadata_, data.metadata)
        session.flush()
        return render_endpoint(endpoint)

    @delete("/{endpoint_id:str}", status_code=200, sync_to_thread=True)
    def remove(
        self, endpoint_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        endpoint = _find_endpoint(session, principal, endpoint_id)
        endpoint.deleted = True
        session.flush()
        return {"id": endpoint.id, "object": "webhook_endpoint", "deleted": True}
