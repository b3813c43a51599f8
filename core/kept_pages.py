"""Pages the same for every anonymous visitor, served in front of Django's middleware chain.

The public campaign page is what a crowd opens when a campaign is shared: every visitor
without an account gets the same page but for two one-time tokens (core/page_slots.py). The
view already keeps that page rendered; what was left per visit was the middleware chain
(sessions, locale, security headers, CSRF, authentication, OTP, messages, CSP, history,
rate limits, lockouts: about two thirds of the page's cost), which for such a visit always
gives the same headers. `KeptPages` wraps the WSGI application (`config/wsgi.py`):

- A view that serves a page meant for every anonymous visitor `offer`s it: the page with its
  slots and how long it may be kept. After Django has answered (the whole chain ran: host
  validated, language chosen, security headers set), the page is kept with the response's
  status and headers, under everything the chain's answer depended on: method, host, scheme
  (and the proxy's scheme header), path, `Accept-Language` and the language cookie.
- The next visit with the same inputs and no personal cookie (session, messages) and no
  query string is answered from it: the CSRF secret of the visitor's cookie (or a new one)
  goes in the CSRF slots and the cookie is set exactly as Django's `CsrfViewMiddleware`
  does (its own code runs), a new token goes in each one-time slot, the headers are the
  ones Django sent. Anything else goes to Django as before.
- An entry lives no longer than the view's own copy of the page (`until`); `forget` drops
  every entry of this process at once (a pledge confirmed: the totals changed).

docs/performance.md, "Public page: in front of the middleware", says why and what it costs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.cookie import parse_cookie
from django.middleware.csrf import CsrfViewMiddleware

from core.page_slots import fill_csrf_slot, fill_token_slots

# Where a view leaves its offer for the WSGI layer (the request's META is the WSGI environ).
OFFER = "hanvoice.kept_page"
# The cookies that make a visit someone's own: the page is rendered for them by Django.
PERSONAL_COOKIES = ("messages",)
# Entries one process keeps at most: keys include request headers a visitor chooses
# (Accept-Language), so a flood of odd headers must not grow memory without bound.
MAX_ENTRIES = 64
# Parts of the environ a kept answer depends on, besides the language cookie.
_KEY_HEADERS = (
    "REQUEST_METHOD",
    "SCRIPT_NAME",
    "PATH_INFO",
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_FORWARDED_PORT",
    "HTTP_ACCEPT_LANGUAGE",
)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Offer:
    """A page a view serves the same to every anonymous visitor: `html` with CSRF slots and
    one-time `token_slot`s, which may be kept until `until` (time.monotonic())."""

    html: str
    token_slot: str
    until: float


@dataclass(frozen=True)
class _Entry:
    status: str
    headers: tuple[tuple[str, str], ...]
    offer: Offer


def personal(cookies: dict[str, str]) -> bool:
    """Whether these cookies make the visit someone's own (signed in, a message waiting)."""
    return settings.SESSION_COOKIE_NAME in cookies or any(
        name in cookies for name in PERSONAL_COOKIES
    )


def offer(request: HttpRequest, html: str, *, token_slot: str, seconds: float) -> None:
    """Offer the page this view is serving (the same for every anonymous visitor, with its
    slots) to `KeptPages`, to be kept for at most `seconds`."""
    if seconds > 0:
        request.META[OFFER] = Offer(html, token_slot, time.monotonic() + seconds)


class KeptPages:
    """The WSGI application `app` with offered pages answered in front of it (see above)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._lock = threading.Lock()
        # Django's own CSRF middleware, for its cookie logic (its get_response is never called).
        self._csrf = CsrfViewMiddleware(lambda request: HttpResponse())

    def forget(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def _key(environ: dict[str, Any], cookies: dict[str, str]) -> tuple[Any, ...] | None:
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return None
        if personal(cookies):
            return None
        return (
            *(environ.get(name, "") for name in _KEY_HEADERS),
            cookies.get(settings.LANGUAGE_COOKIE_NAME, ""),
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        key = self._key(environ, cookies)
        if key is not None:
            entry = self._entries.get(key)
            if entry is not None and entry.offer.until > time.monotonic():
                return self._answer(entry, cookies, start_response)
        answer: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            answer[:] = [status, headers]
            return start_response(status, headers, *exc_info)

        result = self.app(environ, capture)
        offered = environ.get(OFFER)
        if key is not None and isinstance(offered, Offer) and answer:
            self._keep(key, answer[0], answer[1], offered)
        return result

    def _keep(self, key: tuple[Any, ...], status: str, headers: list, offered: Offer) -> None:
        if not status.startswith("200 ") or settings.CSRF_USE_SESSIONS:
            return
        cookies = [value for name, value in headers if name.lower() == "set-cookie"]
        if any(not value.lstrip().startswith(f"{settings.CSRF_COOKIE_NAME}=") for value in cookies):
            return  # a cookie other than CSRF's: this answer was not everybody's
        # The CSRF cookie is each visit's own: `_answer` sets it.
        kept = tuple((name, value) for name, value in headers if name.lower() != "set-cookie")
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(status, kept, offered)

    def _answer(
        self, entry: _Entry, cookies: dict[str, str], start_response: StartResponse
    ) -> Iterable[bytes]:
        request = HttpRequest()
        request.COOKIES = cookies
        self._csrf.process_request(request)  # the cookie's secret, or a new one if none/bad
        html = fill_token_slots(fill_csrf_slot(entry.offer.html, request), entry.offer.token_slot)
        response = HttpResponse(html.encode())
        for name, value in entry.headers:
            response[name] = value
        response["Content-Length"] = str(len(response.content))
        self._csrf.process_response(request, response)  # sets the cookie, as for the view
        headers = [
            *response.items(),
            *(("Set-Cookie", cookie.output(header="")) for cookie in response.cookies.values()),
        ]
        start_response(entry.status, headers)
        return [response.content]


_front: KeptPages | None = None


def install(app: WSGIApp) -> KeptPages:
    """Wrap the project's WSGI application (config/wsgi.py); `forget` reaches this one."""
    global _front
    _front = KeptPages(app)
    return _front


def forget() -> None:
    """Drop every page this process keeps in front (their figures changed)."""
    if _front is not None:
        _front.forget()
