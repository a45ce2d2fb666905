import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonical.raw import (
    InterchangeError,
    from_interchange,
    ns_to_rfc3339,
    rfc3339_to_ns,
    to_interchange,
)


@given(st.integers(min_value=0, max_value=4_000_000_000_000_000_000))
def test_rfc3339_round_trip_keeps_nanoseconds(ns: int) -> None:
    assert rfc3339_to_ns(ns_to_rfc3339(ns)) == ns


def test_offsets_are_converted_to_utc() -> None:
    assert rfc3339_to_ns("2024-04-26T14:35:02+02:00") == rfc3339_to_ns("2024-04-26T12:35:02Z")


def test_interchange_line_round_trips() -> None:
    line = (b'{"ts":"2024-01-01T00:00:00.000000001Z","charge_point_id":"CP-1","protocol":"ocpp1.6",'
            b'"direction":"in","frame":[2,"abc","Heartbeat",{}]}')
    frame = from_interchange(line, 1, "import:x")
    assert (frame.message_type, frame.message_id, frame.action) == (2, "abc", "Heartbeat")
    assert to_interchange(frame) == line


def test_non_json_frame_is_kept_as_text() -> None:
    line = b'{"ts":"2024-01-01T00:00:00Z","charge_point_id":"c","protocol":"ocpp1.6","direction":"in","frame":"[2,\\"x"}'
    frame = from_interchange(line, 1, "import:x")
    assert frame.raw == '[2,"x' and frame.parse_status == "invalid_json"
    assert from_interchange(to_interchange(frame), 1, "import:x").raw == frame.raw


@pytest.mark.parametrize("line, problem", [
    (b"not json", "not JSON"),
    (b'{"ts":"x"}', "missing keys"),
    (b'{"ts":"yesterday","charge_point_id":"c","protocol":"p","direction":"in","frame":[]}', "ts is not RFC3339"),
    (b'{"ts":"2024-01-01T00:00:00Z","charge_point_id":"c","protocol":"p","direction":"up","frame":[]}', "direction"),
])
def test_bad_lines_name_the_line_and_the_problem(line: bytes, problem: str) -> None:
    with pytest.raises(InterchangeError, match=f"line 7: {problem}"):
        from_interchange(line, 7, "import:x")
