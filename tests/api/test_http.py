"""``chargeline api`` as a real process over real HTTP: tokens per client, the generated
OpenAPI document, the live session and availability, server-sent events, hostile ids."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from warehouse.catalog import connect
from warehouse.live import charger_availability, live_session

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chargeline", *args], cwd=ROOT, check=False,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def api(live_warehouse: Path) -> Iterator[tuple[str, Path]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "chargeline", "api", "--data-dir", str(live_warehouse),
         "--port", "0", "--refresh", "0.2"], cwd=ROOT, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        found = re.search(r"(http://\S+)/v1", line)
        assert found, line
        yield found.group(1), live_warehouse
    finally:
        proc.terminate()
        proc.wait(20)


@pytest.fixture(scope="module")
def token(api: tuple[str, Path]) -> str:
    return add_client(api[1], "reader")


def get(url: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def add_client(data_dir: Path, name: str) -> str:
    done = cli("api", "--data-dir", str(data_dir), "clients", "add", name)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda v: v.isoformat().replace(
        "+00:00", "Z") if hasattr(v, "isoformat") else str(v)))


def test_tokens_per_client_and_the_open_openapi_document(api: tuple[str, Path]) -> None:
    url, data_dir = api
    status, doc = get(f"{url}/openapi.json")
    assert status == 200 and doc["info"]["title"] == "chargeline driver API"
    assert {"LiveSession", "ChargerAvailability", "Availability"} <= set(
        doc["components"]["schemas"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert set(doc["paths"]) == {
        "/v1/sessions/{session_id}", "/v1/sessions/{session_id}/events",
        "/v1/chargers/{charge_point_id}/availability", "/v1/chargers/{charge_point_id}/events",
        *(f"/ocpi/2.2.1/{m}" for m in ("cdrs", "sessions", "locations", "tariffs"))}
    assert get(f"{url}/v1/sessions/CP1%2F1")[0] == 401
    assert get(f"{url}/v1/sessions/CP1%2F1", "not-a-token")[0] == 401
    app_a, app_b = add_client(data_dir, "app-a"), add_client(data_dir, "app-b")
    assert app_a != app_b
    assert get(f"{url}/v1/sessions/CP1%2F1", app_a)[0] == 200
    again = cli("api", "--data-dir", str(data_dir), "clients", "add", "app-a")
    assert again.returncode != 0 and "exists" in again.stderr
    assert {"app-a", "app-b"} <= set(
        cli("api", "--data-dir", str(data_dir), "clients", "list").stdout.split())
    assert cli("api", "--data-dir", str(data_dir), "clients", "remove", "app-a").returncode == 0
    assert get(f"{url}/v1/sessions/CP1%2F1", app_a)[0] == 401  # revoked at once
    assert get(f"{url}/v1/sessions/CP1%2F1", app_b)[0] == 200
    assert oct((data_dir / "api_clients.json").stat().st_mode & 0o777) == "0o600"
    assert app_b not in (data_dir / "api_clients.json").read_text()  # only its hash


def test_the_api_answers_what_the_read_model_says(api: tuple[str, Path], token: str) -> None:
    url, data_dir = api
    added = cli("tariffs", "add", "STD", "--scope", "default", "--valid-from", "2025-01-01",
                "--currency", "EUR", "--vat", "21", "--energy", "0.40", "--session-fee",
                "0.50", "--data-dir", str(data_dir))
    assert added.returncode == 0, added.stderr
    time.sleep(0.5)  # past the API's shared read
    status, body = get(f"{url}/v1/sessions/{quote('CP3/7', safe='')}", token)
    assert status == 200
    con = connect(data_dir)
    model = live_session(con, data_dir, "CP3/7")
    assert model is not None
    expected = jsonable(asdict(model))
    for key in ("session_id", "charge_point_id", "status", "energy_kwh", "power_kw",
                "started_at", "sampled_at", "connector_id"):
        assert body[key] == expected[key], key
    assert body["energy_kwh"] == 7.2 and body["power_kw"] == 108.0
    # cost so far: 7.2 kWh x 0.40 + 0.50 = 3.38 excl. VAT, 21 % VAT 0.71, 4.09 incl.
    money = ("tariff_id", "tariff_version", "currency", "billed_energy_wh", "energy_cost",
             "session_fee", "cost_excl_vat", "vat", "cost_incl_vat")
    assert {k: body["cost"][k] for k in money} == {k: expected["cost"][k] for k in money}
    assert body["cost_provisional"] is True  # (its plugged time runs on: read a second apart)
    assert (body["cost"]["tariff_id"], body["cost"]["currency"]) == ("STD", "EUR")
    assert [float(body["cost"][k]) for k in ("cost_excl_vat", "vat", "cost_incl_vat")] == [
        3.38, 0.71, 4.09]
    status, body = get(f"{url}/v1/chargers/CP1/availability", token)
    availability = charger_availability(con, data_dir, "CP1")
    assert status == 200 and availability is not None
    assert body["connectors"] == jsonable(asdict(availability))["connectors"]
    assert [c["availability"] for c in body["connectors"]] == ["occupied", "available"]


@pytest.mark.parametrize("hostile", ["nope%2F1", "%27%3B%20drop%20table%20sessions%3B--",
                                     "%E2%80%AE%F0%9F%94%8C", "x" * 255])
def test_unknown_and_hostile_ids_are_404_never_500(api: tuple[str, Path], token: str,
                                                   hostile: str) -> None:
    url = api[0]
    assert get(f"{url}/v1/sessions/{hostile}", token)[0] == 404
    assert get(f"{url}/v1/chargers/{hostile}/availability", token)[0] == 404
    assert get(f"{url}/v1/sessions/{'x' * 256}", token)[0] == 422  # over the id limit
    assert get(f"{url}/v1/sessions/CP1%2F1", token)[0] == 200      # and it still answers


def test_events_stream_the_state(api: tuple[str, Path], token: str) -> None:
    url = api[0]
    request = urllib.request.Request(f"{url}/v1/sessions/{quote('CP3/7', safe='')}/events",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(x.startswith("data:") for x in lines):
            lines.append(stream.readline().decode().strip())
    assert "event: session" in lines
    data = json.loads(next(x for x in lines if x.startswith("data:"))[5:])
    assert data["session_id"] == "CP3/7" and data["energy_kwh"] == 7.2
