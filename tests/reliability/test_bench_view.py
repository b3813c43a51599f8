"""The benchmark's trivial view exists only in benchmark settings."""

from __future__ import annotations


def test_it_does_not_route_bench_noop_outside_benchmarks(client, db):
    assert client.get("/bench/noop").status_code == 404
