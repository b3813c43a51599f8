"""The first e-mails a fresh web process queues from several threads at once all find their
task: the 1,000-concurrent-pledges test once failed on NotRegistered, because Celery's task
autodiscovery returns at once, importing nothing, while another thread is inside it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# A fresh interpreter (this one imported the tasks long ago). The discovery is slowed down so
# that every thread arrives while the first one is still inside it.
SCRIPT = """
import threading, time
import django
django.setup()
from celery.loaders import base
from core import outbox

slow = base.find_related_module
def find_related_module(package, related_name):
    time.sleep(0.05)
    return slow(package, related_name)
base.find_related_module = find_related_module

start = threading.Barrier(16)
errors = []
def work():
    start.wait()
    try:
        outbox._task("fundraising.tasks.send_donor_email")
        outbox._task("sponsorship.tasks.deliver_reminder")
    except Exception as exc:
        errors.append(repr(exc))
threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("ERRORS", len(errors), errors[:1])
"""


def test_sixteen_threads_find_the_task_on_their_first_enqueue():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "true",
        "PYTHONPATH": str(ROOT),
    }
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "ERRORS 0 []" in result.stdout, result.stdout + result.stderr[-2000:]
