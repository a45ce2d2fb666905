from canonical import (
    Alert,
    CanonicalEvent,
    RawFrame,
    SessionRecord,
    from_table,
    schema_of,
    to_batch,
)
from canonical.arrow import SCHEMA_VERSION


def test_every_record_has_a_versioned_schema() -> None:
    for record in (RawFrame, CanonicalEvent, SessionRecord, Alert):
        meta = schema_of(record).metadata
        assert meta[b"chargeline.schema_version"] == str(SCHEMA_VERSION).encode()


def test_session_round_trips_through_arrow_with_ns_times() -> None:
    session = SessionRecord(
        session_id="cp1:7", version=3, charge_point_id="cp1", connector_id=1, evse_id=None,
        transaction_id="7", id_tag="TAG", protocol="ocpp1.6", status="completed",
        started_at=1_700_000_000_123_456_789, stopped_at=1_700_000_360_000_000_001,
        started_at_raw="2023-11-14T22:13:20.123Z", stopped_at_raw=None, start_frame_id=1,
        stop_frame_id=9, meter_start_wh=1000.0, meter_stop_wh=8500.5, energy_wh=7500.5,
        energy_rule="register_delta", samples_energy_wh=7499.0, sample_count=4,
        max_power_w=7200.0, stop_reason="Local", flags=["drift"], clock_offset_s=1.5,
        last_event_at=1_700_000_360_000_000_001, updated_at=1_700_000_361_000_000_000,
    )
    batch = to_batch(SessionRecord, [session])
    assert str(batch.schema.field("started_at").type) == "timestamp[ns, tz=UTC]"
    assert from_table(SessionRecord, batch) == [session]


def test_raw_frame_field_order_is_pinned() -> None:
    """The ingest builds RawFrame positionally on its hot path (per frame, both directions:
    keywords cost more there); a reordered field would swap silently, so the order is pinned."""
    import dataclasses

    from canonical.raw import RawFrame
    assert [f.name for f in dataclasses.fields(RawFrame)] == [
        "frame_id", "received_at", "charge_point_id", "connection_id", "protocol", "direction",
        "record_kind", "message_type", "message_id", "action", "raw", "parse_status"]
