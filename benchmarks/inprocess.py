"""In-process timing of the benchmark's requests against /bench/noop (docs/performance.md).

`make bench` takes the machine for a quarter of an hour; this times one request kind in a
few seconds, on data built by benchmarks/scale.py, through the whole middleware stack (the
Django test client), alternating noop and page. It prints the queries of one warm request
and, for the page and noop, the median wall time and the mean CPU time of the process: on a
shared machine the CPU ratio is the steady one, and it follows the wrk ratios of `make bench`.

    DATABASE_URL=postgres://.../yours CACHE_URL=redis://127.0.0.1:6379/<n> \\
        python benchmarks/inprocess.py admin portal pledge public

with the other settings of run.py's BENCH_ENV (DJANGO_BENCH=true for /bench/noop; requests
use the host 127.0.0.1). N=<requests> (default 60); PROFILE=cumulative|tottime adds a CPU
profile of 30 more requests.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import re
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402 - after the path and settings above

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from benchmarks import scale  # noqa: E402
from benchmarks.run import HOST, session_cookie  # noqa: E402


def _get(client: Client, path: str) -> Callable[[], object]:
    def request() -> object:
        response = client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {response.status_code}")
        return response

    return request


def _pledge_poster() -> Callable[[], object]:
    """POST a valid pledge as wrk's pledge.lua does: one CSRF pair, a fresh token each time."""
    give = f"/give/{scale.SLUG}/"
    visitor = Client(HTTP_HOST=HOST, enforce_csrf_checks=True)
    html = visitor.get(give).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    counter = [0]

    def request() -> object:
        counter[0] += 1
        n = counter[0]
        body = {
            "csrfmiddlewaretoken": token,
            "idempotency_key": str(uuid.uuid4()),
            "website": "",
            "amount_choice": "other",
            "other_amount": f"{5 + n % 200}.{n % 100:02d}",
            "frequency": "one_time",
            "months": "1",
            "donor_name": f"Bench Donor {n}",
            "email": f"bench.inprocess{n}@example.org",
            "address": "",
            "show_name": "show",
            "public_message": "",
            "tribute_kind": "",
            "tribute_name": "",
        }
        response = visitor.post(
            give, data=urlencode(body), content_type="application/x-www-form-urlencoded"
        )
        if response.status_code != 302:
            raise RuntimeError(f"pledge POST: HTTP {response.status_code}")
        return response

    return request


def main(kinds: list[str]) -> None:
    count = int(os.environ.get("N", "60"))
    sponsor = get_user_model().objects.get(username="bench.sponsor00000@example.org")
    staff = Client(HTTP_HOST=HOST, HTTP_COOKIE=session_cookie(scale.staff_user(), verified=True))
    portal = Client(HTTP_HOST=HOST, HTTP_COOKIE=session_cookie(sponsor))
    pages = {
        "admin": _get(staff, "/admin/"),
        "portal": _get(portal, "/portal/"),
        "pledge": _pledge_poster(),
        "public": _get(Client(HTTP_HOST=HOST), f"/give/{scale.SLUG}/"),
    }
    noop = _get(Client(HTTP_HOST=HOST), "/bench/noop")
    for kind in kinds:
        page = pages[kind]
        for _ in range(3):  # warm: caches filled, as under load
            page()
            noop()
        with CaptureQueriesContext(connection) as ctx:
            page()
        print(f"{kind}: {len(ctx.captured_queries)} queries")
        walls: dict[str, list[float]] = {"page": [], "noop": []}
        cpus: dict[str, list[float]] = {"page": [], "noop": []}
        for _ in range(count):
            for name, request in (("noop", noop), ("page", page)):
                cpu, wall = time.process_time(), time.perf_counter()
                request()
                walls[name].append(time.perf_counter() - wall)
                cpus[name].append(time.process_time() - cpu)
        wall_page, wall_noop = statistics.median(walls["page"]), statistics.median(walls["noop"])
        cpu_page, cpu_noop = statistics.mean(cpus["page"]), statistics.mean(cpus["noop"])
        print(
            f"{kind}: wall median {wall_page * 1000:.2f} ms vs noop {wall_noop * 1000:.2f} ms "
            f"(ratio {wall_noop / wall_page:.3f}); CPU mean {cpu_page * 1000:.2f} ms vs noop "
            f"{cpu_noop * 1000:.2f} ms (ratio {cpu_noop / cpu_page:.3f})"
        )
        if os.environ.get("PROFILE"):
            profile = cProfile.Profile(time.process_time)
            profile.enable()
            for _ in range(30):
                page()
            profile.disable()
            pstats.Stats(profile).sort_stats(os.environ["PROFILE"]).print_stats(45)
            if os.environ.get("PROFILE_OUT"):
                profile.dump_stats(os.environ["PROFILE_OUT"])


if __name__ == "__main__":
    main(sys.argv[1:] or ["admin", "portal", "pledge"])
