"""OCPI objects the export builds: a live session's Session carries the cost so far that
``cost_of`` gives; the schemas written from the spec refuse what the spec refuses."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from chargeline.cli import main
from chargeline.ocpi.schema import OcpiObject, problems
from tests.finance.conftest import session, site_fields, tariff_fields
from tests.warehouse.conftest import MIN, T0
from warehouse.cost import cost_of

EXAMPLE_CDR = {  # OCPI 2.2.1 §10.3.1.1, the spec's own example (coordinates as in §8.3.1.1)
    "country_code": "BE", "party_id": "BEC", "id": "12345",
    "start_date_time": "2015-06-29T21:39:09Z", "end_date_time": "2015-06-29T23:37:32Z",
    "cdr_token": {"country_code": "DE", "party_id": "TNM", "uid": "012345678", "type": "RFID",
                  "contract_id": "DE8ACC12E46L89"},
    "auth_method": "WHITELIST",
    "cdr_location": {"id": "LOC1", "name": "Gent Zuid", "address": "F.Rooseveltlaan 3A",
                     "city": "Gent", "postal_code": "9000", "country": "BEL",
                     "coordinates": {"latitude": "51.047599", "longitude": "3.729944"},
                     "evse_uid": "3256", "evse_id": "BE*BEC*E041503003", "connector_id": "1",
                     "connector_standard": "IEC_62196_T2", "connector_format": "SOCKET",
                     "connector_power_type": "AC_1_PHASE"},
    "currency": "EUR",
    "tariffs": [{"country_code": "BE", "party_id": "BEC", "id": "12", "currency": "EUR",
                 "elements": [{"price_components": [{"type": "TIME", "price": 2.00, "vat": 10.0,
                                                     "step_size": 300}]}],
                 "last_updated": "2015-02-02T14:15:01Z"}],
    "charging_periods": [{"start_date_time": "2015-06-29T21:39:09Z",
                          "dimensions": [{"type": "TIME", "volume": 1.973}], "tariff_id": "12"}],
    "total_cost": {"excl_vat": 4.00, "incl_vat": 4.40}, "total_energy": 15.342,
    "total_time": 1.973, "total_time_cost": {"excl_vat": 4.00, "incl_vat": 4.40},
    "last_updated": "2015-06-29T22:01:13Z"}


def broken(path: list[str], value: object) -> dict:
    cdr = copy.deepcopy(EXAMPLE_CDR)
    target = cdr
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return cdr


def test_the_specs_example_cdr_is_valid() -> None:
    assert problems(OcpiObject.cdr, EXAMPLE_CDR) == []


@pytest.mark.parametrize(("path", "value", "says"), [
    (["total_cost"], KeyError, "'total_cost' is a required property"),
    (["auth_method"], "PASSWORD", "is not one of"),
    (["id"], "x" * 40, "is too long"),
    (["cdr_location", "address"], "Main\n1", "does not match"),
    (["cdr_location", "coordinates", "latitude"], "51.04", "does not match"),
    (["start_date_time"], "2015-06-29T21:39:09+02:00", "does not match"),
    (["charging_periods"], [], "should be non-empty"),
    (["cdr_token", "party_id"], "TOOLONG", "is too long"),
    (["total_cost", "excl_vat"], "4.00", "is not of type 'number'"),
    (["surprise"], 1, "Additional properties"),
])
def test_the_schema_refuses_what_the_spec_refuses(path: list[str], value: object,
                                                  says: str) -> None:
    found = problems(OcpiObject.cdr, broken(path, value))
    assert found and any(says in p for p in found), found


def test_a_live_session_is_exported_with_its_cost_so_far(priced_factory, tmp_path: Path) -> None:
    live = session("9", status="active", stopped_at=None, meter_stop_wh=None, energy_wh=4321.0,
                   max_power_w=11000.0, last_event_at=T0 + 40 * MIN)
    rows = priced_factory([live, session("1")],
                          [tariff_fields(energy_per_kwh="0.35", time_per_hour="0.60")],
                          [site_fields("default", charge_point_ids="")])
    out = tmp_path / "sessions.json"
    assert main(["export", "ocpi-sessions", "--data-dir", str(rows.data_dir),
                 "--output", str(out)]) == 0
    (found,) = json.loads(out.read_text())
    assert problems(OcpiObject.session, found) == []
    so_far = cost_of(rows.data_dir, "CP1", started_at=datetime(2026, 1, 1, 10, tzinfo=UTC),
                     until=datetime(2026, 1, 1, 10, 40, tzinfo=UTC), energy_wh=4321.0,
                     max_power_w=11000.0)
    assert (found["id"], found["status"], found["kwh"]) == ("CP1/9", "ACTIVE", 4.321)
    assert Decimal(str(found["total_cost"]["incl_vat"])) == so_far.cost_incl_vat
    # 4.321 kWh x 0.35 = 1.51; 1415 s charging (4321 Wh at 11 kW, rounded up) x 0.60/h = 0.24;
    # 1.75 + 21 % VAT (0.3675: 0.37) = 2.12
    assert so_far.cost_incl_vat == Decimal("2.12")
