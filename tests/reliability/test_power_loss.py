"""Power loss: the journal on a file system that keeps only what was made durable
(``powerloss.PowerLossFileSystem``), cut at a random call, again and again, in-process.

What ``kill -9`` cannot show (the page cache survives a killed process): a segment fsync'd
but never named durably vanishes whole; a batch whose fsync failed was still readable. After
each crash and recovery: every acknowledged frame is there under its id, every frame a
reader saw is there unchanged, no id is given twice, no frame of a failed append was ever
read. ``CHARGELINE_POWER_ROUNDS`` rounds (200 by default).
"""

from __future__ import annotations

import contextlib
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from canonical import RawFrame, from_table
from canonical.errors import JournalError
from ingest.files import write_atomically
from ingest.journal import JournalReader, JournalWriter
from ingest.journal.writer import seal_segments
from ingest.transactions import TransactionRegistry
from tests.ingest.test_transaction_index import payload, start_pair
from tests.reliability.figures import report
from tests.reliability.powerloss import PowerLoss, PowerLossFileSystem

ROUNDS = int(os.environ.get("CHARGELINE_POWER_ROUNDS", "200"))
ROOT = Path("/power-loss/data")


def frame(mid: str) -> RawFrame:
    return RawFrame(0, 1_700_000_000_000_000_000, "CP-1", "c1", "ocpp1.6", "in", "frame", 2,
                    mid, "Heartbeat", f'[2,"{mid}","Heartbeat",{{}}]', "ok")


def message_ids(batches: list[pa.RecordBatch]) -> dict[int, str]:
    if not batches:
        return {}
    rows = from_table(RawFrame, pa.Table.from_batches(batches))
    return {f.frame_id: str(f.message_id) for f in rows}


@dataclass
class Round:
    """What one life of the journal told its callers before the power went."""

    acked: dict[int, str] = field(default_factory=dict)  # frame id -> message id
    seen: dict[int, str] = field(default_factory=dict)  # read by a reader
    refused: set[str] = field(default_factory=set)  # appends that raised JournalError
    in_doubt: set[str] = field(default_factory=set)  # refused, and the roll-back failed too
    starts: dict[int, int] = field(default_factory=dict)  # acknowledged start n -> its id
    faults: int = 0


def start(fs: PowerLossFileSystem, rng: random.Random, life: Round) -> JournalWriter:
    """A writer, started again as an operator would until the disk lets it recover."""
    while True:
        try:
            return JournalWriter(ROOT, segment_rows=rng.randint(1, 8), fs=fs)
        except JournalError:
            life.faults += 1


def live_until_power_loss(fs: PowerLossFileSystem, rng: random.Random, life: Round) -> None:
    reader = JournalReader(ROOT, fs=fs)

    def read_now() -> None:  # another process reading, at any moment
        if rng.random() < 0.3:
            life.seen.update(message_ids(reader.poll()))

    fs.meanwhile = read_now
    writer = start(fs, rng, life)
    for n in range(10**6):
        mids = [f"{fs.calls}-{n}-{k}" for k in range(rng.randint(1, 4))]
        frames = [frame(m) for m in mids]
        if rng.random() < 0.2:  # a 1.6 start answered with id n + 1: the .starts index
            frames = start_pair(n, n + 1)
            mids = [str(f.message_id) for f in frames]
        if rng.random() < 0.03:  # kill -9 after a write, before its fsync: the page cache stays
            try:
                writer.write(frames)
            except JournalError:
                life.faults += 1
            writer = start(fs, rng, life)
            continue
        try:
            life.acked.update({f.frame_id: str(f.message_id) for f in writer.append(frames)})
            if frames[0].action == "StartTransaction":
                life.starts[n] = n + 1
        except JournalError:
            life.refused.update(mids)
            life.faults += 1
            if writer.damaged:
                life.in_doubt.update(mids)
        if rng.random() < 0.04:  # a clean restart
            try:
                writer.close()
            except OSError:
                life.faults += 1
            writer = start(fs, rng, life)
        if rng.random() < 0.03:
            try:
                seal_segments(ROOT, fs=fs)
            except OSError:
                life.faults += 1


def one_round(seed: int) -> dict[str, int]:
    rng = random.Random(seed)
    fs = PowerLossFileSystem(rng, ROOT)
    fs.fsync_failure_rate = rng.choice([0.0, 0.0, 0.05])
    fs.write_failure_rate = rng.choice([0.0, 0.0, 0.03])
    fs.crash_after = rng.randint(1, 600)
    life = Round()
    with contextlib.suppress(PowerLoss):
        live_until_power_loss(fs, rng, life)
    fs.crash()
    fs.meanwhile = None
    fs.fsync_failure_rate = fs.write_failure_rate = 0.0
    writer = JournalWriter(ROOT, fs=fs)  # recovery
    after = message_ids(JournalReader(ROOT, fs=fs).poll())
    lost = {i: m for i, m in life.acked.items() if after.get(i) != m}
    changed = {i: m for i, m in life.seen.items() if after.get(i) != m}
    assert lost == {} and changed == {}, (seed, lost, changed)
    assert sorted(after) == list(range(1, len(after) + 1)), seed  # no gap, no id twice
    assert not (life.refused & set(life.seen.values())), seed  # a refused frame never read
    assert not ((life.refused - life.in_doubt) & set(after.values())), seed
    new_id = writer.append([frame("after")])[0].frame_id
    assert new_id == len(after) + 1 > max([*life.acked, *life.seen], default=0), seed
    registry = TransactionRegistry.from_journal(ROOT, fs=fs)  # as the restarted server does
    wrong = {n: tx for n, tx in life.starts.items()
             if registry.assign("CP-1", payload(n)) != (tx, True)}
    assert wrong == {}, (seed, wrong)
    assert registry.next_id > max(life.starts.values(), default=0), seed
    writer.close()
    return {"acked": len(life.acked), "lost": len(lost), "seen": len(life.seen),
            "refused": len(life.refused), "faults": life.faults, "fsyncs": fs.fsyncs,
            "starts_acked": len(life.starts), "start_ids_wrong": len(wrong)}


def test_power_loss_loses_no_acknowledged_frame_and_reuses_no_id() -> None:
    totals: dict[str, int] = {}
    for seed in range(ROUNDS):
        for key, value in one_round(seed).items():
            totals[key] = totals.get(key, 0) + value
    report("test_power_loss_loses_no_acknowledged_frame_and_reuses_no_id", rounds=ROUNDS,
           **totals)
    assert totals["lost"] == 0
    assert totals["acked"] > 10 * ROUNDS and totals["refused"] > 0  # faults were hit


def test_chargers_file_holds_the_old_or_the_new_after_power_loss() -> None:
    """``write_atomically`` (every save of chargers.json): after a crash the file holds what
    the last save that returned wrote, or what the save cut short was writing; never nothing,
    never a mix, never an older one."""
    path = ROOT / "chargers.json"
    outcomes = {"last_saved": 0, "cut_short": 0, "none_yet": 0}
    for seed in range(ROUNDS):
        rng = random.Random(seed)
        fs = PowerLossFileSystem(rng, ROOT)
        fs.crash_after = rng.randint(1, 80)
        saved: bytes | None = None
        saving = b""
        with contextlib.suppress(PowerLoss):
            for version in range(1, 10**6):
                saving = f'{{"v": {version}, "pad": "{"x" * rng.randint(0, 9000)}"}}'.encode()
                write_atomically(fs, path, saving, mode=0o600)
                saved = saving
        fs.crash()
        try:
            now: bytes | None = fs.read(path)
        except FileNotFoundError:
            now = None
        assert now in (saved, saving), (seed, now and now[:20], saved and saved[:20])
        outcomes["none_yet" if now is None else "last_saved" if now == saved
                 else "cut_short"] += 1
    report("test_chargers_file_holds_the_old_or_the_new_after_power_loss", rounds=ROUNDS,
           **outcomes)
