"""The normalizer's contract: connection records, answers, snapshots, determinism, registry."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from adapters.normalizer import ChargerNormalizer, normalize_batch
from adapters.registry import Registry, load_config
from canonical.enums import Direction, ParseStatus, RecordKind
from canonical.errors import ConfigError, RegistryError
from canonical.raw import RawFrame
from tests.adapters.conftest import FRAMES, load_trace, normalize_trace, of_type

SECOND = 10**9


def frame_factory(frame_id: int, raw: object, *, direction: str = "in",
                  kind: str = RecordKind.frame, status: str = ParseStatus.ok,
                  protocol: str = "ocpp1.6", at_s: float = 0.0) -> RawFrame:
    text = raw if isinstance(raw, str) else orjson.dumps(raw).decode()
    mtype = mid = action = None
    if isinstance(raw, list):
        mtype, mid = raw[0], raw[1]
        action = raw[2] if raw[0] == 2 else None
    return RawFrame(frame_id, int(1_714_557_600 * SECOND + at_s * SECOND), "CP-1", "c1", protocol,
                    direction, kind, mtype, mid, action, text, status)


def test_connection_records_become_events() -> None:
    n = ChargerNormalizer("CP-1")
    connected = n.normalize(frame_factory(1, '{"remote":"127.0.0.1"}', direction="",
                                          kind=RecordKind.connected))
    gone = n.normalize(frame_factory(2, '{"code":1006,"reason":""}', direction="",
                                     kind=RecordKind.disconnected))
    limited = n.normalize(frame_factory(3, "{}", direction="", kind=RecordKind.rate_limited))
    assert [e.event_type for e in connected + gone + limited] == [
        "connected", "disconnected", "notice"]
    assert gone[0].status == "1006"
    assert limited[0].reason == "rate_limited"


@pytest.mark.parametrize("status", [ParseStatus.invalid_json, ParseStatus.bad_shape,
                                    ParseStatus.too_large, ParseStatus.unknown_action])
def test_frames_the_ingest_rejected_are_quarantined(status: str) -> None:
    events = ChargerNormalizer("CP-1").normalize(frame_factory(1, "[2,", status=status))
    assert [(e.event_type, e.quarantine_reason) for e in events] == [("quarantine", status)]


def test_unknown_but_valid_action_is_a_notice_and_payload_not_object_quarantined() -> None:
    n = ChargerNormalizer("CP-1")
    notice = n.normalize(frame_factory(1, [2, "a", "LogStatusNotification", {"status": "Idle"}]))
    assert (notice[0].event_type, notice[0].reason, notice[0].status) == (
        "notice", "LogStatusNotification", "Idle")
    bad = n.normalize(frame_factory(2, [2, "b", "Heartbeat", [1, 2]]))
    assert bad[0].quarantine_reason == "payload_not_object"


def test_charger_response_time_to_our_calls() -> None:
    n = ChargerNormalizer("CP-1")
    assert n.normalize(frame_factory(1, [2, "c1", "TriggerMessage", {}], direction="out")) == []
    answer = n.normalize(frame_factory(2, [3, "c1", {"status": "Accepted"}], at_s=0.25))
    assert answer[0].event_type == "call_answered"
    assert (answer[0].reason, answer[0].status, answer[0].unit) == (
        "TriggerMessage", "Accepted", "ms")
    assert answer[0].value == pytest.approx(250.0)


def test_start_without_answer_is_released_with_no_key() -> None:
    n = ChargerNormalizer("CP-1")
    start = [2, "s1", "StartTransaction",
             {"connectorId": 1, "idTag": "T", "meterStart": 10, "timestamp": "2024-05-01T10:00:00Z"}]
    assert n.normalize(frame_factory(1, start)) == []  # held for the CSMS answer
    released = n.normalize(frame_factory(2, [2, "h", "Heartbeat", {}]))
    assert [e.event_type for e in released] == ["transaction_started", "heartbeat"]
    assert released[0].event_id == "1:0" and released[0].transaction_key is None
    assert released[0].reason == "no_csms_answer"


def test_snapshot_restore_gives_the_same_events_as_one_pass() -> None:
    frames = load_trace("wallbox/q13-q14-spikes-counting-after-stop.jsonl")
    whole = normalize_trace("wallbox/q13-q14-spikes-counting-after-stop.jsonl")
    split = []
    n = ChargerNormalizer("WB-01")
    for i, frame in enumerate(frames):
        if i % 3 == 0:  # as after a Bytewax recovery: only the JSON snapshot survives
            n = ChargerNormalizer.restore("WB-01", orjson.loads(orjson.dumps(n.snapshot())))
        split.extend(n.normalize(frame))
    assert split == whole


def test_replay_is_deterministic() -> None:
    frames = [f for path in sorted(FRAMES.glob("*/*.jsonl"))
              for f in load_trace(str(path.relative_to(FRAMES)))]
    assert normalize_batch(frames) == normalize_batch(frames)


def test_registry_matches_vendor_model_and_firmware_range() -> None:
    registry = Registry.default()
    assert registry.match("KEBA AG", "KC-P40", "1.2.2").name == "keba-p40-fw122"
    assert registry.match("KEBA AG", "KC-P40", "1.2.3").name == "keba"
    assert registry.match("KEBA AG", "KC-P30", "1.2.2").name == "keba"
    assert registry.match("Unknown GmbH", "X", "1").name == "generic"
    assert len([n for n in registry.names() if n != "generic"]) >= 8


def test_registry_resolve_names_the_valid_choices() -> None:
    with pytest.raises(RegistryError, match="keba"):
        Registry.default().resolve("kebba")


def test_time_zone_fix_is_data_only(tmp_path: Path) -> None:
    config = tmp_path / "vendors.toml"
    config.write_text('[growatt-site-cet]\nparent = "growatt"\nvendor = "(?i)growatt"\n'
                      'model = "THOR"\nutc_offset_minutes = 120\n')
    registry = Registry.default(config)
    events = normalize_trace("growatt/q01-q12-no-offset-begin-zero.jsonl", registry)
    started = of_type(events, "transaction_started")[0]
    assert started.adapter == "growatt-site-cet"
    assert started.charger_at == 1_714_557_603 * SECOND  # 12:00:03 at UTC+2 = 10:00:03Z
    assert started.timestamp_issues == ("no_offset_assumed_local",)


@pytest.mark.parametrize(("text", "message"), [
    ('[x]\nparent = "nope"\n', "parent 'nope' is not an adapter"),
    ('[x]\nparent = "generic"\nenergy_scal = 0.1\n', "unknown keys"),
    ('[x]\nparent = "generic"\nvendor = "("\n', "bad regex"),
    ("[x\n", "cannot read"),
])
def test_bad_adapter_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "vendors.toml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(config, {})


def test_outbound_frames_other_than_answers_make_no_events() -> None:
    n = ChargerNormalizer("CP-1")
    n.normalize(frame_factory(1, [2, "h", "Heartbeat", {}]))
    answer = frame_factory(2, [3, "h", {"currentTime": "2024-05-01T10:00:00Z"}],
                           direction=Direction.outbound)
    assert n.normalize(answer) == []


def test_adapters_command_lists_and_matches(capsys: pytest.CaptureFixture[str]) -> None:
    from chargeline.cli import main

    assert main(["adapters"]) == 0
    listing = capsys.readouterr().out
    assert "wallbox" in listing and "openevse-422" in listing
    assert main(["adapters", "--vendor", "OpenEVSE", "--firmware", "4.2.2"]) == 0
    assert capsys.readouterr().out.strip() == "openevse-422"


def test_empty_meter_values_after_a_held_start_is_quarantined() -> None:
    n = ChargerNormalizer("CP-1")
    n.normalize(frame_factory(1, [2, "s", "StartTransaction", {"connectorId": 1}]))
    events = n.normalize(frame_factory(2, [2, "m", "MeterValues", {}]))
    assert [(e.frame_id, e.event_type) for e in events] == [
        (1, "transaction_started"), (2, "quarantine")]
