"""Each page through the real entry (``app.py``, its navigation and gate) with AppTest, on the
fixture fleet of ``conftest.py``: the numbers an operator or finance would read."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parents[2] / "dashboards" / "app.py")


def open_page(data_dir: Path, name: str, monkeypatch: pytest.MonkeyPatch,
              **params: str) -> AppTest:
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("CHARGELINE_DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def as_shown(markdown: str) -> str:
    """What Streamlit shows of a Markdown text whose punctuation is backslash-escaped (as the
    pages escape data: ``widgets.plain``)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def metrics(at: AppTest) -> dict[str, str]:
    return {as_shown(m.label): as_shown(m.value) for m in at.metric}


def test_fleet_shows_the_fleet_now_and_offline_first(warehouse: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "fleet", monkeypatch)
    assert metrics(at) == {
        "Fleet online": "66.7 %", "Sessions in progress": "1", "Power now": "18.0 kW",
        "Energy, last 24 h": "23.5 kWh", "Avg response": "120 ms", "Alerts open": "3"}
    chargers = at.dataframe[0].value
    assert list(chargers["charge_point_id"]) == ["CP2", "CP3", "CP1"]
    assert list(chargers["state"]) == ["offline", "degraded", "ok"]


def test_sessions_lists_energy_and_links_each_to_its_timeline(
        warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "sessions", monkeypatch)
    rows = at.dataframe[0].value.set_index("session_id")
    assert rows.loc["CP1/1", "energy_kwh"] == pytest.approx(7.0)
    assert rows.loc["CP1/1", "open"] == "/sessions?session=CP1%2F1"
    assert metrics(at) == {"Live sessions": "1"}


def test_sessions_filters_by_charger_status_and_day(warehouse: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "sessions", monkeypatch)
    at.text_input[0].set_value("CP2").run()
    assert set(at.dataframe[0].value["session_id"]) == {"CP2/3", "CP2/0"}
    at.date_input[0].set_value("2026-01-01").run()
    assert list(at.dataframe[0].value["session_id"]) == ["CP2/3"]
    at.text_input[0].set_value("").run()
    at.selectbox[0].set_value("active").run()
    assert list(at.dataframe[0].value["session_id"]) == ["CP3/7"]


def test_one_session_its_numbers_anomalies_and_timeline(warehouse: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "sessions", monkeypatch, session="CP1/1")
    shown = metrics(at)
    assert shown["Energy"] == "7.000 kWh" and shown["Energy rule"] == "register_delta"
    fields = dict(zip(at.table[0].value["field"], map(as_shown, at.table[0].value["value"]),
                      strict=True))
    assert fields["started_at_raw"] == "2026-01-01T10:00:00Z"
    assert fields["meter_stop_wh"] == "8000.0"
    timeline = at.dataframe[-1].value
    frames = timeline[timeline["source"] == "frame"]
    assert list(frames["action"]) == [a for a in ["StartTransaction", *["MeterValues"] * 6,
                                                  "StopTransaction"] for _ in "io"]
    assert (timeline["source"] == "event").sum() == 14
    assert len(at.expander) == 16
    assert at.get("download_button")


def test_a_flagged_session_shows_its_anomaly(warehouse: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "sessions", monkeypatch, session="CP1/2")
    assert metrics(at)["Flags"] == "meter_mismatch"
    anomalies = at.dataframe[0].value
    assert list(anomalies["kind"]) == ["meter_mismatch"]


def test_chargers_list_and_one_chargers_connectivity(warehouse: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "chargers", monkeypatch)
    at.text_input[0].set_value("cp3").run()
    assert list(at.dataframe[0].value["charge_point_id"]) == ["CP3"]
    one = open_page(warehouse, "chargers", monkeypatch, charger="CP2")
    shown = metrics(one)
    assert shown["State"] == "offline" and shown["Firmware"] == "4.0.1"
    assert shown["Offline minutes (24 h)"] == "10" and shown["Reconnects (24 h)"] == "1"
    spans = one.dataframe[0].value
    assert list(spans["minutes"]) == [10.0]
    cp1 = open_page(warehouse, "chargers", monkeypatch, charger="CP1")
    assert list(cp1.dataframe[0].value["status"]) == ["Charging", "Available"]


def test_alerts_by_kind_each_linked(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "alerts", monkeypatch)
    rows = at.dataframe[0].value.set_index("alert_id")
    assert rows.loc["a1", "open"] == "/sessions?session=CP1%2F2"
    assert rows.loc["a3", "charger"] == "/chargers?charger=CP3"
    at.selectbox[0].set_value("boot_loop").run()
    assert list(at.dataframe[0].value["alert_id"]) == ["a3"]
    at.date_input[0].set_value("2026-01-02").run()
    assert not at.dataframe and "No alerts match these filters." in at.info[0].value


def test_reconciliation_billable_holds_and_exports(warehouse: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "reconciliation", monkeypatch)
    assert metrics(at) == {"Billable": "12.700 kWh", "On hold": "12.345 kWh",
                           "Sessions": "4"}
    assert list(at.dataframe[0].value["period"]) == ["2025-12", "2026-01"]
    held = at.dataframe[1].value
    assert list(held["session_id"]) == ["CP1/2"] and "meter_mismatch" in held["hold_reason"][0]
    at.radio[0].set_value("driver").run()
    by_driver = at.dataframe[0].value.set_index("driver")
    assert by_driver.loc["TAG1", "billable_kwh"] == pytest.approx(12.7)
    assert len(at.get("download_button")) == 2


def test_firmware_versions_updates_and_boot_loops(warehouse: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "firmware", monkeypatch)
    versions = at.dataframe[0].value
    assert versions.groupby("firmware_version")["chargers"].sum().to_dict() == {
        "1.2.3": 2, "4.0.1": 1}
    assert list(at.dataframe[1].value["update_status"]) == ["Installed"]
    assert list(at.dataframe[2].value["kind"]) == ["boot_loop"]


@pytest.mark.parametrize("name", ["fleet", "chargers", "sessions", "alerts", "reconciliation",
                                  "firmware"])
def test_empty_warehouse_says_no_data_yet(empty_warehouse: Path, name: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(empty_warehouse, name, monkeypatch)
    assert any("No data yet" in i.value for i in at.info)


def test_unknown_session_is_a_warning(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(warehouse, "sessions", monkeypatch, session="nope")
    assert "No session 'nope'" in as_shown(at.warning[0].value)


def test_password_gate(warehouse: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHARGELINE_DATA_DIR", str(warehouse))
    monkeypatch.setenv("CHARGELINE_DASHBOARD_PASSWORD", "s3cret-enough")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert len(at.text_input) == 1 and not at.metric and not at.dataframe
    at.text_input[0].set_value("wrong").run()
    assert at.error and not at.metric
    at.text_input[0].set_value("s3cret-enough").run()
    assert metrics(at)["Fleet online"] == "66.7 %"
