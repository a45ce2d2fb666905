"""Vocabularies shared by every stage. Each value is the string stored on disk and on the wire."""

from enum import IntEnum, StrEnum


class Protocol(StrEnum):
    """OCPP-J subprotocol names as negotiated in ``Sec-WebSocket-Protocol``."""

    v16 = "ocpp1.6"
    v201 = "ocpp2.0.1"


class Direction(StrEnum):
    """``in`` is charger → CSMS, ``out`` is CSMS → charger, ``none`` for lifecycle records."""

    inbound = "in"
    outbound = "out"
    none = ""


class RecordKind(StrEnum):
    """What a journal record is: an OCPP-J frame, or something that happened to a connection."""

    frame = "frame"
    connected = "connected"
    disconnected = "disconnected"
    replaced = "replaced"
    auth_failed = "auth_failed"
    refused = "refused"
    rate_limited = "rate_limited"


class MessageType(IntEnum):
    """OCPP-J RPC message type ids."""

    call = 2
    call_result = 3
    call_error = 4


class ParseStatus(StrEnum):
    """How the ingest judged a frame's envelope. Payload judgment belongs to the adapters."""

    ok = "ok"
    invalid_utf8 = "invalid_utf8"
    invalid_json = "invalid_json"
    bad_shape = "bad_shape"
    unknown_action = "unknown_action"
    too_large = "too_large"
    unmatched_result = "unmatched_result"
    not_applicable = "n/a"


class EventType(StrEnum):
    """Canonical event types. Flows consume only these, never raw OCPP payloads."""

    booted = "booted"
    connected = "connected"
    disconnected = "disconnected"
    heartbeat = "heartbeat"
    status_changed = "status_changed"
    authorization = "authorization"
    transaction_started = "transaction_started"
    transaction_updated = "transaction_updated"
    meter_sample = "meter_sample"
    transaction_stopped = "transaction_stopped"
    firmware_status = "firmware_status"
    security_event = "security_event"
    call_answered = "call_answered"
    data_transfer = "data_transfer"
    notice = "notice"
    quarantine = "quarantine"


class ConnectorStatus(StrEnum):
    """Connector / EVSE status, unified over 1.6 ChargePointStatus and 2.0.1 ConnectorStatus."""

    available = "Available"
    preparing = "Preparing"
    charging = "Charging"
    suspended_ev = "SuspendedEV"
    suspended_evse = "SuspendedEVSE"
    finishing = "Finishing"
    reserved = "Reserved"
    unavailable = "Unavailable"
    faulted = "Faulted"
    occupied = "Occupied"


class AlertKind(StrEnum):
    """The fixed alert vocabulary. Documented column by column in warehouse/README.md."""

    clock_drift = "clock_drift"
    clock_timezone_offset = "clock_timezone_offset"
    clock_unsynced = "clock_unsynced"
    phantom_transaction = "phantom_transaction"
    duplicate_start = "duplicate_start"
    duplicate_stop = "duplicate_stop"
    late_stop = "late_stop"
    stop_without_start = "stop_without_start"
    meter_mismatch = "meter_mismatch"
    meter_reset = "meter_reset"
    meter_unit_error = "meter_unit_error"
    stuck_session = "stuck_session"
    charger_offline = "charger_offline"
    boot_loop = "boot_loop"
    flapping_connection = "flapping_connection"
    quarantined_frame = "quarantined_frame"


class Severity(StrEnum):
    info = "info"
    warning = "warning"
    critical = "critical"


class SessionStatus(StrEnum):
    """Lifecycle of a reconciled session."""

    active = "active"
    completed = "completed"
    stuck = "stuck"
    orphan_stop = "orphan_stop"
    abandoned = "abandoned"
