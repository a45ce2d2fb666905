"""A real replay priced end to end: recorded traffic (``chargeline import`` + ``replay``: the
open-source station simulator's 80 sessions with fractional energies, and every quirk fixture
with its held sessions), sites and tariffs set up with the CLI; then finance_sessions, the
finance export and the OCPI CDRs, as finance and an eMSP read them."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from canonical.raw import rfc3339_to_ns
from chargeline.cli import main
from chargeline.ocpi.objects import ocpi_id
from chargeline.ocpi.schema import OcpiObject, problems
from tests.finance.conftest import cents, chargeline
from tests.flows.traffic import traffic_lines
from warehouse import catalog

FRAMES = Path(__file__).parents[1] / "data" / "frames"
SITE = ["--city", "Antwerpen", "--postal-code", "2000", "--country", "BEL", "--latitude",
        "51.21989", "--longitude", "4.40346", "--time-zone", "Europe/Brussels"]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("priced")
    data = root / "data"
    quirks = root / "quirks.jsonl"
    quirks.write_bytes(b"\n".join(traffic_lines(1, rfc3339_to_ns("2026-12-02T01:00:00Z"))))
    for journal in (FRAMES / "real_client_sample" / "frames.jsonl", quirks):
        chargeline("import", "--data-dir", str(data), str(journal))
    chargeline("replay", "--data-dir", str(data))
    cli = [["sites", "add", "default", "--name", "Depot", "--address", "Main 1", *SITE],
           ["sites", "add", "S1", "--name", "Harbour", "--address", "Kaai 2", *SITE,
            "--charger", "CS-ABB-00001", "--charger", "CS-KEBA-00001"],
           ["tariffs", "add", "DEF", "--valid-from", "2020-01-01", "--vat", "21", "--energy",
            "0.39", "--session-fee", "0.35"],
           ["tariffs", "add", "S1T", "--scope", "site", "--scope-id", "S1", "--valid-from",
            "2020-01-01", "--vat", "21", "--energy", "0.30", "--band", "01:44-23:00=0.45",
            "--time", "1.2", "--idle", "6", "--idle-grace", "1"],
           ["tariffs", "add", "S1T", "--scope", "site", "--scope-id", "S1", "--valid-from",
            "2026-12-02T00:44:00Z", "--vat", "21", "--energy", "0.5"]]
    for args in cli:
        assert main([*args, "--data-dir", str(data)]) == 0
    catalog.ensure(data)
    return data


def rows(data: Path, sql: str) -> list[dict[str, Any]]:
    con = catalog.connect(data)
    try:
        return list(catalog.query(con, data, sql).to_pylist())
    finally:
        con.close()


def test_every_reconciled_session_is_priced_and_held_ones_stay_provisional(
        warehouse: Path) -> None:
    finance = rows(warehouse, "select * from finance_sessions")
    billable = [r for r in finance if r["billable"]]
    held = [r for r in finance if not r["billable"]]
    assert len(billable) >= 170 and held
    assert all(r["cost_incl_vat"] is not None and not r["cost_provisional"] for r in billable)
    assert all(r["cost_provisional"] for r in held)
    assert {r["cost_missing_reason"] for r in held} >= {None, "no_start_time"}
    for r in finance:
        assert (r["cost_incl_vat"] is None) == (r["cost_missing_reason"] is not None), r
    default = [r for r in billable if r["tariff_id"] == "DEF"]
    assert any(r["energy_wh"] != int(r["energy_wh"]) for r in default)
    for r in default:
        kwh = Decimal(r["billed_energy_wh"]) / 1000
        assert r["energy_cost"] == cents(kwh * Decimal("0.39")), r
        assert r["cost_excl_vat"] == r["energy_cost"] + Decimal("0.35")
        assert r["cost_incl_vat"] == r["cost_excl_vat"] + cents(r["cost_excl_vat"] *
                                                                Decimal("0.21"))
    versions = {(r["charge_point_id"], r["tariff_version"]) for r in billable
                if r["tariff_id"] == "S1T"}
    assert {v for _, v in versions} == {1, 2}
    (total,) = rows(warehouse, "select sum(cost_incl_vat) as t from finance_sessions")
    assert total["t"] == sum(r["cost_incl_vat"] for r in finance if r["cost_incl_vat"])


def test_the_finance_export_carries_the_cost(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "finance.csv"
    assert main(["export", "finance", "--data-dir", str(warehouse), "--from", "2020-01-01",
                 "--to", "2027-12-31", "--output", str(out)]) == 0
    exported = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(exported) == len(rows(warehouse, "select session_id from finance_sessions"))
    priced = [r for r in exported if r["cost_incl_vat"]]
    assert priced and all(Decimal(r["cost_incl_vat"]) == Decimal(r["cost_excl_vat"]) +
                          Decimal(r["vat"]) for r in priced)


def test_ocpi_cdrs_are_schema_valid_and_cost_what_finance_bills(
        warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cdrs.json"
    assert main(["export", "ocpi-cdrs", "--data-dir", str(warehouse), "--from", "2020-01-01",
                 "--to", "2027-12-31", "--output", str(out), "--country-code", "BE",
                 "--party-id", "CHL"]) == 0
    cdrs = json.loads(out.read_text())
    finance = {r["session_id"]: r for r in rows(warehouse, "select * from finance_sessions")}
    billable = [s for s, r in finance.items()
                if r["billable"] and r["cost_incl_vat"] is not None]
    assert [problems(OcpiObject.cdr, c) for c in cdrs] == [[]] * len(cdrs)
    assert len(cdrs) == len(billable)
    print(f"OCPI CDRs validated: {len(cdrs)}, 0 invalid")
    by_id = {c["id"]: c for c in cdrs}
    for session_id in billable:
        cdr, r = by_id[ocpi_id(session_id)], finance[session_id]
        assert Decimal(str(cdr["total_cost"]["excl_vat"])) == r["cost_excl_vat"]
        assert Decimal(str(cdr["total_cost"]["incl_vat"])) == r["cost_incl_vat"]
        energy = sum(d["volume"] for p in cdr["charging_periods"] for d in p["dimensions"]
                     if d["type"] == "ENERGY")
        assert round(energy * 1000) == r["billed_energy_wh"]
    assert "0 invalid; left out:" in capsys.readouterr().err


def test_ocpi_locations_and_tariffs_are_schema_valid(warehouse: Path, tmp_path: Path) -> None:
    for what, kind in (("locations", OcpiObject.location), ("tariffs", OcpiObject.tariff)):
        out = tmp_path / f"{what}.json"
        assert main(["export", f"ocpi-{what}", "--data-dir", str(warehouse),
                     "--output", str(out)]) == 0
        found = json.loads(out.read_text())
        assert found and all(problems(kind, o) == [] for o in found)
    locations = {loc["id"]: loc for loc in json.loads((tmp_path / "locations.json").read_text())}
    harbour = {e["uid"] for e in locations["S1"]["evses"]}
    assert {"CS-ABB-00001-1", "CS-KEBA-00001-1"} <= harbour
    assert {uid.rsplit("-", 1)[0] for uid in harbour} == {"CS-ABB-00001", "CS-KEBA-00001"}
    assert {e["status"] for loc in locations.values() for e in loc["evses"]} <= {
        "AVAILABLE", "CHARGING", "UNKNOWN", "OUTOFORDER", "INOPERATIVE", "RESERVED"}
    assert locations["S1"]["evses"][0]["connectors"][0]["tariff_ids"] == ["S1T-v2"]


def test_the_ocpi_endpoint_serves_what_the_export_writes(warehouse: Path,
                                                         tmp_path: Path) -> None:
    """``chargeline api``'s /ocpi/2.2.1 over real HTTP: OCPI's Token auth, its envelope and
    pagination; the CDRs are the export's, object for object."""
    import base64
    import re
    import subprocess
    import sys
    import urllib.error
    import urllib.request

    out = tmp_path / "cdrs.json"
    assert main(["export", "ocpi-cdrs", "--data-dir", str(warehouse), "--from", "2020-01-01",
                 "--to", "2027-12-31", "--output", str(out), "--country-code", "BE",
                 "--party-id", "CHL"]) == 0
    exported = json.loads(out.read_text())
    token = subprocess.run([sys.executable, "-m", "chargeline", "api", "--data-dir",
                            str(warehouse), "clients", "add", "emsp"], capture_output=True,
                           text=True, check=True).stdout.strip()
    api = subprocess.Popen([sys.executable, "-m", "chargeline", "api", "--data-dir",
                            str(warehouse), "--port", "0", "--country-code", "BE",
                            "--party-id", "CHL"], stderr=subprocess.PIPE, text=True)
    try:
        assert api.stderr is not None
        found = re.search(r"(http://\S+)/v1", api.stderr.readline())
        assert found
        base = f"{found.group(1)}/ocpi/2.2.1"

        def get(path: str, auth: str | None) -> tuple[int, Any, Any]:
            request = urllib.request.Request(base + path)
            if auth:
                request.add_header("Authorization", auth)
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    return reply.status, reply.headers, json.loads(reply.read())
            except urllib.error.HTTPError as exc:
                return exc.code, exc.headers, None

        ocpi_token = "Token " + base64.b64encode(token.encode()).decode()
        assert get("/cdrs", None)[0] == 401 and get("/cdrs", "Token nope")[0] == 401
        span = "?date_from=2020-01-01T00:00:00Z&date_to=2027-12-31T00:00:00Z"
        status, headers, body = get(f"/cdrs{span}", ocpi_token)
        assert status == 200 and body["status_code"] == 1000
        assert body["data"] == exported and int(headers["X-Total-Count"]) == len(exported)
        status, headers, first = get(f"/cdrs{span}&limit=2", f"Token {token}")
        assert status == 200, status
        assert first["data"] == exported[:2] and 'rel="next"' in headers["Link"]
        for what in ("sessions", "locations", "tariffs"):
            status, _, body = get(f"/{what}", ocpi_token)
            assert status == 200 and body["status_code"] == 1000, what
        assert get("/cdrs?limit=0", ocpi_token)[0] == 422
    finally:
        api.terminate()
        api.wait(20)
