"""The Rollouts page through the real entry (AppTest) on hand-written rollout state files
(``rollout_files.py``): what an operator watching a rollout reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.dashboards.rollout_files import ODD_KEBA, completed, halted, running, write_rollouts
from tests.dashboards.test_pages import as_shown, metrics, open_page
from warehouse.catalog import ensure

CORRUPT = b'{"format": 1, "rollout_id": "fw-broken", "status": "runn'


@pytest.fixture
def rollouts_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    def make(*rollouts: object, **raw: bytes) -> Path:
        data_dir = tmp_path_factory.mktemp("rollouts")
        ensure(data_dir)
        return write_rollouts(data_dir, *rollouts, **raw)  # type: ignore[arg-type]
    return make


@pytest.fixture
def rollouts(rollouts_factory: Callable[..., Path]) -> Path:
    """The three rollouts and a file cut off mid-write."""
    return rollouts_factory(completed(), halted(), running(), broken=CORRUPT)


def errors(at: AppTest) -> list[str]:
    return [as_shown(e.value) for e in at.error]


def times(at: AppTest) -> str:
    return next(as_shown(m.value) for m in at.markdown if m.value.startswith("Created"))


def test_newest_first_a_running_rollouts_progress(rollouts: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(rollouts, "rollouts", monkeypatch)
    assert at.selectbox[0].options == ["fw-running · running → 3.1.0",
                                       "fw-halted · halted → 9.9.9",
                                       "fw-completed · completed → 2.0.0"]
    assert errors(at) == ["Cannot read rollouts/broken.json: JSONDecodeError: "
                          "unexpected end of data: line 1 column 57 (char 56)"]
    assert metrics(at) == {"Status": "running", "Target version": "3.1.0",
                           "Updated": "1 of 4", "Wave": "2 of 2"}
    assert times(at) == ("Created 2026-01-03 10:00:00 UTC · finished not yet · last written "
                         "2026-01-03 10:30:00 UTC")
    waves = at.dataframe[0].value
    assert list(waves["percent"]) == [25.0, 100.0]
    assert list(waves["status"]) == ["soaking", "installing"]
    assert waves[["failed", "downloading", "sent", "updated"]].values.tolist() == [
        [0, 0, 0, 1], [1, 1, 1, 0]]
    gates = at.dataframe[1].value
    assert gates[["gate", "model", "value", "limit", "breached"]].values.tolist() == [
        ["install_failed", "Terra", 0.0, 0.1, False]]
    chargers = at.dataframe[2].value
    assert list(chargers["charge_point_id"]) == ["ABB-3", "ABB-2", "ABB-4", "ABB-1"]
    assert chargers.iloc[0]["reason"] == "DownloadFailed"
    assert chargers.iloc[0]["charger"] == "/chargers?charger=ABB-3"


def test_a_halted_rollout_says_why_and_how_its_rollback_stands(
        rollouts: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(rollouts, "rollouts", monkeypatch)
    at.selectbox[0].select("fw-halted").run()
    assert metrics(at)["Status"] == "halted"
    assert errors(at)[1] == (
        f"Halted: gate boot_loop breached by model P30 in wave 1: 2 chargers against a "
        f"limit of 0 chargers (over 2). Chargers behind it: KEBA-1, {ODD_KEBA}.")
    assert as_shown(at.warning[0].value) == (
        "Rollback to the previous image: 2 chargers (1 rollback_sent, 1 rolled_back).")
    gates = at.dataframe[1].value
    breached = gates[gates["breached"]]
    assert breached[["gate", "model", "value", "limit", "unit", "n", "chargers"]
                    ].values.tolist() == [["boot_loop", "P30", 2.0, 0.0, "chargers", 2,
                                           f"KEBA-1, {ODD_KEBA}"]]
    chargers = at.dataframe[2].value
    assert list(chargers["state"]) == ["rolled_back", "rollback_sent", "updated", "pending",
                                       "pending"]
    at.selectbox[1].select("rolled_back").run()
    assert list(at.dataframe[2].value["charge_point_id"]) == ["KEBA-1"]


def test_a_completed_rollout_and_a_rewrite_shown_at_the_next_refresh(
        rollouts_factory: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = rollouts_factory(running())
    at = open_page(data_dir, "rollouts", monkeypatch)
    assert metrics(at)["Status"] == "running"
    done = running()
    done.status, done.finished_at = completed().status, done.created_at + 2 * 3600 * 10**9
    write_rollouts(data_dir, done)
    at.run()
    assert metrics(at)["Status"] == "completed"
    assert "finished 2026-01-03 12:00:00 UTC" in times(at)
    assert not at.error


def test_no_rollout_yet(rollouts_factory: Callable[..., Path],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(rollouts_factory(), "rollouts", monkeypatch)
    assert any("No data yet" in i.value for i in at.info) and not at.error


def test_only_a_corrupt_file_is_an_error_line_and_no_rollout(
        rollouts_factory: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = rollouts_factory(broken=CORRUPT, other=b'{"format": 2}', listed=b"[]")
    at = open_page(data_dir, "rollouts", monkeypatch)
    assert errors(at) == [
        "Cannot read rollouts/broken.json: JSONDecodeError: unexpected end of data: line 1 "
        "column 57 (char 56)",
        "Cannot read rollouts/listed.json: AttributeError: 'list' object has no attribute "
        "'get'",
        "Cannot read rollouts/other.json: ValueError: rollout format 2, this reads 1"]
    assert any("No data yet" in i.value for i in at.info)
