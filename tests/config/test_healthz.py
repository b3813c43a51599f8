from __future__ import annotations

import pytest
from django.db import OperationalError

from config import views
from tests.factories import FamilyFactory


@pytest.mark.django_db
def test_it_answers_ok_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "broker": "ok", "encryption": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_it_reports_503_naming_the_failing_broker(client, monkeypatch):
    def broken() -> None:
        raise ConnectionRefusedError("broker down")

    monkeypatch.setitem(views.CHECKS, "broker", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["broker"]
    assert response.json()["checks"]["database"] == "ok"


@pytest.mark.django_db
def test_it_reports_503_naming_the_failing_database(client, monkeypatch):
    def broken() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setitem(views.CHECKS, "database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database"]


@pytest.mark.django_db
def test_it_refuses_post(client):
    assert client.post("/healthz").status_code == 405


@pytest.mark.django_db
def test_it_reports_503_when_the_field_keys_cannot_read_stored_values(client, settings, caplog):
    FamilyFactory(narrative="Healthz sample narrative", current_location="Healthzville")
    assert client.get("/healthz").json()["checks"]["encryption"] == "ok"

    settings.FIELD_ENCRYPTION_KEYS = ["a-wrong-key-after-a-bad-deploy"]
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["failing"] == ["encryption"]
    said = response.content.decode() + caplog.text
    assert "FIELD_ENCRYPTION_KEYS" in caplog.text
    assert "Healthz" not in said and "families_" not in response.content.decode()
