"""The merchants' webhook endpoint during a crash run: verifies, dedupes, counts.

One local HTTP server serves every merchant at ``/hooks/{account}``, verifies each
delivery with ``stripe.Webhook.construct_event`` and that merchant's signing secret,
and answers 2xx once it has recorded the event. It dedupes by event id as Stripe asks
of merchants, and counts how often each id was accepted: a count above one is a
duplicate delivery (possible only when a worker died between the endpoint's 2xx and
recording the success). ``failure_rate`` makes it answer 500 now and then, so the
retry path runs during the crash run as well.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import stripe


@dataclass
class MerchantEndpoints:
    failure_rate: float = 0.0
    seed: int = 0
    secrets: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, Counter[str]] = field(default_factory=dict)
    """account -> event id -> times accepted (2xx answered)."""
    refused_signatures: int = 0
    failed_on_purpose: int = 0
    hits: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def url(self, account: str) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/hooks/{account}"

    def start(self) -> MerchantEndpoints:
        endpoints = self
        rng = random.Random(self.seed)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                account = self.path.rsplit("/", 1)[-1]
                with endpoints._lock:
                    endpoints.hits += 1
                    secret = endpoints.secrets.get(account)
                    fail = rng.random() < endpoints.failure_rate
                if secret is None:
                    self._answer(404)
                    return
                try:
                    event = stripe.Webhook.construct_event(
                        body, self.headers.get("Stripe-Signature", ""), secret
                    )
                except (ValueError, stripe.SignatureVerificationError):
                    with endpoints._lock:
                        endpoints.refused_signatures += 1
                    self._answer(400)
                    return
                if fail:
                    with endpoints._lock:
                        endpoints.failed_on_purpose += 1
                    self._answer(500)
                    return
                with endpoints._lock:
                    endpoints.accepted.setdefault(account, Counter())[event.id] += 1
                self._answer(200)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def seen(self, account: str) -> Counter[str]:
        with self._lock:
            return Counter(self.accepted.get(account, Counter()))

    def duplicates(self) -> int:
        with self._lock:
            return sum(n - 1 for counts in self.accepted.values() for n in counts.values())
