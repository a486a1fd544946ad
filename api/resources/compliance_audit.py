"""``/v1/compliance/audit_log``: the tamper-evident audit trail, and its verification.

Entries are listed newest first; each carries its place in the chain (``sequence``,
``prev_hash``, ``hash``) and the server's Ed25519 signature, so an auditor can re-check
the chain offline. ``GET /v1/compliance/audit_log/verify`` walks the whole chain with the
server's key and reports the first entry that was edited, removed or reordered.
An entry's id is ``aud_<sequence>``.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import get
from litestar.params import QueryParameter

from api.auth import ADMIN, COMPLIANCE, roles
from api.context import SessionDep
from api.envelope import timestamp
from api.errors import InvalidRequest
from api.pagination import PAGE, PageDep, list_object
from compliance import audit
from compliance.audit import AuditEntry

ID_PREFIX = "aud_"


def render(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": f"{ID_PREFIX}{entry.sequence}",
        "object": "audit_log_entry",
        "sequence": entry.sequence,
        "created": timestamp(entry.ts),
        "timestamp": entry.ts.isoformat(timespec="microseconds"),
        "livemode": False,
        "actor": entry.actor,
        "action": entry.action,
        "ref": entry.ref,
        "payload": entry.payload,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
        "key_id": entry.key_id,
        "signature": entry.signature,
    }


def _sequence(cursor: str, param: str) -> int:
    number = cursor.removeprefix(ID_PREFIX)
    if not cursor.startswith(ID_PREFIX) or not number.isdigit():
        raise InvalidRequest(
            f"No such audit_log_entry: '{cursor}'", param=param, code="resource_missing"
        )
    return int(number)


@get(
    "/v1/compliance/audit_log",
    sync_to_thread=True,
    dependencies=PAGE,
    opt=roles(COMPLIANCE, ADMIN),
)
def list_audit_log(
    session: SessionDep,
    page: PageDep,
    action: Annotated[str | None, QueryParameter(max_length=100)] = None,
    ref: Annotated[str | None, QueryParameter(max_length=200)] = None,
) -> dict[str, Any]:
    """Entries newest first, by ``action`` (``review.approved``) or ``ref`` (an object id)."""
    entries = audit.list_entries(
        session,
        limit=page.limit + 1,
        starting_after=(
            _sequence(page.starting_after, "starting_after") if page.starting_after else None
        ),
        ending_before=(
            _sequence(page.ending_before, "ending_before") if page.ending_before else None
        ),
        action=action,
        ref=ref,
    )
    has_more = len(entries) > page.limit
    # ``ending_before`` returns the entries just newer than the cursor, newest first: the
    # extra one fetched to detect more is then the newest, at the front.
    shown = entries[-page.limit :] if page.ending_before else entries[: page.limit]
    return list_object("/v1/compliance/audit_log", [render(e) for e in shown], has_more)


@get("/v1/compliance/audit_log/verify", sync_to_thread=True, opt=roles(COMPLIANCE, ADMIN))
def verify_audit_log(session: SessionDep) -> dict[str, Any]:
    """Walk the chain: every hash, every link, every signature, and the head."""
    result = audit.verify(session)
    return {
        "object": "audit_log_verification",
        "ok": result.ok,
        "entries_checked": result.entries_checked,
        "head_sequence": result.head_sequence,
        "head_hash": result.head_hash,
        "first_bad_sequence": result.first_bad_sequence,
        "problem": result.problem,
    }


ROUTES = [list_audit_log, verify_audit_log]
