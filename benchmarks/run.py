"""`make bench`: a production-like stack on loopback, every measurement, a table and a chart.

Stack: gunicorn (3 sync workers, as in the README's deployment table), the machine's
PostgreSQL (database `hanvoice_bench`, dropped and recreated), its Redis (db 9 broker, db 10
cache, both flushed), one Celery worker, DEBUG off, `DJANGO_BENCH=true` for the trivial
`/bench/noop`. Everything this script starts it stops in `finally`; it never starts or stops
the shared PostgreSQL or Redis (the fault tests in benchmarks/faults.py run against private
throwaway servers).

Every throughput is a ratio to `/bench/noop` measured on the same server in the same run,
just before and just after the page (the machine is shared: absolute numbers are noise).

Environment knobs: BENCH_SECONDS (per wrk run, default 6), BENCH_PORT (8765), BENCH_DB
(hanvoice_bench), BENCH_REDIS_DBS (broker and cache database numbers, "9,10"; one number
serves both), BENCH_SKIP_FAULTS=1, BENCH_SKIP_MAKE_TEST=1 (the table then says the suite was
not timed in this run: it never shows an older run's figure). Engineers sharing a machine
give each bench run its own port, database and Redis numbers.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

# The caller's environment, before django_setup() adds the benchmark settings to os.environ:
# `make test` and the PostgreSQL tests must not inherit DJANGO_DEBUG=false, CACHE_URL, etc.
CALLER_ENV = dict(os.environ)
ROOT = Path(__file__).resolve().parent.parent
HERE = ROOT / "benchmarks"
VENV_BIN = ROOT / ".venv" / "bin"
PY = VENV_BIN / "python"
HOST = "127.0.0.1"
PORT = int(os.environ.get("BENCH_PORT", "8765"))
BASE = f"http://{HOST}:{PORT}"
SECONDS = int(os.environ.get("BENCH_SECONDS", "6"))
DB_NAME = os.environ.get("BENCH_DB", "hanvoice_bench")
REDIS_DBS = list(dict.fromkeys(os.environ.get("BENCH_REDIS_DBS", "9,10").split(",")))
PG = "postgres://postgres@127.0.0.1:5432"
MAIL_DIR = Path(f"/tmp/hv-bench-mail-{PORT}")
LOG_DIR = ROOT / "var" / "bench"

BENCH_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_TESTING": "false",
    "DJANGO_BENCH": "true",
    "DJANGO_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "FIELD_ENCRYPTION_KEYS": "bench-only-field-key",
    "DJANGO_ALLOWED_HOSTS": HOST,
    "DJANGO_SECURE_SSL_REDIRECT": "false",
    "DJANGO_HSTS_SECONDS": "0",
    "DATABASE_URL": f"{PG}/{DB_NAME}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[0]}",
    "CACHE_URL": f"redis://127.0.0.1:6379/{REDIS_DBS[-1]}",
    "FUNDRAISING_PLEDGE_RATE": "1000000/m",
    "EMAIL_URL": f"filemail:///{MAIL_DIR}",
    "SITE_URL": BASE,
    "LOG_LEVEL": "WARNING",
    # Sign-in lockouts are not measured; sessions are created directly below.
    "AXES_ENABLED": "false",
}


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], *, timeout: float = 120, env: dict | None = None, check=True) -> str:
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {result.stderr.strip()[-800:]}")
    return result.stdout


# --- processes ----------------------------------------------------------------------------


class Stack:
    """gunicorn + a Celery worker; `stop()` is safe to call twice and always called."""

    def __init__(self, env: dict, port: int = PORT, log_dir: Path = LOG_DIR) -> None:
        self.env, self.port, self.log_dir = env, port, log_dir
        self.procs: dict[str, subprocess.Popen] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, cmd: list[str]) -> None:
        out = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        # A new session: the whole process group (prefork children too) can be signalled.
        self.procs[name] = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def start_web(self) -> None:
        self._spawn(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "config.wsgi",
                "--workers=3",
                f"--bind={HOST}:{self.port}",
                "--backlog=2048",
                "--timeout=60",
                "--graceful-timeout=5",
            ],
        )
        wait_http(f"http://{HOST}:{self.port}/bench/noop", timeout=30)

    def start_worker(self) -> None:
        self._spawn(
            "worker",
            [
                str(VENV_BIN / "celery"),
                "-A",
                "config",
                "worker",
                "--loglevel=WARNING",
                "--concurrency=2",
                "--without-gossip",
                "--without-mingle",
            ],
        )

    def kill(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop(self) -> None:
        for name in list(self.procs):
            self.kill(name)


def wait_http(url: str, *, timeout: float, status: int = 200) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == status:
                    return time.monotonic() - start
        except urllib.error.HTTPError as exc:
            if exc.code == status:
                return time.monotonic() - start
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer {status} within {timeout} s")


# --- wrk ----------------------------------------------------------------------------------


def wrk(
    path: str,
    *,
    connections: int,
    seconds: int = SECONDS,
    script: str = "get.lua",
    env: dict | None = None,
    base: str = BASE,
) -> dict:
    wrk_env = {**os.environ, "WRK_SCRIPTS": str(HERE / "wrk"), **(env or {})}
    out = run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout=10s",
            "-s",
            str(HERE / "wrk" / script),
            base + path,
        ],
        env=wrk_env,
        timeout=seconds + 60,
    )
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    data = json.loads(line.removeprefix("WRK_JSON "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6)
    return data


# The throughput targets of the issue "Fast at program scale" (docs/performance.md), judged on
# the unrounded ratio: a table that rounds 0.098 to 0.10 would call it met.
RATIO_TARGETS = {"pledge": 0.10, "portal": 0.15, "staff": 0.05}


def ratio_run(label: str, path: str, *, connections: int, **kwargs) -> dict:
    """Noop, the page, noop again (same connections); the ratio is to the mean noop."""
    wrk(path, connections=connections, seconds=2, **kwargs)  # warm caches and connections
    before = wrk("/bench/noop", connections=connections)
    page = wrk(path, connections=connections, **kwargs)
    # A slow page leaves requests queued when wrk stops: let the workers drain them, or the
    # "after" baseline measures the backlog instead of the server.
    time.sleep(3)
    wrk("/bench/noop", connections=connections, seconds=1)
    after = wrk("/bench/noop", connections=connections)
    noop = (before["rps"] + after["rps"]) / 2
    page["ratio"] = page["rps"] / noop if noop else 0.0
    page["noop_rps"] = (before["rps"], after["rps"])
    page["noop_p99_us"] = max(before["p99_us"], after["p99_us"])
    log(
        f"{label}: {page['rps']:.0f} req/s vs noop {before['rps']:.0f}/{after['rps']:.0f} "
        f"→ ratio {page['ratio']:.2f}; p50 {page['p50_us'] / 1000:.1f} ms, "
        f"p99 {page['p99_us'] / 1000:.1f} ms; non-2xx/3xx {page['non_2xx_3xx']}"
    )
    return page


# --- the database and Django in this process ------------------------------------------------


def recreate_database() -> None:
    run(["psql", f"{PG}/postgres", "-qc", f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)"])
    run(["psql", f"{PG}/postgres", "-qc", f"CREATE DATABASE {DB_NAME}"])


def analyze() -> None:
    """Planner statistics after a bulk load, as autovacuum would soon gather in production
    (without them PostgreSQL walked the open-milestones index for one family's plan: 70 ms)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def flush_redis() -> None:
    for db in REDIS_DBS:  # ours only: other engineers use the other numbers
        run(["redis-cli", "-h", HOST, "-p", "6379", "-n", db, "FLUSHDB"])


def django_setup(env: dict) -> None:
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def session_cookie(user, *, verified: bool = False) -> str:
    """A signed-in session as `login()` would write it (+ the OTP-verified flag for staff)."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "config.auth.EmailBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    if verified:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device, _ = TOTPDevice.objects.get_or_create(user=user, name="bench", confirmed=True)
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def queries_per_request(path: str, cookie: str) -> tuple[int, int]:
    """(queries, status) of one warm request in this process, as the server would run it."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST=HOST, HTTP_COOKIE=cookie)
    client.get(path)  # warm: caches filled, as under load
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    return len(ctx.captured_queries), response.status_code


class _Rollback(Exception):
    pass


def measure_sweep(fn, **kwargs) -> dict:
    """The faster of two sweeps (the machine is shared), each rolled back so the data stays
    as it was: seconds, queries, rows the sweep reported."""
    first, second = _measure_sweep_once(fn, **kwargs), _measure_sweep_once(fn, **kwargs)
    return min(first, second, key=lambda r: r["seconds"])


def _measure_sweep_once(fn, **kwargs) -> dict:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    result: dict = {}
    with CaptureQueriesContext(connection) as ctx:
        try:
            with transaction.atomic():
                start = time.perf_counter()
                out = fn(**kwargs)
                result["seconds"] = time.perf_counter() - start
                result["result"] = out if isinstance(out, int) else None
                raise _Rollback
        except _Rollback:
            pass
    result["queries"] = len(ctx.captured_queries)
    # Batched INSERTs grow with the rows written (reminders due), not with the data scanned.
    result["inserts"] = sum(
        1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")
    )
    return result


def sweeps(label: str, today: dt.date) -> dict:
    from fundraising import services as fundraising_services
    from sponsorship import reminders

    out: dict = {}
    out["reminders"] = measure_sweep(reminders.reminder_sweep, today=today)
    log(f"reminder sweep at {label}: {out['reminders']}")
    out["donor"] = measure_sweep(fundraising_services.donor_reminder_sweep, today=today)
    log(f"donor reminder sweep at {label}: {out['donor']}")
    return out


# --- pledges through the server -------------------------------------------------------------


def csrf_pair(path: str, base: str = BASE) -> tuple[str, str]:
    """A real visitor's CSRF cookie and the form token from the page."""
    with urllib.request.urlopen(base + path, timeout=10) as response:  # noqa: S310 - loopback
        html = response.read().decode()
        cookies = response.headers.get_all("Set-Cookie") or []
    cookie = next(c.split(";")[0].split("=", 1)[1] for c in cookies if c.startswith("csrftoken="))
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    return cookie, token


def post_pledge(path: str, cookie: str, token: str, fields: dict, base: str = BASE) -> int:
    body = {
        "csrfmiddlewaretoken": token,
        "website": "",
        "amount_choice": "other",
        "frequency": "one_time",
        "months": "1",
        "address": "",
        "show_name": "show",
        **fields,
    }
    request = urllib.request.Request(  # noqa: S310 - loopback
        base + path,
        data=urllib.parse.urlencode(body).encode(),
        headers={"Cookie": f"csrftoken={cookie}"},
        method="POST",
    )

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0  # connection refused/reset: counted as a failure


def burst(path: str, *, count: int, prefix: str, workers: int = 64, base: str = BASE) -> dict:
    """`count` pledges posted concurrently, each with its own idempotency token and amount."""
    import uuid

    cookie, token = csrf_pair(path, base)
    rng = random.Random(count)
    amounts = [Decimal(rng.randint(500, 50000)) / 100 for _ in range(count)]

    def one(i: int) -> int:
        return post_pledge(
            path,
            cookie,
            token,
            {
                "idempotency_key": str(uuid.uuid4()),
                "other_amount": str(amounts[i]),
                "donor_name": f"Burst Donor {i}",
                "email": f"{prefix}{i}@example.org",
            },
            base,
        )

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        statuses = list(pool.map(one, range(count)))
    return {
        "seconds": time.monotonic() - start,
        "statuses": {s: statuses.count(s) for s in sorted(set(statuses))},
        "expected_sum": sum(amounts, Decimal("0")),
    }


# --- machine, results -----------------------------------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def ms(us: float) -> str:
    return f"{us / 1000:.1f} ms"


def write_results(rows: list[dict], info: dict, notes: list[str]) -> str:
    from core.charts import PALETTE, Bar, bar_chart

    lines = [
        "# Benchmark results",
        "",
        f"Run {info['date']} on {info['nproc']} cores ({info['cpu']}), {info['memory']} RAM, "
        f"{info['os']}; load average {info['load_start']} at the start, {info['load_end']} at "
        "the end (the machine is shared with other engineers' work: compare ratios, not "
        "absolute numbers). Written by `make bench` (benchmarks/run.py).",
        "",
        "| Measurement | Value | Ratio to /bench/noop | Target | Met? |",
        "|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['name']} | {row['value']} | {row.get('ratio', '–')} | "
            f"{row.get('target', '–')} | {row.get('met', '–')} |"
        )
    lines += ["", *[f"- {note}" for note in notes], ""]
    text = "\n".join(lines)
    (HERE / "results.md").write_text(text)
    bars = [Bar("/bench/noop (reference)", 100, PALETTE["grey"])] + [
        Bar(row["name"].split(" (")[0].split(",")[0][:30], round(row["ratio_value"] * 100))
        for row in rows
        if row.get("ratio_value") is not None
    ]
    svg = bar_chart(
        bars,
        title=f"Throughput as a percentage of the trivial view /bench/noop, {info['date']} "
        "(target for the public page: 60%)",
        cid="bench",
        unit="%",
    )
    (HERE / "results.svg").write_text(str(svg) + "\n")
    readme = ROOT / "README.md"
    start, end = "<!-- bench:start -->", "<!-- bench:end -->"
    current = readme.read_text()
    if start in current and end in current:  # the README shows the latest table
        head, rest = current.split(start, 1)
        table = "\n".join(lines[2:])  # without the file's own title
        readme.write_text(f"{head}{start}\n{table}\n{end}{rest.split(end, 1)[1]}")
    return text


def yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


POSTGRES_TESTS = {
    "test_it_gives_50_concurrent_issues_50_distinct_consecutive_serials": (
        "Fault: 50 receipts issued concurrently (service level)",
        "50 distinct consecutive serials",
    ),
    "test_it_saves_1000_concurrent_pledges_and_totals_them_to_the_cent": (
        "Fault: 1,000 pledges created concurrently (service level, 16 threads)",
        "1,000 rows, sum to the cent",
    ),
    "test_it_makes_one_pledge_of_a_token_posted_twice_at_the_same_moment": (
        "Fault: 50 idempotency tokens posted twice at the same moment",
        "one pledge each",
    ),
}


def postgres_tests() -> list[dict]:
    """The suite's PostgreSQL-only concurrency tests (skipped on SQLite), on PostgreSQL."""
    import xml.etree.ElementTree as ET

    report = LOG_DIR / "postgres-tests.xml"
    env = {**CALLER_ENV, "DATABASE_URL": f"{PG}/{DB_NAME}"}
    start = time.monotonic()
    subprocess.run(
        [str(PY), "-m", "pytest", "tests/reliability", "tests/fundraising/test_receipts.py"]
        + ["-m", "slow or not slow", "-k", "concurrent or twice", "-q"]
        + ["--create-db", f"--junitxml={report}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    log(f"PostgreSQL concurrency tests ran in {time.monotonic() - start:.0f} s")
    results: dict[str, tuple[str, float]] = {}
    if report.exists():
        for case in ET.parse(report).getroot().iter("testcase"):
            state = "passed"
            for child in case:
                if child.tag in {"failure", "error", "skipped"}:
                    state = child.tag
            results[case.get("name")] = (state, float(case.get("time", 0)))
    rows = []
    for name, (label, target) in POSTGRES_TESTS.items():
        state, seconds = results.get(name, ("not run", 0.0))
        rows.append(
            {
                "name": label,
                "value": f"{state} in {seconds:.1f} s (tests/…::{name[:40]}…)",
                "target": target,
                "met": yes(state == "passed"),
            }
        )
    return rows


def cpu_busy(seconds: float = 2.0) -> float:
    """The share of the machine's CPU (all cores) in use over `seconds`, from /proc/stat."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
        return sum(fields), fields[3] + fields[4]  # all, idle + iowait

    total0, idle0 = sample()
    time.sleep(seconds)
    total1, idle1 = sample()
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def wait_until_quiet(limit: float = 180, quiet: float = 0.10) -> float:
    """The `make test` target is for a quiet machine: wait (at most `limit` s) until less than
    `quiet` of the CPU is in use. The servers the measures above started (the fault tests'
    PostgreSQL, gunicorn, Celery) take seconds to exit, and a load average still counts them
    for minutes after, so the CPU in use is read directly. Returns the share in use at the
    start; the row prints it."""
    deadline = time.monotonic() + limit
    busy = cpu_busy()
    while busy > quiet and time.monotonic() < deadline:
        busy = cpu_busy()
    return busy


def make_row(target: str, goal_seconds: float | None) -> dict:
    """`make <target>` timed in this run, on this machine, at this load: the README and the
    table never carry an older run's figure."""
    name = f"`make {target}` wall time (this run)"
    goal = f"≤ {goal_seconds:.0f} s on a quiet 2-core machine" if goal_seconds else "passes"
    if os.environ.get("BENCH_SKIP_MAKE_TEST") == "1":
        return {"name": name, "value": "not timed in this run (BENCH_SKIP_MAKE_TEST=1)"}
    busy = wait_until_quiet()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    start_note = f"CPU {busy:.0%} in use by other work and load average {load} at its start"
    start = time.monotonic()
    try:
        result = subprocess.run(
            ["make", target], cwd=ROOT, env=CALLER_ENV, capture_output=True, timeout=1800
        )
    except subprocess.TimeoutExpired:
        return {
            "name": name,
            "value": f"not finished after 1,800 s ({start_note})",
            "target": goal,
            "met": "**no**",
        }
    seconds = time.monotonic() - start
    (LOG_DIR / f"make-{target}.log").write_bytes(result.stdout[-20000:] + result.stderr[-5000:])
    summary = re.findall(rb"=+ (.*(?:passed|failed).*) in [0-9.]+s", result.stdout)
    counts = summary[-1].decode() if summary else "no summary"
    state = "passed" if result.returncode == 0 else "FAILED"
    log(f"make {target}: {seconds:.0f} s, {state} ({counts})")
    fast = goal_seconds is None or seconds <= goal_seconds
    return {
        "name": name,
        "value": f"{seconds:.0f} s ({state}: {counts}; {start_note})",
        "target": goal,
        "met": yes(result.returncode == 0 and fast),
    }


# --- the run --------------------------------------------------------------------------------


def main() -> int:  # noqa: C901, PLR0915 - one readable sequence of measurements
    started = time.monotonic()
    info = machine()
    info["date"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    info["load_start"] = info["load"]
    for cmd in (["pg_isready", "-q", "-h", HOST, "-p", "5432"], ["redis-cli", "-h", HOST, "ping"]):
        if subprocess.run(cmd, capture_output=True, check=False).returncode != 0:
            log(f"{cmd[0]}: the machine's server is not answering; start it (README, Operations)")
            return 2
    if not shutil.which("wrk"):
        log("wrk is missing: apt-get install -y wrk")
        return 2
    shutil.rmtree(MAIL_DIR, ignore_errors=True)
    MAIL_DIR.mkdir(parents=True)
    log(f"recreating database {DB_NAME}, flushing Redis db {' and '.join(REDIS_DBS)}")
    recreate_database()
    flush_redis()
    env = {**os.environ, **BENCH_ENV}
    django_setup(BENCH_ENV)

    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db.models import Sum
    from django.utils import timezone

    from benchmarks import scale
    from fundraising.models import Pledge

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    today = timezone.localdate()
    rows: list[dict] = []
    notes: list[str] = []

    log("data: 500 families, 2,000 pledges")
    scale.scale(families=500, pledges=2000)
    analyze()
    small = sweeps("500 sponsorships", today)
    sponsor = get_user_model().objects.get(username="bench.sponsor00000@example.org")
    manager = scale.staff_user()
    portal_cookie = session_cookie(sponsor)
    staff_cookie = session_cookie(manager, verified=True)
    queries_small = {
        "/portal/": queries_per_request("/portal/", portal_cookie)[0],
        "/admin/": queries_per_request("/admin/", staff_cookie)[0],
    }
    log("data: 5,000 families (~75,000 milestones), 20,000 pledges")
    t0 = time.monotonic()
    scale.scale(families=5000, pledges=20000)
    analyze()
    log(f"scaled up in {time.monotonic() - t0:.0f} s")
    large = sweeps("5,000 sponsorships", today)
    for key, what in (("reminders", "Reminder sweep"), ("donor", "Donor reminder sweep")):
        a, b = small[key], large[key]
        growth = b["seconds"] / max(a["seconds"], 1e-6)
        unit = "sponsorships" if key == "reminders" else "pledges (2,000 vs 20,000)"
        rows.append(
            {
                "name": f"{what}, 10× {unit}",
                "value": f"{a['seconds']:.2f} s / {a['queries'] - a['inserts']} queries "
                f"+ {a['inserts']} insert batches → {b['seconds']:.2f} s / "
                f"{b['queries'] - b['inserts']} queries + {b['inserts']} insert batches "
                f"(time ×{growth:.1f})",
                "target": "linear: time ≤ ×10 (+20% for noise), queries constant "
                "(insert batches follow the rows written)",
                "met": yes(
                    growth <= 12 and b["queries"] - b["inserts"] <= a["queries"] - a["inserts"] + 2
                ),
            }
        )

    stack = Stack(env)
    try:
        stack.start_web()
        stack.start_worker()
        slug = scale.SLUG
        give = f"/give/{slug}/"

        page = ratio_run("GET /give/<slug>/ @64", give, connections=64)
        ratio_ok = page["ratio"] >= 0.6 and page["non_2xx_3xx"] == 0
        rows.append(
            {
                "name": "GET /give/<slug>/ (public page), 64 connections",
                "value": f"{page['rps']:.0f} req/s, p50 {ms(page['p50_us'])}, "
                f"p99 {ms(page['p99_us'])} (noop p99 {ms(page['noop_p99_us'])})",
                "ratio": f"{page['ratio']:.3f}",
                "ratio_value": page["ratio"],
                # The target: at 64 connections on two cores p99 is mostly queueing,
                # so it is held against noop's p99 measured in the same run.
                "target": "ratio ≥ 0.6, p99 ≤ noop's p99",
                "met": f"ratio {yes(ratio_ok)}, p99 {yes(page['p99_us'] <= page['noop_p99_us'])}",
            }
        )

        cookie, token = csrf_pair(give)
        before = Pledge.objects.count()
        nonce = str(random.randrange(1, 2**31))
        post_env = {"WRK_CSRF_COOKIE": cookie, "WRK_CSRF_TOKEN": token, "WRK_NONCE": nonce}
        post = ratio_run("POST pledge @32", give, connections=32, script="pledge.lua", env=post_env)
        time.sleep(1)
        # The warm-up run posts too: count every 2xx/3xx of this nonce's runs via the rows.
        created = Pledge.objects.count() - before
        ok_count = sum(v for k, v in post["statuses"].items() if 200 <= int(k) < 400)
        five = sum(v for k, v in post["statuses"].items() if int(k) >= 500)
        warm_rows = created - ok_count
        rows.append(
            {
                "name": "POST pledge (valid, unique tokens), 32 connections",
                "value": f"{post['rps']:.0f} req/s, p50 {ms(post['p50_us'])}, "
                f"p99 {ms(post['p99_us'])}; statuses {post['statuses']}",
                "ratio": f"{post['ratio']:.3f}",
                "ratio_value": post["ratio"],
                "target": f"ratio ≥ {RATIO_TARGETS['pledge']:.2f}, no 5xx",
                "met": f"ratio {yes(post['ratio'] >= RATIO_TARGETS['pledge'])}, "
                f"5xx {yes(five == 0)}",
            }
        )
        notes.append(
            f"POST under wrk: {created} new pledges for {ok_count} 2xx/3xx responses read in the "
            f"measured run; the other {warm_rows} are its 2-s warm-up's and the requests in "
            "flight when wrk stopped (saved, response never read). The exact check is the "
            "300-pledge row."
        )
        # The check itself needs every response read: wrk stops mid-flight (up to one request
        # per connection is saved but never read), so post an exact number, 32 at a time.
        prefix = f"check{random.randrange(10**6)}."
        check = burst(give, count=300, prefix=prefix, workers=32)
        created = Pledge.objects.filter(email__startswith=prefix).count()
        ok_count = sum(v for k, v in check["statuses"].items() if 200 <= k < 400)
        rows.append(
            {
                "name": "POST pledge, 300 at 32 concurrent: rows in the database vs 2xx/3xx",
                "value": f"{created} rows, {ok_count} 2xx/3xx; statuses {check['statuses']}",
                "target": "equal",
                "met": yes(created == ok_count),
            }
        )

        # Staff are a handful of people, not a crowd: their dashboard is measured at 8.
        for label, path, cookie_value, conns, target in (
            (
                "Portal dashboard /portal/ (sponsor coordinator)",
                "/portal/",
                portal_cookie,
                32,
                RATIO_TARGETS["portal"],
            ),
            (
                "Staff dashboard /admin/ (program manager, OTP-verified)",
                "/admin/",
                staff_cookie,
                8,
                RATIO_TARGETS["staff"],
            ),
        ):
            queries, status = queries_per_request(path, cookie_value)
            result = ratio_run(label, path, connections=conns, env={"WRK_COOKIE": cookie_value})
            rows.append(
                {
                    "name": f"{label}, {conns} connections",
                    "value": f"{result['rps']:.0f} req/s, p50 {ms(result['p50_us'])}, "
                    f"p99 {ms(result['p99_us'])}; queries/request {queries_small[path]} at "
                    f"500 families → {queries} at 5,000 (HTTP {status})",
                    "ratio": f"{result['ratio']:.3f}",
                    "ratio_value": result["ratio"],
                    "target": f"ratio ≥ {target:.2f}, queries constant",
                    "met": f"ratio {yes(result['ratio'] >= target)}, queries "
                    + yes(
                        status == 200
                        and result["non_2xx_3xx"] == 0
                        and queries <= queries_small[path]
                    ),
                }
            )

        log("1,000 pledges posted concurrently through gunicorn")
        prefix = f"burst{random.randrange(10**6)}."
        result = burst(give, count=1000, prefix=prefix)
        time.sleep(1)
        mine = Pledge.objects.filter(email__startswith=prefix)
        total = mine.aggregate(total=Sum("amount"))["total"] or Decimal("0")
        five = sum(v for k, v in result["statuses"].items() if k >= 500 or k == 0)
        ok = mine.count() == 1000 and total == result["expected_sum"] and five == 0
        rows.append(
            {
                "name": "Fault: 1,000 pledges posted concurrently (64 at a time)",
                "value": f"{mine.count()} rows, sum {total} vs {result['expected_sum']} posted, "
                f"statuses {result['statuses']}, {result['seconds']:.1f} s",
                "target": "1,000 rows, sum to the cent, zero 5xx",
                "met": yes(ok),
            }
        )
    finally:
        stack.stop()
        log("stack stopped")

    if os.environ.get("BENCH_SKIP_FAULTS") != "1":
        log("fault tests on a private PostgreSQL and Redis (benchmarks/faults.py)")
        out = subprocess.run(
            [str(PY), str(HERE / "faults.py")],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=420,
            check=False,
        )
        sys.stderr.write(out.stderr[-4000:])
        line = next((x for x in out.stdout.splitlines() if x.startswith("FAULTS_JSON ")), None)
        if line is None:
            rows.append(
                {"name": "Fault tests", "value": "faults.py failed (see output)", "met": "**no**"}
            )
        else:
            rows += json.loads(line.removeprefix("FAULTS_JSON "))

    rows += postgres_tests()
    rows.append(make_row("test", 120))
    rows.append(make_row("a11y", None))
    info["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    notes.append(f"`make bench` took {time.monotonic() - started:.0f} s.")
    print(write_results(rows, info, notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
