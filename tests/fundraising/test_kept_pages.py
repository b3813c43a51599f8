"""The public campaign page answered in front of the middleware chain (core/kept_pages.py):
the same page and headers as Django's, each visit its own CSRF cookie and tokens, kept apart
by language, never for a personal visit, and dropped when the figures change."""

from __future__ import annotations

import io
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from core import kept_pages
from core.kept_pages import KeptPages
from fundraising import selectors
from fundraising.models import Pledge
from tests.fundraising.test_campaign_page import url, valid_data

pytestmark = pytest.mark.django_db

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
IDEMPOTENCY_INPUT = re.compile(r'name="idempotency_key" value="([^"]+)"')


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: str

    def header(self, name: str) -> str | None:
        found = [value for key, value in self.headers if key.lower() == name.lower()]
        return found[0] if found else None

    @property
    def csrf_cookie(self) -> str | None:
        for key, value in self.headers:
            if key.lower() == "set-cookie":
                morsel = SimpleCookie(value).get("csrftoken")
                if morsel is not None:
                    return morsel.value
        return None

    @property
    def csrf_token(self) -> str:
        return CSRF_INPUT.search(self.body).group(1)

    @property
    def idempotency_key(self) -> str:
        return IDEMPOTENCY_INPUT.search(self.body).group(1)


class Counting:
    """Django's WSGI handler, counting the requests that reach it."""

    def __init__(self) -> None:
        self.handler = WSGIHandler()
        self.calls = 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.handler(environ, start_response)


@pytest.fixture
def django_app(settings) -> Counting:
    settings.FUNDRAISING_PAGE_LOCAL_SECONDS = 5  # off in tests unless asked for
    return Counting()


@pytest.fixture
def front(django_app) -> Iterator[KeptPages]:
    """The wrapped application, as config/wsgi.py installs it (so `forget` reaches it)."""
    selectors._local_pages.clear()
    app = kept_pages.install(django_app)
    yield app
    kept_pages._front = None
    selectors._local_pages.clear()


def call(app, path: str, *, method="GET", query="", headers=None, body=b"") -> Answer:
    environ = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        environ["CONTENT_TYPE"] = "application/x-www-form-urlencoded"
    environ.update(headers or {})
    answered: list = []

    def start_response(status, response_headers, exc_info=None):
        answered[:] = [status, response_headers]

    # As Django's test client does: the end of a request must not close the test's database
    # connection (its transaction holds the test's rows).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(answered[0], list(answered[1]), content.decode())


def without_tokens(answer: Answer) -> str:
    body = answer.body.replace(answer.csrf_token, "CSRF")
    return body.replace(answer.idempotency_key, "TOKEN")


def test_the_second_visit_is_answered_in_front_with_django_s_page_and_headers(
    front, django_app, campaign
):
    first = call(front, url(campaign))
    second = call(front, url(campaign))
    third = call(front, url(campaign))
    assert django_app.calls == 1 and len(front) == 1
    assert first.status == second.status == "200 OK"
    assert without_tokens(second) == without_tokens(first)

    def comparable(answer: Answer) -> list[tuple[str, str]]:
        return sorted((k.lower(), v) for k, v in answer.headers if k.lower() != "set-cookie")

    assert comparable(second) == comparable(first)
    for header in ("Content-Security-Policy", "X-Frame-Options", "Content-Language", "Vary"):
        assert second.header(header) == first.header(header) is not None
    assert int(second.header("Content-Length")) == len(second.body.encode())
    # Each visit its own CSRF cookie, CSRF token and form token.
    assert len({first.csrf_cookie, second.csrf_cookie, third.csrf_cookie}) == 3
    assert len({first.csrf_token, second.csrf_token, third.csrf_token}) == 3
    assert len({first.idempotency_key, second.idempotency_key, third.idempotency_key}) == 3


def test_a_pledge_goes_through_with_the_tokens_of_a_kept_answer(front, django_app, campaign):
    call(front, url(campaign))
    page = call(front, url(campaign))
    assert django_app.calls == 1
    data = valid_data(csrfmiddlewaretoken=page.csrf_token, idempotency_key=page.idempotency_key)
    posted = call(
        front,
        url(campaign),
        method="POST",
        headers={"HTTP_COOKIE": f"csrftoken={page.csrf_cookie}"},
        body=urlencode(data).encode(),
    )
    assert posted.status.startswith("302")
    assert Pledge.objects.filter(idempotency_key=page.idempotency_key).count() == 1
    # Another visit's cookie with this visit's token is refused, as Django refuses it.
    other = call(front, url(campaign))
    data["idempotency_key"] = other.idempotency_key
    refused = call(
        front,
        url(campaign),
        method="POST",
        headers={"HTTP_COOKIE": f"csrftoken={other.csrf_cookie}"},
        body=urlencode(data).encode(),
    )
    assert refused.status.startswith("403")
    assert not Pledge.objects.filter(idempotency_key=other.idempotency_key).exists()


def test_a_visitor_s_csrf_cookie_is_kept_and_renewed_as_django_does(front, campaign):
    call(front, url(campaign))
    secret = "a" * 32
    page = call(front, url(campaign), headers={"HTTP_COOKIE": f"csrftoken={secret}"})
    assert page.csrf_cookie == secret
    assert page.csrf_token != secret  # masked, as {% csrf_token %} masks it
    bad = call(front, url(campaign), headers={"HTTP_COOKIE": "csrftoken=not-a-secret"})
    assert bad.csrf_cookie not in (None, "not-a-secret")  # a new one, as Django gives


def test_languages_are_kept_apart(front, django_app, campaign):
    french = {"HTTP_ACCEPT_LANGUAGE": "fr-CA,fr;q=0.9"}
    korean_cookie = {"HTTP_COOKIE": "django_language=ko"}
    answers = {}
    for name, headers in (("en", {}), ("fr", french), ("ko", korean_cookie)):
        call(front, url(campaign), headers=headers)
        answers[name] = call(front, url(campaign), headers=headers)
    assert django_app.calls == 3 and len(front) == 3
    for language, answer in answers.items():
        assert answer.header("Content-Language") == language
        assert f'<html lang="{language}"' in answer.body


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"headers": {"HTTP_COOKIE": "sessionid=abc"}},
        {"headers": {"HTTP_COOKIE": "messages=abc"}},
        {"query": "utm_source=newsletter"},
        {"method": "HEAD"},
    ],
    ids=["signed-in", "message-waiting", "query-string", "head"],
)
def test_personal_visits_and_other_requests_go_to_django(
    front, django_app, campaign, request_kwargs
):
    call(front, url(campaign))
    assert django_app.calls == 1
    call(front, url(campaign), **request_kwargs)
    call(front, url(campaign), **request_kwargs)
    assert django_app.calls == 3


def test_pages_nobody_offered_and_refused_hosts_are_never_kept(front, django_app, campaign):
    for _ in range(2):
        assert call(front, "/healthz").status.startswith("200")
        assert call(front, url(campaign), headers={"HTTP_HOST": "evil.example"}).status.startswith(
            "400"
        )
    assert django_app.calls == 4 and len(front) == 0


def test_changed_figures_drop_the_kept_page(front, django_app, campaign):
    call(front, url(campaign))
    call(front, url(campaign))
    assert django_app.calls == 1
    selectors.campaign_totals_invalidate(campaign.pk, slug=campaign.slug)  # a pledge confirmed
    assert len(front) == 0
    call(front, url(campaign))
    assert django_app.calls == 2


def test_a_kept_answer_lives_no_longer_than_the_view_s_copy(front, django_app, campaign):
    call(front, url(campaign))
    call(front, url(campaign))
    assert django_app.calls == 1
    later = time.monotonic() + 6  # FUNDRAISING_PAGE_LOCAL_SECONDS is 5
    with mock.patch("time.monotonic", return_value=later):
        call(front, url(campaign))
    assert django_app.calls == 2


def test_odd_headers_cannot_grow_the_kept_pages_without_bound(front, campaign):
    for n in range(kept_pages.MAX_ENTRIES * 2):
        call(front, url(campaign), headers={"HTTP_ACCEPT_LANGUAGE": f"x-{n}"})
    assert 0 < len(front) <= kept_pages.MAX_ENTRIES


def test_an_answer_that_set_another_cookie_is_not_kept(front, django_app, campaign):
    """Only the CSRF cookie is set per visit in front: an answer that set any other cookie
    (a session started, a language chosen) was that visitor's own."""
    handler = django_app.handler

    def with_a_cookie(environ, start_response):
        def add(status, headers, *exc_info):
            return start_response(status, [*headers, ("Set-Cookie", "other=1; Path=/")], *exc_info)

        return handler(environ, add)

    django_app.handler = with_a_cookie
    call(front, url(campaign))
    call(front, url(campaign))
    assert django_app.calls == 2 and len(front) == 0
