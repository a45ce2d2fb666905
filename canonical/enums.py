"""Vocabularies shared by every stage. Each value is the string stored on disk and on the wire."""

from enum import IntEnum, StrEnum


class Protocol(StrEnum):
    """OCPP-J subprotocol names as negotiated in ``Sec-WebSocket-Protocol``."""

    v16 = "ocpp1.6"
    v201 = "ocpp2.0.1"
    v21 = "ocpp2.1"

    @property
    def ocpp2(self) -> bool:
        """2.0.1 or 2.1: the device model (EVSEs), TransactionEvent, 2.x's payloads. Code
        that branches on the protocol asks this, so that 2.1 takes 2.0.1's way."""
        return self is not Protocol.v16


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
    command = "command"  # a CSMS-initiated command and its outcome (``canonical.commands``)
    upstream = "upstream"  # proxy mode: the upstream connection lost / restored (its detail)
    rollout = "rollout"  # a firmware rollout's step (``canonical.rollouts.RolloutNote``)


class MessageType(IntEnum):
    """OCPP-J RPC message type ids."""

    call = 2
    call_result = 3
    call_error = 4
    call_result_error = 5  # OCPP 2.1: the answer to a CALLRESULT that could not be taken
    send = 6  # OCPP 2.1: a message that is never answered (NotifyPeriodicEventStream)


class ParseStatus(StrEnum):
    """How the ingest judged a frame's envelope. Payload judgment belongs to the adapters."""

    ok = "ok"
    invalid_utf8 = "invalid_utf8"
    invalid_json = "invalid_json"
    bad_shape = "bad_shape"
    unknown_action = "unknown_action"
    too_large = "too_large"
    unmatched_result = "unmatched_result"
    late_result = "late_result"  # the answer to our CALL, after we stopped waiting for it
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
    command = "command"
    settlement = "settlement"  # 2.1 NotifySettlement: an ad-hoc payment settled (or not)
    battery_swap = "battery_swap"  # 2.1 BatterySwap: a battery in or out, not a charging session


class TokenStatus(StrEnum):
    """What the authorization list says of a token: the values of OCPP 1.6
    ``AuthorizationStatus`` and 2.0.1 ``AuthorizationStatusEnumType`` the list can hold (both
    versions spell them alike). A CSMS answer may carry others (2.0.1 ``Unknown``,
    ``ConcurrentTx``...): anything but ``accepted`` is a refusal."""

    accepted = "Accepted"
    blocked = "Blocked"
    expired = "Expired"
    invalid = "Invalid"


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
    meter_implausible = "meter_implausible"
    stuck_session = "stuck_session"
    charger_offline = "charger_offline"
    boot_loop = "boot_loop"
    flapping_connection = "flapping_connection"
    quarantined_frame = "quarantined_frame"
    firmware_rollout_halted = "firmware_rollout_halted"


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
    void = "void"


class SessionFlag(StrEnum):
    """Why a session reads as it does (``SessionRecord.flags``). ``HOLDS_BILLING`` are the
    flags that keep a finished session out of billing until someone looks; the warehouse
    joins its ``session_flags`` table (generated from this enum), never matches text."""

    # billing holds: the energy or the session itself is in doubt
    meter_reset = "meter_reset"
    meter_unit_error = "meter_unit_error"
    meter_mismatch = "meter_mismatch"
    meter_implausible = "meter_implausible"
    conflicting_stop = "conflicting_stop"
    stop_without_start = "stop_without_start"
    start_missing = "start_missing"
    duplicate_update = "duplicate_update"
    # recorded, billed as is
    stop_resent = "stop_resent"
    duplicate_stop = "duplicate_stop"
    update_resent = "update_resent"
    duplicate_start = "duplicate_start"
    phantom = "phantom"
    phantom_of = "phantom_of"
    late_stop = "late_stop"
    late_evidence = "late_evidence"
    per_transaction_meter = "per_transaction_meter"
    no_transaction_id = "no_transaction_id"
    placeholder_start_meter = "placeholder_start_meter"
    recovered_from_stuck = "recovered_from_stuck"
    start_after_stop = "start_after_stop"
    start_late = "start_late"
    stuck = "stuck"
    superseded = "superseded"
    backfilled = "backfilled"
    start_refused = "start_refused"
    # stuck-session recovery (flows/recovery.py): closed at its last reading, held with the
    # evidence; what ``act`` would have closed (``observe``); a recovery decision undone by
    # later evidence (its real stop, a sign it continues)
    closed_by_recovery = "closed_by_recovery"
    recovery_would_close = "recovery_would_close"
    recovery_revised = "recovery_revised"


HOLDS_BILLING = frozenset({
    SessionFlag.meter_reset, SessionFlag.meter_unit_error, SessionFlag.meter_mismatch,
    SessionFlag.meter_implausible, SessionFlag.conflicting_stop, SessionFlag.stop_without_start,
    SessionFlag.start_missing, SessionFlag.duplicate_update, SessionFlag.closed_by_recovery})


class RecoveryPolicy(StrEnum):
    """What stuck-session recovery may do (``--recovery``; the agent beside ``serve`` sends,
    the flow decides): ``off`` nothing; ``observe`` record what it would do, send nothing,
    close nothing; ``act`` send the playbook's commands and close on the charger's evidence."""

    off = "off"
    observe = "observe"
    act = "act"


class TransactionState(StrEnum):
    """What a charger said of a transaction it was asked about: the ``status`` of the
    ``call_answered`` event of a 2.0.1 GetTransactionStatus (``ongoingIndicator``,
    ``messagesInQueue``)."""

    ongoing = "ongoing"
    ended = "ended"
    ended_messages_queued = "ended_messages_queued"  # its last messages are still to come
    unknown = "unknown"  # no ongoingIndicator in the answer


class ValueIssue(StrEnum):
    """What an adapter doubts or repaired about a value (``CanonicalEvent.value_issues``).

    ``REPAIRED`` members leave the value the meter's true reading; ``UNTRUSTED`` members make
    it evidence only, never a register reading to bill from; ``BACKLOG`` members mark a frame
    the charger queued (never clock evidence).
    """

    placeholder_zero = "placeholder_zero"
    unit_corrected = "unit_corrected"
    scale_corrected = "scale_corrected"
    rounded = "rounded"
    phases_summed = "phases_summed"
    l1_only_total = "l1_only_total"
    spike = "spike"
    register_reset = "register_reset"
    queued_replay = "queued_replay"
    connector0_sum = "connector0_sum"
    unknown_unit = "unknown_unit"
    missing_meter = "missing_meter"
    synthesized_stop = "synthesized_stop"
    below_previous_stop = "below_previous_stop"
    stop_below_start = "stop_below_start"
    stop_one_below_start_repaired = "stop_one_below_start_repaired"
    placeholder_tx_id_resolved = "placeholder_tx_id_resolved"


class TimestampIssue(StrEnum):
    """Why a charger's own time is missing, or how it was repaired
    (``CanonicalEvent.timestamp_issues``; adapters/timestamps.py has the table)."""

    missing = "missing"
    unparseable = "unparseable"
    pre_sync_1970 = "pre_sync_1970"
    implausible_year = "implausible_year"
    no_offset_assumed_utc = "no_offset_assumed_utc"
    no_offset_assumed_local = "no_offset_assumed_local"
    short_offset = "short_offset"
    non_utc_offset = "non_utc_offset"
    unsynced_after_boot = "unsynced_after_boot"


REPAIRED = frozenset({ValueIssue.phases_summed, ValueIssue.l1_only_total,
                      ValueIssue.unit_corrected, ValueIssue.scale_corrected, ValueIssue.rounded})
UNTRUSTED = frozenset({ValueIssue.spike, ValueIssue.queued_replay, ValueIssue.placeholder_zero,
                       ValueIssue.connector0_sum, ValueIssue.unknown_unit})
BACKLOG = frozenset({ValueIssue.queued_replay, ValueIssue.synthesized_stop})
