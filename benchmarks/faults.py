"""Fault tests that stop servers, run by `make bench` (or alone: `python benchmarks/faults.py`).

Other engineers share this machine's PostgreSQL and Redis, so these tests never touch them:
they start a private, throwaway Redis (port 6390) and PostgreSQL cluster (/tmp/hv-pg-5440,
port 5440, trust on loopback only; BENCH_FAULT_PORTS moves them), run gunicorn + a Celery
worker against them, break things, and remove both servers in `finally`.

1. Redis stopped while donors pledge: every pledge saved, confirmations sent once Redis is
   back (by the reconciler, as beat runs it every 10 minutes), none twice.
2. The Celery worker SIGKILLed mid-sweep (the donor reminder sweep: instalment-due and lapsed
   e-mails), restarted: every due reminder sent exactly once.
3. PostgreSQL restarted under load: /healthz says 503 while it is down; the app recovers
   without a restart of its own.

Prints one line `FAULTS_JSON [rows]` for run.py's table.
"""

from __future__ import annotations

import datetime as dt
import email
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.run import (  # noqa: E402 - after the path set-up
    BENCH_ENV,
    HOST,
    LOG_DIR,
    Stack,
    burst,
    csrf_pair,
    django_setup,
    log,
    run,
    wrk,
    yes,
)

# Ports and paths can be moved (BENCH_FAULT_PORTS="web,redis,postgres") where several runs
# share the machine.
_PORTS = os.environ.get("BENCH_FAULT_PORTS", "8766,6390,5440").split(",")
REDIS_PORT = int(_PORTS[1])
PG_PORT = int(_PORTS[2])
PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_DATA = Path(f"/tmp/hv-pg-{PG_PORT}")
PG_LOG = Path(f"/tmp/hv-pg-{PG_PORT}.log")
PORT = int(_PORTS[0])
BASE = f"http://{HOST}:{PORT}"
MAIL_DIR = Path(f"/tmp/hv-bench-faults-mail-{PORT}")
DB = "hanvoice_faults"
ENV = {
    **BENCH_ENV,
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PG_PORT}/{DB}",
    "CELERY_BROKER_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
    "CACHE_URL": f"redis://127.0.0.1:{REDIS_PORT}/1",
    "EMAIL_URL": f"filemail:///{MAIL_DIR}",
    "SITE_URL": BASE,
    # A dead database must fail fast, not hang a worker for the OS's TCP timeout.
    "DATABASE_CONN_MAX_AGE": "60",
}
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex((HOST, port)) != 0


# --- private servers ------------------------------------------------------------------------


def redis_start() -> None:
    run(
        [
            "redis-server",
            "--port",
            str(REDIS_PORT),
            "--bind",
            HOST,
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "yes",
        ]
    )
    for _ in range(50):
        if (
            subprocess.run(
                ["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, check=False
            ).stdout.strip()
            == b"PONG"
        ):
            return
        time.sleep(0.1)
    raise RuntimeError("private Redis did not start")


def redis_stop() -> None:
    subprocess.run(
        ["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True, check=False
    )


def pg_ctl(*args: str, check: bool = True) -> None:
    run([*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", str(PG_DATA), *args], timeout=60, check=check)


def pg_start() -> None:
    pg_ctl(
        "-w",
        "-l",
        str(PG_LOG),
        "-o",
        f"-p {PG_PORT} -c listen_addresses={HOST} -c unix_socket_directories=/tmp",
        "start",
    )


def pg_create() -> None:
    shutil.rmtree(PG_DATA, ignore_errors=True)
    PG_LOG.touch()
    shutil.chown(PG_LOG, "postgres")
    run(
        [*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", str(PG_DATA), "-A", "trust", "-U", "postgres"]
        + ["--no-sync", "-E", "UTF8"],
        timeout=120,
    )
    pg_start()
    run(["psql", f"postgres://postgres@{HOST}:{PG_PORT}/postgres", "-qc", f"CREATE DATABASE {DB}"])


def pg_destroy() -> None:
    if PG_DATA.exists():
        pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(PG_DATA, ignore_errors=True)


# --- mail -----------------------------------------------------------------------------------


def mail_messages() -> list[tuple[str, str, str]]:
    """(To, Subject, Message-ID) of every message the file backend wrote."""
    found = []
    for path in sorted(MAIL_DIR.glob("*.log")):
        for chunk in path.read_text(errors="replace").split("-" * 79):
            if "Message-ID:" not in chunk:
                continue
            message = email.message_from_string(chunk.strip())
            found.append((str(message["To"]), str(message["Subject"]), str(message["Message-ID"])))
    return found


def queue_length() -> int:
    out = subprocess.run(
        ["redis-cli", "-p", str(REDIS_PORT), "-n", "0", "llen", "celery"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return int(out) if out.isdigit() else 0


def clear_mail() -> None:
    shutil.rmtree(MAIL_DIR, ignore_errors=True)
    MAIL_DIR.mkdir(parents=True)


# --- the faults -----------------------------------------------------------------------------


def fault_redis_down(give: str) -> dict:
    # Imported here: this script calls django.setup() at run time, after the module loads.
    from core import outbox
    from fundraising import services
    from fundraising.models import DonorEmail, Pledge

    clear_mail()
    redis_stop()
    log("private Redis stopped; donors pledge")
    prefix = "redisdown."
    result = burst(give, count=40, prefix=prefix, workers=8, base=BASE)
    saved = Pledge.objects.filter(email__startswith=prefix)
    confirmations = DonorEmail.objects.filter(pledge__in=saved, kind=DonorEmail.Kind.CONFIRMATION)
    waiting = confirmations.filter(sent_at__isnull=True).count()
    redis_start()
    time.sleep(3)  # the worker reconnects by itself
    # Beat runs the reconciler every 10 minutes; run it as it would then (after the grace).
    later = dt.datetime.now(dt.UTC) + outbox.QUEUE_GRACE + dt.timedelta(seconds=5)
    sent = services.donor_emails_reconcile(now=later)
    again = services.donor_emails_reconcile(now=later + dt.timedelta(minutes=20))
    mine = [m for m in mail_messages() if m[0].startswith(prefix)]
    ok = (
        saved.count() == 40
        and result["statuses"] == {302: 40}
        and confirmations.filter(sent_at__isnull=False).count() == 40
        and len(mine) == 40
        and len(set(mine)) == 40
        and again == 0
    )
    return {
        "name": "Fault: Redis (broker + cache) stopped while 40 donors pledge",
        "value": f"statuses {result['statuses']}; {saved.count()} pledges saved, {waiting} "
        f"confirmations waiting while down; after restart the reconciler sent {sent}, a second "
        f"run {again}; {len(mine)} messages, {len(set(mine))} distinct",
        "target": "every pledge saved, confirmations sent after, none twice",
        "met": yes(ok),
    }


def fault_worker_killed(stack: Stack) -> dict:
    # Imported here: this script calls django.setup() at run time, after the module loads.
    from core import outbox
    from fundraising import services
    from fundraising.models import DonorEmail
    from fundraising.tasks import run_donor_reminder_sweep

    kinds = [DonorEmail.Kind.INSTALMENT_DUE, DonorEmail.Kind.LAPSED, DonorEmail.Kind.LAPSED_STAFF]
    rows = DonorEmail.objects.filter(kind__in=kinds)
    clear_mail()
    run_donor_reminder_sweep.delay()
    sent_at_kill = total = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        total = rows.count()
        sent_at_kill = rows.filter(sent_at__isnull=False).count()
        if total and sent_at_kill >= min(20, total // 5):
            break
        time.sleep(0.02)
    stack.kill("worker", signal.SIGKILL)
    log(f"worker SIGKILLed with {sent_at_kill} of {total} reminders sent")
    claimed_unsent = rows.filter(claimed_at__isnull=False, sent_at__isnull=True).count()
    stack.start_worker()
    # The restarted worker drains what is still queued; wait until the queue is empty and
    # nothing changes for 3 s (the reconciler below must not race a live send: in production
    # it runs only after the 15-minute claim timeout).
    previous, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
        queue_length() > 0 or time.monotonic() - stable_since < 3
    ):
        now_sent = rows.filter(sent_at__isnull=False).count()
        if now_sent != previous:
            previous, stable_since = now_sent, time.monotonic()
        time.sleep(0.3)
    drained_by_worker = rows.filter(sent_at__isnull=False).count() - sent_at_kill
    # Rows the dead worker had claimed: the reconciler resends them after the claim timeout.
    later = dt.datetime.now(dt.UTC) + outbox.CLAIM_TIMEOUT + dt.timedelta(minutes=1)
    reconciled = services.donor_emails_reconcile(now=later)
    services.donor_reminder_sweep()  # the next day's beat run, or an operator's re-run
    time.sleep(3)
    again = services.donor_emails_reconcile(now=later + dt.timedelta(minutes=30))
    # A reminder that became obsolete before sending (the pledge cancelled, its reminders
    # turned off) is dropped on purpose: not due any more.
    obsolete = rows.filter(
        sent_at__isnull=True, failed_at__isnull=False, last_error__startswith=services.OBSOLETE
    )
    due = rows.exclude(pk__in=obsolete.values("pk"))
    total, dropped = due.count(), obsolete.count()
    sent = due.filter(sent_at__isnull=False).count()
    unsent = due.filter(sent_at__isnull=True).values_list("kind", "last_error")[:3]
    messages = mail_messages()  # the directory was emptied before the sweep
    distinct = len({m[2] for m in messages})
    ok = sent == total and distinct == total and again == 0
    return {
        "name": "Fault: Celery worker SIGKILLed mid-sweep (donor reminders), restarted",
        "value": f"{total} reminders due ({dropped} obsolete, dropped); {sent_at_kill} sent "
        f"before the kill, {claimed_unsent} claimed by the dead worker, {drained_by_worker} "
        f"sent by the restarted worker, {reconciled} by "
        f"the reconciler; {sent} sent in all, {len(messages)} messages written "
        f"({distinct} distinct Message-IDs)"
        + (f"; unsent {list(unsent)}" if sent != total else ""),
        "target": "every due reminder sent exactly once",
        "met": yes(ok),
    }


def fault_family_worker_killed(stack: Stack) -> dict:
    """The same fault for the family reminders (milestones, reviews, support periods): the
    worker dies mid-delivery; the restarted worker and the reconciler finish the job."""
    from django.db.models import F

    from core import outbox
    from sponsorship import reminders
    from sponsorship.models import Reminder
    from sponsorship.tasks import run_reminder_sweep

    rows = Reminder.objects.all()
    clear_mail()
    run_reminder_sweep.delay()
    sent_at_kill = total = 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        total = rows.count()
        sent_at_kill = rows.filter(sent_at__isnull=False).count()
        if total and sent_at_kill >= min(10, total // 5):
            break
        time.sleep(0.02)
    stack.kill("worker", signal.SIGKILL)
    log(f"worker SIGKILLed with {sent_at_kill} of {total} family reminders sent")
    claimed_unsent = rows.filter(claimed_at__isnull=False, sent_at__isnull=True).count()
    stack.start_worker()
    previous, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and (
        queue_length() > 0 or time.monotonic() - stable_since < 3
    ):
        now_sent = rows.filter(sent_at__isnull=False).count()
        if now_sent != previous:
            previous, stable_since = now_sent, time.monotonic()
        time.sleep(0.3)
    drained_by_worker = rows.filter(sent_at__isnull=False).count() - sent_at_kill
    # Let the claim timeout pass (as the 10-minute reconcile would see it 16 minutes later):
    # move the dead worker's claims and the queue times back rather than sleeping.
    past = outbox.CLAIM_TIMEOUT + dt.timedelta(minutes=1)
    rows.filter(sent_at__isnull=True).update(
        created_at=F("created_at") - past,
        claimed_at=F("claimed_at") - past,
    )
    reconciled = sum(reminders.reminder_reconcile().values())
    run_reminder_sweep.delay()  # beat again the same day: nothing new may be sent
    time.sleep(3)
    rows.filter(sent_at__isnull=True).update(claimed_at=F("claimed_at") - past)
    again = reminders.reminder_reconcile().get("sent", 0)
    due = rows.filter(cancelled_at__isnull=True, failed_at__isnull=True)
    total, sent = due.count(), due.filter(sent_at__isnull=False).count()
    inbox_only = due.filter(sent_at__isnull=False, emailed=False).count()
    messages = mail_messages()
    distinct = len({m[2] for m in messages})
    # A message handed to the mail server just before the kill is sent again with the same
    # Message-ID (core/emails.py): the recipient's mail system shows it once.
    ok = sent == total and distinct == sent - inbox_only and again == 0
    return {
        "name": "Fault: Celery worker SIGKILLed mid-delivery (family reminders), restarted",
        "value": f"{total} reminders due; {sent_at_kill} sent before the kill, {claimed_unsent} "
        f"claimed by the dead worker, {drained_by_worker} sent by the restarted worker, "
        f"{reconciled} handled by the reconciler; {sent} sent in all, {len(messages)} e-mails "
        f"written, {distinct} distinct Message-IDs; a second sweep and reconcile sent {again}",
        "target": "every due reminder sent exactly once",
        "met": yes(ok),
    }


def fault_postgres_restart(stack: Stack, give: str) -> dict:
    from django.db import connections

    from fundraising.models import Pledge

    probes: list[tuple[float, float, int]] = []
    stop = threading.Event()

    # Each probe is kept with the moments it was sent and answered: only one sent after the
    # stop and answered before the start says how the site answers while the database is down
    # (one sent just before the stop may be answered 200 after it, and PostgreSQL accepts
    # connections a little before `pg_ctl start -w` returns).
    def probe() -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(BASE + "/healthz", timeout=5) as r:  # noqa: S310
                    code = r.status
            except urllib.error.HTTPError as exc:
                code = exc.code
            except OSError:
                code = 0
            probes.append((sent, time.monotonic(), code))
            time.sleep(0.2)

    web_pid = stack.procs["gunicorn"].pid
    load = {}
    loader = threading.Thread(
        target=lambda: load.update(wrk(give, connections=16, seconds=12, base=BASE))
    )
    prober = threading.Thread(target=probe)
    loader.start()
    prober.start()
    time.sleep(3)
    connections.close_all()
    pg_ctl("-m", "fast", "-w", "stop")
    down_at = time.monotonic()
    log("private PostgreSQL stopped under load")
    time.sleep(4)
    pg_start()
    up_at = time.monotonic()
    log("private PostgreSQL started again")
    recovered_at = None
    deadline = up_at + 30
    while time.monotonic() < deadline and recovered_at is None:
        time.sleep(0.2)
        recovered_at = next((t for t, _, c in probes if t > up_at and c == 200), None)
    loader.join(timeout=60)
    stop.set()
    prober.join(timeout=10)
    during = [c for sent, answered, c in probes if down_at + 0.3 < sent and answered < up_at - 0.3]
    cookie, token = csrf_pair(give, BASE)
    from benchmarks.run import post_pledge

    status = post_pledge(
        give,
        cookie,
        token,
        {
            "idempotency_key": "6f1d2a0e-1b7c-4c3e-9d5a-000000000001",
            "other_amount": "12.34",
            "donor_name": "After Restart",
            "email": "after.restart@example.org",
        },
        BASE,
    )
    connections.close_all()
    saved = Pledge.objects.filter(email="after.restart@example.org").count()
    same_process = stack.procs["gunicorn"].pid == web_pid and stack.procs["gunicorn"].poll() is None
    recovery = (recovered_at - up_at) if recovered_at else None
    ok = (
        bool(during)
        and set(during) == {503}
        and recovery is not None
        and recovery < 10
        and status == 302
        and saved == 1
        and same_process
    )
    return {
        "name": "Fault: PostgreSQL restarted under load (16 connections on the public page)",
        "value": f"/healthz while down: {sorted(set(during))} ({len(during)} probes); healthy "
        + (f"{recovery:.1f} s after the restart" if recovery is not None else "NEVER")
        + f"; a pledge afterwards: HTTP {status}, saved {saved}; same gunicorn: {same_process}; "
        f"public page during the test: {load.get('requests', 0)} requests, "
        f"{load.get('non_2xx_3xx', '?')} non-2xx/3xx",
        "target": "503 while down, recovers without a restart",
        "met": yes(ok),
    }


def main() -> int:
    for port in (REDIS_PORT, PG_PORT, PORT):
        if not port_free(port):
            log(f"port {port} is in use: a previous run left a server? (see README, Operations)")
            return 2
    rows: list[dict] = []
    stack = Stack({**os.environ, **ENV}, port=PORT, log_dir=LOG_DIR / "faults")
    try:
        redis_start()
        pg_create()
        clear_mail()
        django_setup(ENV)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.core.management import call_command

        from benchmarks import scale
        from core.roles import FUNDRAISING

        call_command("migrate", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        scale.scale(families=120, pledges=1500)
        staff, _ = get_user_model().objects.get_or_create(
            username="bench.fundraiser@example.org",
            defaults={"email": "bench.fundraiser@example.org", "is_staff": True},
        )
        staff.groups.add(Group.objects.get_or_create(name=FUNDRAISING)[0])
        stack.start_web()
        stack.start_worker()
        time.sleep(3)
        give = f"/give/{scale.SLUG}/"
        for name, fault in (
            ("redis", lambda: fault_redis_down(give)),
            ("worker", lambda: fault_worker_killed(stack)),
            ("family worker", lambda: fault_family_worker_killed(stack)),
            ("postgres", lambda: fault_postgres_restart(stack, give)),
        ):
            try:
                rows.append(fault())
            except Exception as exc:  # noqa: BLE001 - reported as a failed row, next fault runs
                rows.append(
                    {"name": f"Fault: {name}", "value": f"error: {exc!r}"[:300], "met": "**no**"}
                )
            log(f"{rows[-1]['name']}: {rows[-1]['met']} — {rows[-1]['value']}")
    finally:
        stack.stop()
        redis_stop()
        pg_destroy()
        shutil.rmtree(MAIL_DIR, ignore_errors=True)
        log("private servers removed")
    print("FAULTS_JSON " + json.dumps(rows, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
