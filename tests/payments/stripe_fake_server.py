"""A local HTTP server that answers like Stripe's API, for the Stripe adapter's tests.

It implements the handful of endpoints the adapter calls (create/retrieve/capture/
cancel PaymentIntents, create Refunds) with Stripe's JSON shapes, status codes and
idempotency semantics (same key + same parameters -> the stored response replayed
with ``Idempotent-Replayed: true``; same key + different parameters -> 400
``idempotency_error``), and records every request: method, path, form fields and
``Idempotency-Key``. Tests can make the next request to a path stall past the
client's timeout (the work is done, the answer is late — the case that makes
idempotency keys necessary) or fail with a chosen status.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

# Test cards the fake knows, as Stripe behaves for them in test mode.
_DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_visa_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", None, "Your card has expired."),
    "4000000000000002": ("card_declined", "generic_decline", "Your card was declined."),
    "4000000000009995": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
}
_THREE_DS = {"pm_card_authenticationRequired", "pm_card_threeDSecure2Required", "4000002760003184"}


@dataclass
class RecordedRequest:
    method: str
    path: str
    form: dict[str, str]
    idempotency_key: str | None
    headers: dict[str, str]


@dataclass
class _Stored:
    params: list[tuple[str, str]]
    path: str
    status: int
    body: bytes


@dataclass
class FakeStripe:
    requests: list[RecordedRequest] = field(default_factory=list)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    _idempotency: dict[str, _Stored] = field(default_factory=dict)
    _stalls: dict[str, float] = field(default_factory=dict)
    _failures: dict[str, list[tuple[int, dict[str, Any]]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # ------------------------------------------------------------------ control

    def start(self) -> FakeStripe:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stall_next(self, path: str, seconds: float) -> None:
        """Process the next request to ``path`` but answer only after ``seconds``."""
        self._stalls[path] = seconds

    def fail_next(self, path: str, status: int, error: dict[str, Any], times: int = 1) -> None:
        self._failures.setdefault(path, []).extend([(status, error)] * times)

    def complete_three_d_secure(self, intent_id: str, *, passed: bool) -> None:
        """What the customer does on the issuer's page."""
        with self._lock:
            intent = self.intents[intent_id]
            if passed:
                self._authorised(intent)
            else:
                intent["status"] = "requires_payment_method"
                intent["next_action"] = None
                intent["last_payment_error"] = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                }

    def requests_to(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    # ------------------------------------------------------------------ HTTP

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        params = parse_qsl(raw, keep_blank_values=True)
        key = handler.headers.get("Idempotency-Key")
        path = handler.path.split("?")[0]
        with self._lock:
            self.requests.append(
                RecordedRequest(method, path, dict(params), key, dict(handler.headers.items()))
            )
            stall = self._stalls.pop(path, 0.0)
            failures = self._failures.get(path)
            replayed = False
            if failures:
                status, error = failures.pop(0)
                body = json.dumps({"error": error}).encode()
            elif method == "POST" and key and key in self._idempotency:
                stored = self._idempotency[key]
                if stored.params != params or stored.path != path:
                    status, body = (
                        400,
                        json.dumps(
                            {
                                "error": {
                                    "type": "idempotency_error",
                                    "message": "Keys for idempotent requests can only be used with "
                                    "the same parameters they were first used with.",
                                }
                            }
                        ).encode(),
                    )
                else:
                    status, body, replayed = stored.status, stored.body, True
            else:
                status, payload = self._route(method, path, dict(params))
                body = json.dumps(payload).encode()
                if method == "POST" and key and status < 500:
                    self._idempotency[key] = _Stored(params, path, status, body)
        if stall:
            time.sleep(stall)
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(body)))
            handler.send_header("Request-Id", "req_" + secrets.token_hex(7))
            if key:
                handler.send_header("Idempotency-Key", key)
            if replayed:
                handler.send_header("Idempotent-Replayed", "true")
            handler.end_headers()
            handler.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (the stalled case)

    def _route(self, method: str, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        parts = path.strip("/").split("/")
        if parts[:2] == ["v1", "payment_intents"]:
            if len(parts) == 2 and method == "POST":
                return self._create_intent(form)
            intent = self.intents.get(parts[2]) if len(parts) > 2 else None
            if intent is None:
                return 404, _invalid("resource_missing", f"No such payment_intent: '{parts[2]}'")
            if len(parts) == 3 and method == "GET":
                return 200, intent
            if len(parts) == 4 and parts[3] == "capture":
                return self._capture(intent, form)
            if len(parts) == 4 and parts[3] == "cancel":
                return self._cancel(intent)
        if parts == ["v1", "refunds"] and method == "POST":
            return self._refund(form)
        return 404, _invalid("resource_missing", f"Unrecognized request URL ({method}: {path}).")

    # ------------------------------------------------------------------ resources

    def _create_intent(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent_id = "pi_" + secrets.token_hex(12)
        card = form.get("payment_method") or form.get("payment_method_data[card][number]", "")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "capture_method": form.get("capture_method", "automatic"),
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(8)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": form["currency"],
            "description": form.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "next_action": None,
            "payment_method": "pm_" + secrets.token_hex(12),
            "payment_method_types": [
                v for k, v in form.items() if k.startswith("payment_method_types[")
            ],
            "status": "requires_confirmation",
        }
        self.intents[intent_id] = intent
        if form.get("confirm") != "true":
            return 200, intent
        if card in _DECLINES:
            code, decline_code, message = _DECLINES[card]
            charge = "ch_" + secrets.token_hex(12)
            error = {
                "type": "card_error",
                "code": code,
                "decline_code": decline_code,
                "message": message,
                "charge": charge,
                "doc_url": f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}",
            }
            intent["status"] = "requires_payment_method"
            intent["latest_charge"] = charge
            intent["last_payment_error"] = dict(error)
            return 402, {"error": {**error, "payment_intent": intent}}
        if card in _THREE_DS:
            intent["status"] = "requires_action"
            if form.get("return_url"):
                intent["next_action"] = {
                    "type": "redirect_to_url",
                    "redirect_to_url": {
                        "url": f"https://hooks.stripe.com/3d_secure_2/hosted?merchant=acct_x&payment_intent={intent_id}",
                        "return_url": form["return_url"],
                    },
                }
            else:
                intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return 200, intent
        self._authorised(intent)
        return 200, intent

    def _authorised(self, intent: dict[str, Any]) -> None:
        intent["next_action"] = None
        intent["latest_charge"] = "ch_" + secrets.token_hex(12)
        if intent["capture_method"] == "manual":
            intent["status"] = "requires_capture"
            intent["amount_capturable"] = intent["amount"]
        else:
            intent["status"] = "succeeded"
            intent["amount_received"] = intent["amount"]

    def _capture(self, intent: dict[str, Any], form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if intent["status"] != "requires_capture":
            return 400, _invalid(
                "payment_intent_unexpected_state",
                "This PaymentIntent could not be captured because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be captured: requires_capture.",
            )
        amount = int(form.get("amount_to_capture", intent["amount_capturable"]))
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        return 200, intent

    def _cancel(self, intent: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if intent["status"] in ("succeeded", "canceled"):
            return 400, _invalid(
                "payment_intent_unexpected_state",
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
            )
        intent.update(status="canceled", amount_capturable=0, canceled_at=int(time.time()))
        return 200, intent

    def _refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return 404, _invalid("resource_missing", "No such payment_intent")
        amount = int(form.get("amount", intent["amount_received"]))
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent["id"]
        )
        if amount + refunded > intent["amount_received"]:
            return 400, _invalid(
                "charge_already_refunded",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge.",
            )
        refund = {
            "id": "re_" + secrets.token_hex(12),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "metadata": {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
            },
            "payment_intent": intent["id"],
            "reason": form.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund


def _invalid(code: str, message: str) -> dict[str, Any]:
    return {"error": {"type": "invalid_request_error", "code": code, "message": message}}
