"""``/v1/reviews``: Stripe's Review objects, plus Corridor's case work on them.

A review is the case compliance opened for a held payment intent or payout (or, after a
list re-screen, for a merchant account). The object has Stripe's fields (``open``,
``reason``, ``opened_reason``, ``closed_reason``, ``payment_intent``, ``charge``,
``ip_address`` ...) so the official SDKs read it, plus what an officer decides on: the
rule hits, the sanctions matches and their resolutions, the counterparty data, the
assignee and the history.

Only ``compliance`` and ``admin`` keys see reviews. A merchant key is answered as if no
review existed (404): merchants learn only that their intent is in review, from the
intent's ``status`` and ``review`` id, never why (no tipping off).

Approving is refused while a sanctions match on the case is unresolved; the officer first
records each as a false positive, with a note
(``POST /v1/reviews/{id}/matches/{match}/false_positive``), or rejects the case.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from sqlalchemy.orm import Session

from api.auth import ADMIN, COMPLIANCE, MERCHANT, Principal, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Request, ShortText, timestamp
from api.errors import InvalidRequest, NotFound, translate
from api.pagination import PAGE, PageDep, list_object
from api.review_outcomes import carry_out
from compliance import reviews
from compliance.reviews import Review, ReviewError, ReviewEvent, ReviewNotFound, ReviewOutcome
from payments.intents import PaymentIntent

Note = Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]

_ERROR_PARAMS = {
    "note_required": "note",
    "match_not_found": "match",
    "match_confirmed": "match",
    "actor_required": None,
}


@translate(ReviewError)
def _review_error(exc: ReviewError) -> InvalidRequest:
    return InvalidRequest(str(exc), code=exc.code, param=_ERROR_PARAMS.get(exc.code))


class ReviewApprove(Request):
    note: Note | None = None


class ReviewReject(Request):
    note: Note


class ReviewEscalate(Request):
    note: Note
    assignee: ShortText | None = None


class ReviewNoteCreate(Request):
    note: Note


class ReviewAssign(Request):
    assignee: ShortText | None = None
    """An officer's name or id; empty or absent unassigns."""


class MatchResolve(Request):
    note: Note


def _event(event: ReviewEvent) -> dict[str, Any]:
    return {
        "action": event.action,
        "actor": event.actor,
        "note": event.note,
        "data": event.data,
        "created": timestamp(event.created),
    }


def render(session: Session, review: Review) -> dict[str, Any]:
    ctx = review.counterparty
    intent_id = review.object_id if review.object_type == "payment_intent" else None
    charge = None
    if intent_id is not None:
        intent = session.get(PaymentIntent, intent_id)
        charge = intent.latest_charge_id if intent is not None else None
    ip_country = ctx.get("ip_country")
    return {
        "id": review.id,
        "object": "review",
        "billing_zip": None,
        "charge": charge,
        "closed_reason": review.closed_reason,
        "created": timestamp(review.opened_at),
        "ip_address": ctx.get("ip"),
        "ip_address_location": (
            {"city": None, "country": ip_country, "latitude": None, "longitude": None}
            if ip_country
            else None
        ),
        "livemode": False,
        "open": review.open,
        "opened_reason": review.opened_reason,
        "payment_intent": intent_id,
        "reason": review.reason,
        "session": None,
        # Corridor's case data (compliance eyes only).
        "status": review.status.value,
        "payout": review.object_id if review.object_type == "payout" else None,
        "held_object": {"type": review.object_type, "id": review.object_id},
        "account": review.account_id,
        "decision": review.decision,
        "score": review.score,
        "rule_hits": review.rule_hits,
        "screening_matches": [m.to_dict() for m in review.screening_matches],
        "unresolved_matches": [m.key for m in review.unresolved_matches],
        "counterparty": ctx,
        "assignee": review.assignee,
        "updated": timestamp(review.updated_at),
        "closed": timestamp(review.closed_at),
        "history": [_event(e) for e in reviews.history(session, review.id)],
    }


def _hidden_from(principal: Principal) -> bool:
    return principal.role == MERCHANT


def _get(session: Session, principal: Principal, review_id: str) -> Review:
    if _hidden_from(principal):
        raise NotFound("review", review_id)
    try:
        review = reviews.get_review(session, review_id)
    except ReviewNotFound:
        raise NotFound("review", review_id) from None
    if not principal.owns(review.account_id):
        raise NotFound("review", review_id)
    return review


def _actor(principal: Principal) -> str:
    return principal.key_id


def _decided(session: Session, outcome: ReviewOutcome) -> dict[str, Any]:
    effect = carry_out(session, outcome)
    body = render(session, outcome.review)
    body["held_object"].update(status=effect.status, changed=effect.changed)
    return body


class ReviewController(Controller):
    path = "/v1/reviews"
    opt = roles(MERCHANT, COMPLIANCE, ADMIN)

    @get("/", sync_to_thread=True, dependencies=PAGE)
    def index(
        self,
        session: SessionDep,
        principal: PrincipalDep,
        page: PageDep,
        status: Annotated[
            str | None,
            QueryParameter(pattern="^(open|escalated|approved|rejected|closed)$"),
        ] = None,
        open: FromQuery[bool | None] = None,
        payment_intent: Annotated[str | None, QueryParameter(max_length=80)] = None,
        payout: Annotated[str | None, QueryParameter(max_length=80)] = None,
        assignee: Annotated[str | None, QueryParameter(max_length=200)] = None,
    ) -> dict[str, Any]:
        if _hidden_from(principal):
            raise InvalidRequest("Unrecognized request URL.", status=404, code="resource_missing")
        if open is False:
            raise InvalidRequest(
                "open=false is not a filter: use status=approved, rejected or closed.",
                param="open",
            )
        try:
            found, has_more = reviews.list_reviews(
                session,
                status=status,
                open_only=bool(open),
                account_id=principal.account_id,
                object_id=payment_intent or payout,
                assignee=assignee,
                limit=page.limit,
                starting_after=page.starting_after,
                ending_before=page.ending_before,
            )
        except ReviewNotFound:
            param = "starting_after" if page.starting_after else "ending_before"
            cursor = page.starting_after or page.ending_before
            raise InvalidRequest(
                f"No such review: '{cursor}'", param=param, code="resource_missing"
            ) from None
        return list_object("/v1/reviews", [render(session, r) for r in found], has_more)

    @get("/{review_id:str}", sync_to_thread=True)
    def retrieve(
        self, review_id: FromPath[str], session: SessionDep, principal: PrincipalDep
    ) -> dict[str, Any]:
        return render(session, _get(session, principal, review_id))

    @post("/{review_id:str}/approve", status_code=200, sync_to_thread=True)
    def approve(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewApprove],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        """Approve: the held payment continues to authorisation (or the payout is sent)."""
        _get(session, principal, review_id)
        outcome = reviews.approve(session, review_id, actor=_actor(principal), note=data.note)
        return _decided(session, outcome)

    @post("/{review_id:str}/reject", status_code=200, sync_to_thread=True)
    def reject(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewReject],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        """Reject (a note is required): the held payment or payout is canceled."""
        _get(session, principal, review_id)
        outcome = reviews.reject(session, review_id, actor=_actor(principal), note=data.note)
        return _decided(session, outcome)

    @post("/{review_id:str}/escalate", status_code=200, sync_to_thread=True)
    def escalate(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewEscalate],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        _get(session, principal, review_id)
        outcome = reviews.escalate(
            session, review_id, actor=_actor(principal), note=data.note, assignee=data.assignee
        )
        return render(session, outcome.review)

    @post("/{review_id:str}/notes", status_code=200, sync_to_thread=True)
    def add_note(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewNoteCreate],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        _get(session, principal, review_id)
        outcome = reviews.add_note(session, review_id, actor=_actor(principal), note=data.note)
        return render(session, outcome.review)

    @post("/{review_id:str}/assign", status_code=200, sync_to_thread=True)
    def assign(
        self,
        review_id: FromPath[str],
        data: JSONBody[ReviewAssign],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        _get(session, principal, review_id)
        outcome = reviews.assign(
            session, review_id, actor=_actor(principal), assignee=data.assignee
        )
        return render(session, outcome.review)

    @post(
        "/{review_id:str}/matches/{match:str}/false_positive", status_code=200, sync_to_thread=True
    )
    def false_positive(
        self,
        review_id: FromPath[str],
        match: FromPath[str],
        data: JSONBody[MatchResolve],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        """Record sanctions match ``match`` (``party:list:entry_id``) as a false positive."""
        _get(session, principal, review_id)
        outcome = reviews.mark_false_positive(
            session, review_id, actor=_actor(principal), match=match, note=data.note
        )
        return render(session, outcome.review)

    @post("/{review_id:str}/matches/{match:str}/true_match", status_code=200, sync_to_thread=True)
    def true_match(
        self,
        review_id: FromPath[str],
        match: FromPath[str],
        data: JSONBody[MatchResolve],
        session: SessionDep,
        principal: PrincipalDep,
    ) -> dict[str, Any]:
        """Confirm a sanctions match: the case can then only be rejected."""
        _get(session, principal, review_id)
        outcome = reviews.confirm_match(
            session, review_id, actor=_actor(principal), match=match, note=data.note
        )
        return render(session, outcome.review)


ROUTES = [ReviewController]
