"""Configuration errors stop the process at start with one line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DJANGO_DEBUG": "false",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-like-secret-key-for-checks-0123456789",
    "DJANGO_ALLOWED_HOSTS": "sponsor.hanvoice.ca",
    "FIELD_ENCRYPTION_KEYS": "a-production-like-field-encryption-key",
    "DATABASE_URL": "sqlite:///:memory:",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "CLAMAV_SOCKET": "/run/clamav/clamd.ctl",
}


def run_check(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off():
    result = run_check({**PRODUCTION, "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == (
        "Configuration error: DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off "
        "(50+ random characters)."
    )


@pytest.mark.parametrize(
    ("name", "value", "expects"),
    [
        ("DJANGO_DEBUG", "maybe", "true or false"),
        ("DATABASE_URL", "mysqlx://nowhere", "a URL"),
        ("DATABASE_CONN_MAX_AGE", "sixty", "a whole number"),
        ("CELERY_BROKER_URL", "pigeon://coop", "a broker URL"),
    ],
)
def test_it_names_a_malformed_variable_in_one_line(name, value, expects):
    result = run_check({**PRODUCTION, name: value})
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"Configuration error: {name} must be {expects}")
    assert "Traceback" not in result.stderr


def test_check_deploy_is_clean_with_production_values():
    result = run_check(PRODUCTION, "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("cache", ["locmemcache://", "dummycache://"])
def test_check_deploy_warns_of_a_cache_each_process_keeps_to_itself(cache):
    result = run_check({**PRODUCTION, "CACHE_URL": cache}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "hanvoice.W001" in result.stderr and "CACHE_URL" in result.stderr


def test_check_deploy_warns_when_uploads_would_not_be_scanned():
    result = run_check({**PRODUCTION, "CLAMAV_SOCKET": ""}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "hanvoice.W002" in result.stderr and "CLAMAV_SOCKET" in result.stderr


def _settings_value(env_overrides: dict[str, str], expression: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(env_overrides)
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            f"from django.conf import settings; print({expression})",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_cookies_stay_secure_when_a_proxy_does_the_https_redirect():
    value = _settings_value(
        {**PRODUCTION, "DJANGO_SECURE_SSL_REDIRECT": "false", "DJANGO_BEHIND_PROXY": "true"},
        "settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE, settings.TRUSTED_PROXY_COUNT",
    )
    assert value == "True True 1"
