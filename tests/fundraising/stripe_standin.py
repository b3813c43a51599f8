"""A small stand-in for Stripe's API on loopback, for tests: the real `stripe` library talks to
it (stripe.api_base / STRIPE_API_BASE), and it signs webhook events with a test secret the way
Stripe does (`t=<unix>,v1=<HMAC-SHA256 of "<t>.<payload>">`).

It answers the calls fundraising/card.py makes (Checkout sessions, subscription pause, resume
and cancel), records every request, and serves a payment page whose "Pay" button sends the
signed events to the site's webhook and returns to the success URL, as Stripe Checkout does.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

PORTS = range(18600, 18700)  # this workstream's loopback ports
SECRET = "whsec_test_standin_secret"
_ids = itertools.count(1)


def sign(payload: bytes, secret: str = SECRET, timestamp: int | None = None) -> str:
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def event(event_type: str, obj: dict, *, event_id: str | None = None, created: int | None = None):
    return {
        "id": event_id or f"evt_test_{next(_ids)}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "api_version": "2026-10-28.endive",
    }


@dataclass
class Standin:
    server: ThreadingHTTPServer
    base: str
    webhook_url: str = ""
    requests: list[tuple[str, str, dict]] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)

    def deliver(self, payload: dict) -> int:
        body = json.dumps(payload).encode()
        request = urllib.request.Request(
            self.webhook_url,
            data=body,
            headers={"Stripe-Signature": sign(body), "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status

    def pay(self, session_id: str) -> str:
        """What Stripe does when the donor pays: send the events, return the success URL."""
        session = self.sessions[session_id]
        reference = session["metadata[pledge]"]
        cents = int(session["line_items[0][price_data][unit_amount]"])
        if session["mode"] == "subscription":
            subscription = f"sub_test_{next(_ids)}"
            self.deliver(
                event(
                    "checkout.session.completed",
                    {
                        "id": session_id,
                        "object": "checkout.session",
                        "mode": "subscription",
                        "client_reference_id": reference,
                        "metadata": {"pledge": reference},
                        "customer": "cus_test_1",
                        "subscription": subscription,
                        "payment_status": "paid",
                        "amount_total": cents,
                    },
                )
            )
            self.deliver(
                event(
                    "invoice.paid",
                    invoice(subscription, reference, cents, f"in_test_{next(_ids)}"),
                )
            )
        else:
            self.deliver(
                event(
                    "checkout.session.completed",
                    {
                        "id": session_id,
                        "object": "checkout.session",
                        "mode": "payment",
                        "client_reference_id": reference,
                        "metadata": {"pledge": reference},
                        "payment_intent": f"pi_test_{next(_ids)}",
                        "payment_status": "paid",
                        "amount_total": cents,
                    },
                )
            )
        return session["success_url"]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def invoice(subscription: str, reference: str, cents: int, invoice_id: str) -> dict:
    """An invoice as API version 2026-10-28 shapes it (subscription under `parent`)."""
    return {
        "id": invoice_id,
        "object": "invoice",
        "amount_paid": cents,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": subscription,
                "metadata": {"pledge": reference},
            },
        },
        "payments": {"data": [{"payment": {"payment_intent": f"pi_{invoice_id}"}}]},
    }


def _handler(standin_ref: list[Standin]):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            return

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            return dict(parse_qsl(self.rfile.read(length).decode(), keep_blank_values=True))

        def _json(self, status: int, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            standin = standin_ref[0]
            body = self._body()
            standin.requests.append(("POST", self.path, body))
            if self.path == "/v1/checkout/sessions":
                session_id = f"cs_test_{next(_ids)}"
                standin.sessions[session_id] = body
                url = f"{standin.base}/pay/{session_id}"
                self._json(200, {"id": session_id, "object": "checkout.session", "url": url})
            elif self.path.startswith("/v1/subscriptions/"):
                sub = self.path.rsplit("/", 1)[1]
                self._json(200, {"id": sub, "object": "subscription", "status": "active"})
            elif self.path.startswith("/pay/"):
                success = standin.pay(self.path.rsplit("/", 1)[1])
                self.send_response(303)
                self.send_header("Location", success)
                self.end_headers()
            else:
                self._json(404, {"error": {"message": "unknown path", "type": "invalid"}})

        def do_DELETE(self) -> None:  # noqa: N802
            standin = standin_ref[0]
            standin.requests.append(("DELETE", self.path, {}))
            sub = self.path.rsplit("/", 1)[1]
            self._json(200, {"id": sub, "object": "subscription", "status": "canceled"})

        def do_GET(self) -> None:  # noqa: N802
            if not self.path.startswith("/pay/"):
                self._json(404, {"error": {"message": "unknown path"}})
                return
            page = (
                "<!doctype html><html lang='en'><title>Test payment page</title>"
                "<h1>Stand-in payment page</h1>"
                f"<form method='post' action='{self.path}'><button>Pay</button></form></html>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

    return Handler


def start() -> Standin:
    ref: list[Standin] = []
    for port in PORTS:
        try:
            server = ThreadingHTTPServer(("127.0.0.1", port), _handler(ref))
            break
        except OSError:
            continue
    else:  # pragma: no cover
        raise RuntimeError("no free port in 18600-18699")
    standin = Standin(server=server, base=f"http://127.0.0.1:{server.server_port}")
    ref.append(standin)
    # A short poll: shutdown() waits for the loop to look, 0.5 s by default (per test).
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    ).start()
    return standin
