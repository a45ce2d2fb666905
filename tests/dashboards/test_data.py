"""The loaders that bound their reads to one session's span give what the views give."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dashboards import data

SESSIONS = ["CP1/1", "CP1/2", "CP2/3", "CP2/0", "CP3/7", "CP9/none"]


@pytest.fixture
def on(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(warehouse))
    data._load.clear()
    return warehouse


@pytest.mark.parametrize("session_id", SESSIONS)
def test_timeline_is_the_views_rows_of_the_session(on: Path, session_id: str) -> None:
    view = data.load('select position, "at", source, direction, action, event_type, summary,'
                     " frame_id, event_id, raw from session_timeline where session_id = ?"
                     " order by position", (session_id,))
    got = data.timeline(session_id)
    assert list(got.columns) == list(view.columns)
    assert got.astype(str).values.tolist() == view.astype(str).values.tolist()
    assert (len(got) > 0) == (session_id == "CP1/1")


@pytest.mark.parametrize("session_id", SESSIONS)
def test_samples_are_the_sessions_meter_samples(on: Path, session_id: str) -> None:
    unbounded = data.load("""
        select e.server_received_at as "at", max(e.value) filter (
            where e.measurand = 'Energy.Active.Import.Register') as register_wh
        from events as e join sessions as s on e.charge_point_id = s.charge_point_id
            and e.transaction_key = s.transaction_id
        where s.session_id = ? and e.event_type = 'meter_sample' and e.phase is null
        group by all order by 1""", (session_id,))
    got = data.session_samples(session_id)
    assert got["at"].tolist() == unbounded["at"].tolist()
    delivered = (unbounded["register_wh"] - unbounded["register_wh"].min()) / 1000.0
    pd.testing.assert_series_equal(got["energy_kwh"], delivered, check_names=False,
                                   check_dtype=False)
    assert (len(got) > 0) == (session_id == "CP1/1")


def test_firmware_updates_are_the_latest_notification_of_each_charger(on: Path) -> None:
    plain = data.load("""select charge_point_id, arg_max(status, server_received_at)
        as update_status, max(server_received_at) as reported_at, count(*) as notifications
        from events where event_type = 'firmware_status' group by all
        order by reported_at desc""")
    got = data.firmware_updates()
    assert not got.empty
    assert got.astype(str).values.tolist() == plain.astype(str).values.tolist()
