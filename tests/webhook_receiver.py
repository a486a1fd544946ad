"""A merchant's webhook endpoint for tests: verifies like a merchant would, can misbehave."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe


@dataclass
class Receiver:
    """Records every delivery; ``fail_first`` deliveries get 500, ``hang_first`` time out."""

    fail_first: int = 0
    hang_first: int = 0
    drop_first: int = 0
    secret: str | None = None
    port: int = 0
    """0: any free port; or a fixed one, to come up where an endpoint was down."""
    hits: list[dict[str, Any]] = field(default_factory=list)
    events: list[Any] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/webhooks"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    n = len(receiver.hits)
                    receiver.hits.append({"body": body, "headers": dict(self.headers)})
                if n < receiver.drop_first:
                    self.connection.close()
                    return
                if n < receiver.drop_first + receiver.hang_first:
                    time.sleep(3)
                if n < receiver.drop_first + receiver.hang_first + receiver.fail_first:
                    self.send_response(500)
                    self.end_headers()
                    return
                try:
                    event = stripe.Webhook.construct_event(
                        body, self.headers["Stripe-Signature"], receiver.secret
                    )
                except (ValueError, stripe.SignatureVerificationError):
                    self.send_response(400)
                    self.end_headers()
                    return
                with receiver._lock:
                    receiver.events.append(event)
                self.send_response(200)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def event_ids(self) -> list[str]:
        with self._lock:
            return [e.id for e in self.events]
