"""Settling the intents a killed agent left (``sending`` / ``rollback_sending``) from the
journal, so that a restart sends nothing twice.

For each intent, from its wave's ``wave_started`` record on: the ``command`` record of its
step gives its outcome; else a CALL with its message id means it went out (answer unknown:
``sent`` and unconfirmed: the agent asks the charger, ``chargeline.firmware.track.confirm``);
else it never left and is pending again (sent under the same
message id). The journal is read only when there are intents, from that record on.
"""

from __future__ import annotations

from pathlib import Path

from canonical.commands import CommandOutcome, CommandRecord
from canonical.enums import Direction, MessageType, RecordKind
from canonical.rollouts import HAS_IMAGE, ChargerState, Rollout
from chargeline.firmware.track import rolled, sent
from ingest.journal import JournalReader


def settle_intents(data_dir: Path, r: Rollout) -> int:
    """Settle every open intent of ``r`` in place; how many there were."""
    open_ = [t for t in r.chargers
             if t.state in (ChargerState.sending, ChargerState.rollback_sending)]
    if not open_:
        return 0
    after = min(r.waves[t.wave].journal_after for t in open_)
    ids = {t.rollback_command_id if t.state == ChargerState.rollback_sending else t.command_id
           for t in open_}
    records: dict[str, CommandRecord] = {}
    calls: dict[str, int] = {}
    for frame in JournalReader(data_dir, after=after).frames():
        mid = frame.message_id or ""
        if frame.record_kind == RecordKind.command and mid in ids:
            records[mid] = CommandRecord.from_json(frame.raw, frame.frame_id)
        elif frame.direction == Direction.outbound and frame.message_type == MessageType.call \
                and mid in ids:
            calls[mid] = frame.received_at
    for t in open_:
        rollback = t.state == ChargerState.rollback_sending
        command_id = t.rollback_command_id if rollback else t.command_id
        record = records.get(command_id or "")
        if record is not None:
            (rolled(t, record, ChargerState.sent) if rollback else sent(t, record))
        elif command_id in calls and rollback:
            t.state, t.rollback_sent_at = ChargerState.rollback_sent, calls[command_id]
            t.answer = CommandOutcome.timeout.value + " (serve stopped before the answer)"
        elif command_id in calls:
            t.state, t.sent_at = ChargerState.sent, calls[command_id]
            t.answer = CommandOutcome.timeout.value + " (serve stopped before the answer)"
            t.unconfirmed = True  # the charger may never have had it: the agent asks
        else:
            t.state = ChargerState.sent if rollback else ChargerState.pending
    assert all(t.state in HAS_IMAGE | {ChargerState.pending, ChargerState.skipped,
                                       ChargerState.failed, ChargerState.rollback_sent,
                                       ChargerState.rollback_failed} for t in open_)
    return len(open_)
