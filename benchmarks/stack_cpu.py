"""The pledge measure of `make bench` alone, with the CPU of the whole stack per pledge.

run.py's stack and settings (gunicorn, one Celery worker, PostgreSQL, Redis) on the database,
Redis numbers and port given as for run.py (BENCH_DB, BENCH_REDIS_DBS, BENCH_PORT). It posts
pledges with wrk for BENCH_SECONDS, waits for the worker to send the e-mails queued, and
divides the CPU each part used (read from /proc/<pid>/stat) by the pledges created:
gunicorn, the Celery worker, PostgreSQL's backends on this database and Redis. Backends that
exit are gone before they can be read: the sessions opened per pledge say whether any did
(docs/performance.md, "Pledge POST").

    BENCH_DB=hanvoice_mine BENCH_REDIS_DBS=14,13 BENCH_PORT=18200 \\
        python benchmarks/stack_cpu.py [--setup]

`--setup` recreates the database and loads 500 families and 2,000 pledges first.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import run as bench  # noqa: E402 - after the path above

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    fields = _stat(pid)
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def machine() -> tuple[int, int]:
    """(all, idle) jiffies of the whole machine since boot, from /proc/stat."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return sum(values), values[3] + values[4]


def group(pgid: int) -> list[int]:
    pids = (int(p) for p in os.listdir("/proc") if p.isdigit())
    return [pid for pid in pids if (fields := _stat(pid)) and int(fields[2]) == pgid]


def named(name: str) -> list[int]:
    pids = (int(p) for p in os.listdir("/proc") if p.isdigit())
    return [pid for pid in pids if _read(f"/proc/{pid}/comm") == name]


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _sql(query: str) -> str:
    return bench.run(["psql", f"{bench.PG}/postgres", "-Atc", query]).strip()


def backends() -> list[int]:
    rows = _sql(f"SELECT pid FROM pg_stat_activity WHERE datname = '{bench.DB_NAME}'")
    return [int(x) for x in rows.split()]


def sessions() -> int:
    return int(_sql(f"SELECT sessions FROM pg_stat_database WHERE datname = '{bench.DB_NAME}'"))


def queued() -> int:
    out = bench.run(["redis-cli", "-h", bench.HOST, "-n", bench.REDIS_DBS[0], "LLEN", "celery"])
    return int(out.strip() or 0)


def snapshot(stack: bench.Stack) -> dict[str, dict[int, float]]:
    parts = {
        "gunicorn": group(stack.procs["gunicorn"].pid),
        "celery": group(stack.procs["worker"].pid),
        "postgres": backends(),
        "redis": named("redis-server"),
    }
    return {part: {pid: cpu_seconds(pid) for pid in pids} for part, pids in parts.items()}


def used(before: dict, after: dict) -> dict[str, float]:
    return {
        part: sum(seconds - before[part].get(pid, 0.0) for pid, seconds in after[part].items())
        for part in after
    }


def unsent() -> int:
    # Imported here: main() sets Django up at run time, with the bench's settings.
    from fundraising.models import DonorEmail

    return DonorEmail.objects.filter(sent_at__isnull=True, failed_at__isnull=True).count()


def drain(timeout: float = 120) -> None:
    """Until the worker has sent every e-mail (a drain task leaves the broker's list before
    it runs: the rows are the measure)."""
    start = time.monotonic()
    while (queued() or unsent()) and time.monotonic() - start < timeout:
        time.sleep(0.2)


def main(setup: bool) -> None:
    bench.MAIL_DIR.mkdir(parents=True, exist_ok=True)
    if setup:
        bench.recreate_database()
    bench.flush_redis()
    bench.django_setup(bench.BENCH_ENV)
    from django.core.management import call_command

    from benchmarks import scale
    from fundraising.models import Pledge

    if setup:
        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        scale.scale(families=500, pledges=2000)
        bench.analyze()
    stack = bench.Stack({**os.environ, **bench.BENCH_ENV})
    try:
        stack.start_web()
        stack.start_worker()
        give = f"/give/{scale.SLUG}/"
        cookie, token = bench.csrf_pair(give)
        nonce = random.randrange(1, 2**30)
        env = {"WRK_CSRF_COOKIE": cookie, "WRK_CSRF_TOKEN": token, "WRK_NONCE": str(nonce)}
        bench.wrk(give, connections=32, seconds=2, script="pledge.lua", env=env)  # warm
        drain()
        noop = bench.wrk("/bench/noop", connections=32)
        count, opened = Pledge.objects.count(), sessions()
        before, busy = snapshot(stack), machine()
        env["WRK_NONCE"] = str(nonce + 1)
        post = bench.wrk(give, connections=32, script="pledge.lua", env=env)
        busy = tuple(now - then for now, then in zip(machine(), busy, strict=True))
        left = unsent()
        drain()
        cpu = used(before, snapshot(stack))
        created = Pledge.objects.count() - count
        opened = sessions() - opened
        time.sleep(2)
        after = bench.wrk("/bench/noop", connections=32)
    finally:
        stack.stop()
    ratio = post["rps"] / ((noop["rps"] + after["rps"]) / 2)
    bench.log(
        f"POST pledge @32: {post['rps']:.0f} req/s vs noop {noop['rps']:.0f}/{after['rps']:.0f}"
        f" → ratio {ratio:.3f}; {created} pledges, {left} e-mails not yet sent when wrk stopped"
    )
    parts = ", ".join(f"{part} {seconds / created * 1000:.2f}" for part, seconds in cpu.items())
    total = sum(cpu.values()) / created * 1000
    bench.log(f"CPU ms per pledge: {parts}; whole stack {total:.2f}")
    bench.log(f"the machine was busy {100 * (1 - busy[1] / busy[0]):.0f}% of the POST run")
    bench.log(f"PostgreSQL sessions opened per pledge: {opened / created:.2f}")


if __name__ == "__main__":
    main(setup="--setup" in sys.argv[1:])
