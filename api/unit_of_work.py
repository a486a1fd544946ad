"""One request, one transaction: body decoding, authentication, idempotency, commit.

For every authenticated route this middleware

1. reads the body (size-limited) and turns Stripe's form encoding into JSON, so handlers
   declare one typed model for both encodings, and sets aside ``expand[]``;
2. authenticates the key, records the acting :class:`~api.auth.Principal` and takes a
   token from the key's rate-limit bucket (:mod:`api.rate_limit`; 429 when it is empty);
3. waits for one of the process's ``CORRIDOR_TRANSACTIONS_PER_WORKER`` admissions
   (arrival order), so no more transactions run at once than the CPU can move along
   (routes with ``opt={"admission": False}``, the probes, do not wait);
4. claims the ``Idempotency-Key`` of a POST (or replays / refuses it);
5. opens the request's session, runs the handler, and then commits the business change
   and the stored idempotent response together, or rolls both back.

The response is held until the commit succeeds, so a client never sees a success that
was not durably applied; a transaction that loses a race (deadlock, serialization
failure, a busy SQLite) is rolled back and the request runs again, a bounded number of
times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl

import anyio
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.orm import Session

from api import forms, idempotency, metrics, rate_limit
from api.auth import Principal, authenticate_request, is_public, remembered_principal
from api.errors import ApiError, Conflict, IdempotencyError, InvalidRequest
from core.database import Database, is_retryable
from core.events import current_request
from core.ids import new_id
from core.settings import Settings

MAX_BODY = 1024 * 1024
MAX_UPLOAD = 32 * 1024 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ATTEMPTS = 5


@dataclass
class Response:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    async def collect(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    async def send_to(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": bytes(self.body)})


def error(api_error: ApiError) -> Response:
    body = json.dumps(api_error.body(), separators=(",", ":")).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in api_error.headers.items()
    ]
    return Response(api_error.status, headers, bytearray(body))


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


async def _read_body(receive: Receive, limit: int) -> bytes:
    chunks = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.extend(message.get("body", b""))
        if len(chunks) > limit:
            raise InvalidRequest("The request body is too large.", status=413)
        if not message.get("more_body"):
            break
    return bytes(chunks)


def _refuse_nul_in_query(scope: Scope) -> None:
    query = scope.get("query_string", b"")
    if b"%00" not in query and b"\x00" not in query:
        return
    pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
    refused = forms.nul_parameter({key: value for key, value in pairs})
    if refused is not None:
        raise InvalidRequest(f"{refused} must not contain NUL characters.", param=refused)


def normalise_body(scope: Scope, raw: bytes) -> tuple[bytes, Any]:
    """Return the body handlers parse and the parameters idempotency compares.

    Form and JSON bodies both become JSON (``expand`` removed into ``state["expand"]``);
    multipart uploads pass through and are compared by their hash.
    """
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type.startswith("multipart/"):
        return raw, {"sha256": hashlib.sha256(raw).hexdigest()}
    if not raw.strip():
        params: Any = {}
    elif content_type in ("application/x-www-form-urlencoded", ""):
        try:
            params = forms.decode_body(raw)
        except forms.FormError as exc:
            raise InvalidRequest(str(exc), param=exc.param or None) from exc
    elif content_type == "application/json" or content_type.endswith("+json"):
        try:
            params = json.loads(raw)
        except ValueError as exc:
            raise InvalidRequest("Invalid JSON in the request body.") from exc
        if not isinstance(params, dict):
            raise InvalidRequest("The request body must be a JSON object.")
    else:
        raise InvalidRequest(
            "Unsupported media type: send application/x-www-form-urlencoded or application/json.",
            status=415,
        )
    refused = forms.nul_parameter(params)
    if refused is not None:
        raise InvalidRequest(
            f"{refused or 'A parameter'} must not contain NUL characters.", param=refused or None
        )
    expand = params.pop("expand", None)
    scope["state"]["expand"] = expand if isinstance(expand, list) else []
    body = json.dumps(params, separators=(",", ":")).encode()
    headers = [
        (k, v) for k, v in scope["headers"] if k.lower() not in (b"content-type", b"content-length")
    ]
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
    ]
    scope["headers"] = headers
    return body, params


def _replay(outcome: idempotency.Replay) -> Response:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in outcome.headers]
    headers += [
        (b"content-length", str(len(outcome.body)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    if outcome.request_id:
        headers.append((b"original-request", outcome.request_id.encode()))
    return Response(outcome.status, headers, bytearray(outcome.body))


def _idempotency_refusal(outcome: idempotency.Outcome, key: str) -> Response | None:
    if isinstance(outcome, idempotency.Replay):
        return _replay(outcome)
    if isinstance(outcome, idempotency.Mismatch):
        return error(
            IdempotencyError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request.",
                param="Idempotency-Key",
            )
        )
    if isinstance(outcome, idempotency.InFlight):
        return error(
            Conflict(
                f"There is currently another in-progress request using this Idempotency-Key "
                f"'{key}'; retry after it completes.",
                code="idempotency_key_in_use",
            )
        )
    return None


def _close(session: Session, *, commit: bool) -> None:
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def _commit_with_record(
    session: Session,
    claim: idempotency.Claimed | None,
    response: Response,
    request_id: str,
    *,
    keep: bool,
) -> None:
    if keep and claim:
        stored = [
            [k.decode("latin-1"), v.decode("latin-1")]
            for k, v in response.headers
            if k.lower() == b"content-type"
        ]
        try:
            idempotency.complete(
                session, claim, response.status, stored, bytes(response.body), request_id
            )
        except idempotency.LeaseLost:
            _close(session, commit=False)
            raise
    _close(session, commit=keep)


def _hold(session: Session, claim: idempotency.Claimed) -> None:
    try:
        idempotency.hold(session, claim)
    except BaseException:
        _close(session, commit=False)
        raise


def _taken_over(key: str | None) -> Response:
    """This request outlived its claim and another took the key: it applied nothing."""
    return error(
        Conflict(
            f"Another request with this Idempotency-Key '{key}' took over while this one "
            "was still running; this one was rolled back. Retry to get the outcome.",
            code="idempotency_key_in_use",
        )
    )


class UnitOfWorkMiddleware(ASGIMiddleware):
    scopes = (ScopeType.HTTP,)

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.idempotency_ttl = dt.timedelta(seconds=settings.idempotency_ttl_seconds)
        self.rate_limiter = rate_limit.from_settings(settings)
        # Admission: a process that runs more transactions at once than it has CPU for
        # only stretches each one, and with it every row lock it holds (a merchant's
        # balance, the audit chain's head), so concurrent payments queue on those locks
        # instead. Waiting here, on the event loop and in arrival order, costs nothing.
        self.admission = anyio.Semaphore(max(1, settings.transactions_per_worker))

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path = scope["path"]
        if path == "/schema" or path.startswith("/schema/"):
            await next_app(scope, receive, send)
            return
        opt = getattr(scope.get("route_handler"), "opt", None) or {}
        public = is_public(path, opt)
        scope.setdefault("state", {}).setdefault("request_id", new_id("req", 14))
        try:
            _refuse_nul_in_query(scope)
            raw = await _read_body(receive, MAX_UPLOAD if opt.get("upload") else MAX_BODY)
            if opt.get("raw_body"):
                body, params = raw, {"sha256": hashlib.sha256(raw).hexdigest()}
            else:
                body, params = normalise_body(scope, raw)
            principal = None
            if not public:
                principal = remembered_principal(scope.get("headers", [])) or (
                    await anyio.to_thread.run_sync(self._authenticate, scope)
                )
            if principal is not None and self.rate_limiter is not None:
                await self.rate_limiter.admit(principal.key_id, principal.role)
        except ApiError as api_error:
            await error(api_error).send_to(send)
            return
        scope["state"]["principal"] = principal
        scope["state"]["params"] = params

        key = _header(scope, b"idempotency-key") if scope["method"] == "POST" else None
        if (
            key is not None
            and principal is not None
            and not 0 < len(key) <= idempotency.MAX_KEY_LENGTH
        ):
            message = "Idempotency-Key must be 1 to 255 characters."
            await error(InvalidRequest(message, param="Idempotency-Key")).send_to(send)
            return
        # /health and /metrics (admission=False): probes must not queue behind payments.
        admitted = self._admitted() if opt.get("admission", True) else nullcontext()
        async with admitted:
            response = await self._claim_and_run(scope, body, params, principal, key, next_app)
        await response.send_to(send)

    @asynccontextmanager
    async def _admitted(self) -> AsyncIterator[None]:
        """Hold one of this process's admissions, counting the wait for it."""
        started = time.perf_counter()
        metrics.ADMISSION_WAITING.inc()
        try:
            await self.admission.acquire()
        finally:
            metrics.ADMISSION_WAITING.dec()
        metrics.ADMISSION_WAIT.observe(time.perf_counter() - started)
        try:
            yield
        finally:
            self.admission.release()

    async def _claim_and_run(
        self,
        scope: Scope,
        body: bytes,
        params: Any,
        principal: Principal | None,
        key: str | None,
        next_app: ASGIApp,
    ) -> Response:
        """Claim the Idempotency-Key (or answer from it), then run the request."""
        claim: idempotency.Claimed | None = None
        begun: Session | None = None
        if key is not None and principal is not None:
            fingerprint = idempotency.fingerprint(scope["method"], scope["path"], params)
            outcome, begun = await anyio.to_thread.run_sync(
                self._claim, principal, key, fingerprint
            )
            refusal = _idempotency_refusal(outcome, key)
            if refusal is not None:
                return refusal
            assert isinstance(outcome, idempotency.Claimed)
            claim = outcome
        try:
            return await self._run(scope, body, claim, next_app, begun)
        except BaseException:
            if claim:
                await anyio.to_thread.run_sync(self._release, claim)
            raise

    async def _run(
        self,
        scope: Scope,
        body: bytes,
        claim: idempotency.Claimed | None,
        next_app: ASGIApp,
        begun: Session | None,
    ) -> Response:
        """Run the handler in a transaction; run it again if the transaction lost a race.

        ``begun`` is the first attempt's session when the claim already opened it."""
        state = scope["state"]
        write = scope["method"] in WRITE_METHODS
        for attempt in range(1, ATTEMPTS + 1):
            # A read that turned out to write (a GET touching a session, say) and lost the
            # race on SQLite runs again as a writer, which queues on the lock instead.
            write = write or attempt > 1
            state.pop("exception", None)
            state.pop("keep_changes", None)
            if attempt == 1 and begun is not None:
                session = begun
            else:
                try:
                    session = await anyio.to_thread.run_sync(
                        partial(self._begin, claim, write=write)
                    )
                except idempotency.LeaseLost:
                    return _taken_over(_header(scope, b"idempotency-key"))
            current_request.set((state.get("request_id"), _header(scope, b"idempotency-key")))
            state["session"] = session
            response = Response()
            try:
                await next_app(scope, _replaying(body), response.collect)
            except BaseException:
                await anyio.to_thread.run_sync(partial(_close, session, commit=False))
                raise
            failure = state.get("exception")
            if failure is not None and is_retryable(failure) and attempt < ATTEMPTS:
                await anyio.to_thread.run_sync(partial(_close, session, commit=False))
                continue
            keep = response.status < 400 or bool(state.get("keep_changes"))
            request_id = state.get("request_id", "")
            try:
                await anyio.to_thread.run_sync(
                    partial(_commit_with_record, session, claim, response, request_id, keep=keep)
                )
            except idempotency.LeaseLost:
                return _taken_over(_header(scope, b"idempotency-key"))
            except Exception as exc:
                if is_retryable(exc) and attempt < ATTEMPTS:
                    continue
                raise
            if not keep and claim:
                await anyio.to_thread.run_sync(self._release, claim)
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _begin(self, claim: idempotency.Claimed | None, *, write: bool) -> Session:
        """The request's session, holding its claim if it has one (one thread hop)."""
        session = self.db.session(write=write)
        if claim is not None:
            _hold(session, claim)
        return session

    def _authenticate(self, scope: Scope) -> Principal:
        with self.db.transaction(write=False) as session:
            return authenticate_request(session, scope.get("headers", []))

    def _claim(
        self, principal: Principal, key: str, fingerprint: str
    ) -> tuple[idempotency.Outcome, Session | None]:
        """Claim the key (its own transaction) and, once claimed, begin the request's
        session holding it: one thread hop for both."""
        outcome = self.db.run(
            lambda s: idempotency.claim(
                s, principal.idempotency_scope, key, fingerprint, self.idempotency_ttl
            )
        )
        if not isinstance(outcome, idempotency.Claimed):
            return outcome, None
        try:
            return outcome, self._begin(outcome, write=True)
        except idempotency.LeaseLost:
            return outcome, None  # taken over already: the first attempt finds out again

    def _release(self, claim: idempotency.Claimed) -> None:
        self.db.run(lambda s: idempotency.release(s, claim))


def _replaying(body: bytes) -> Receive:
    """The buffered body, once; after that, wait (as a live client would) rather than
    report a disconnect, which would make streaming responses stop at once."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            await anyio.sleep_forever()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
