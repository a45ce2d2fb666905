"""A day of a 10,000-charger simulated fleet, replayed (``python -m bench.replay --fleet-day``).

The fleet is ``bench/_bigfleet.py``'s (OCPP 1.6: a Heartbeat every 5 min, 3-6 sessions a day
with MeterValues every 60 s, status at start and stop, offline spans with reconnect and boot),
its journal built as Arrow columns by ``bench/_bigframes.py``. A whole day of 10,000 chargers
is ~15 M records: more than this shared 2-core box replays in a bench's time. So a
proportional slice is replayed — the first ``SLICE`` chargers of the 10,000, the whole day,
with one worker and with ``--processes 2`` — and the fleet's figure is extrapolated from the
first (the state is per charger, the work linear in chargers), and said to be. Peak RSS is
the slice's; the fleet's would be ~``FLEET / SLICE`` times the per-charger part of it in one
process (or shards of the fleet over processes).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

FLEET = 10_000
SLICE = 1_000
SEED = 22
ISSUE_RATE = 0.1  # frames/s per charger: the issue's "large operator" rate


def write_journal(data_dir: Path, chargers: int) -> int:
    """One day's journal of the first ``chargers`` of the fleet, in receive order."""
    from bench._bigfleet import make_day, make_fleet, plan_sessions
    from bench._bigframes import journal
    from canonical import RawFrame, from_table
    from ingest.journal import JournalWriter

    fleet = make_fleet(SEED, 1, FLEET)
    day = make_day(fleet, plan_sessions(fleet), 0)
    frames = journal(fleet, day, chargers)[0].finish(1)[0].sort_by("frame_id")
    with JournalWriter(data_dir, fsync=False) as writer:
        for batch in frames.to_batches(max_chunksize=20_000):
            writer.append(from_table(RawFrame, pa.Table.from_batches([batch])))
    return int(frames.num_rows)


def fleet_day(run_replay: Callable[..., dict[str, float]]) -> dict[str, Any]:
    """The slice replayed (fast path on) with one worker, then with ``--processes 2``, and
    the fleet's day from the first."""
    work = Path(tempfile.mkdtemp(prefix="bench-fleetday-"))
    try:
        t0 = time.perf_counter()
        records = write_journal(work, SLICE)
        built_s = time.perf_counter() - t0
        run = run_replay(work, [], records, True)
        two = run_replay(work, ["--processes", "2"], records, True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    scale = FLEET / SLICE
    per_charger_s = records / SLICE / 86_400
    return {"fleet_chargers": FLEET, "replayed_chargers": SLICE, "records": records,
            "journal_build_s": round(built_s, 1), "replay": run, "replay_p2": two,
            "p2_over_w1": round(two["frames_per_s"] / run["frames_per_s"], 3),
            "frames_per_charger_per_s": round(per_charger_s, 4),
            "fleet_day_records_extrapolated": round(records * scale),
            "fleet_day_wall_s_extrapolated": round(run["wall_s"] * scale),
            "fleet_day_cpu_s_extrapolated": round(run["cpu_s"] * scale),
            "at_issue_rate": {
                "frames_per_charger_per_s": ISSUE_RATE,
                "records": round(FLEET * ISSUE_RATE * 86_400),
                "wall_s_extrapolated": round(FLEET * ISSUE_RATE * 86_400
                                             / run["frames_per_s"])},
            "note": f"a slice of {SLICE} of {FLEET} chargers replayed for the whole day; the "
                    "fleet's figures are the slice's x10 (linear in chargers), not measured"}
