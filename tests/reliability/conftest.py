"""Reliability tests. `slow` ones run only when asked for (`-m slow`, or HANVOICE_SLOW_TESTS=1);
`make bench` runs them on PostgreSQL."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(config, items) -> None:
    wanted = (
        "slow" in (config.getoption("markexpr") or "")
        or os.environ.get("HANVOICE_SLOW_TESTS") == "1"
    )
    if wanted:
        return
    skip = pytest.mark.skip(reason="slow: run with -m slow (make bench does, on PostgreSQL)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
