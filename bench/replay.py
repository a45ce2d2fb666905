"""Replay throughput: frames/s of ``chargeline replay`` (adapters, sessions, detectors, warehouse)
on recorded fleet traffic, in three layouts (1 and 2 Bytewax worker threads in one process; 2
processes), each beside a plain Bytewax flow reading the same journal the same way
(``JournalSource`` → key on charge point → running count per charger) in the same layout and
run.

The journal: ``chargeline serve`` + ``chargeline simulate --chargers 200 --speed 1200
--duration 30 --faults all`` recorded once into a cache under the temp dir (about 40 s the first
time; the same ten simulated hours as ``--speed 600 --duration 60``), then tiled: copy k of
every record gets ``-k`` on its charge point and connection ids, interleaved in receive order,
so the replay sees a fleet of 200 x copies chargers at ≥ ``--min-frames`` records.

    python -m bench.replay [--min-frames 200000] [--layouts w1,w2,p2]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bench._common import free_port, report, spawn, wait_port

CACHE = Path(tempfile.gettempdir()) / "chargeline-bench-replay-v1"
RECORDING = {"chargers": 200, "speed": 1200, "duration": 30}
CLI = ["-m", "chargeline"]
SNAPSHOTS_OFF_S = 3600


# -- the journal -------------------------------------------------------------------------
def record(data_dir: Path) -> None:
    """One simulated fleet against a real ``chargeline serve``; the journal is what it wrote."""
    port = free_port()
    serve = spawn([*CLI, "serve", "--data-dir", str(data_dir), "--port", str(port),
                   "--rate", "100000", "--rate-bytes", "1e12"])
    try:
        wait_port(port)
        sim = spawn([*CLI, "simulate", "--url", f"ws://127.0.0.1:{port}/ocpp",
                     "--chargers", str(RECORDING["chargers"]), "--speed",
                     str(RECORDING["speed"]), "--duration", str(RECORDING["duration"]),
                     "--faults", "all", "--truth", str(data_dir / "truth.jsonl")])
        try:  # the fleet lingers on unfinished sessions after its duration: not needed here
            sim.wait(RECORDING["duration"] + 5)
        except subprocess.TimeoutExpired:
            sim.send_signal(signal.SIGINT)
            stop(sim, 10)
    finally:
        serve.terminate()
        stop(serve, 20)


def stop(proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    """Wait for a signalled child; kill it if it does not go."""
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def tile(recorded: Path, out: Path, copies: int) -> int:
    """``copies`` renamed copies of the recorded journal, merged in receive order."""
    from ingest.journal import JournalReader, JournalWriter

    table = JournalReader(recorded).read_all()
    parts = []
    for k in range(copies):
        part = table.set_column(table.schema.get_field_index("charge_point_id"),
                                "charge_point_id",
                                pc.binary_join_element_wise(table["charge_point_id"], f"{k}", "-"))
        part = part.set_column(part.schema.get_field_index("connection_id"), "connection_id",
                               pc.binary_join_element_wise(part["connection_id"], f"{k}", "-"))
        parts.append(part.append_column("copy", pa.array([k] * part.num_rows, pa.int32())))
    merged = pa.concat_tables(parts).sort_by([("received_at", "ascending"),
                                              ("frame_id", "ascending"), ("copy", "ascending")])
    merged = merged.drop_columns(["copy"])
    with JournalWriter(out, fsync=False) as writer:
        for batch in merged.to_batches(max_chunksize=10_000):
            writer.append(_records(batch))
    return int(merged.num_rows)


def _records(batch: pa.RecordBatch) -> list[Any]:
    from canonical import RawFrame, from_table

    return from_table(RawFrame, pa.Table.from_batches([batch]))


def journal(min_frames: int) -> Path:
    """The cached tiled journal (a data dir holding only ``journal/``), built if missing."""
    recorded = CACHE / "recorded"
    if not (recorded / "journal").is_dir():
        shutil.rmtree(recorded, ignore_errors=True)
        print(f"recording a simulated fleet into {recorded} (once)", file=sys.stderr)
        record(recorded)
    from ingest.journal import JournalReader

    frames = JournalReader(recorded).read_all().num_rows
    copies = max(1, math.ceil(min_frames / frames))
    tiled = CACHE / f"tiled-x{copies}"
    if not (tiled / "journal").is_dir():
        shutil.rmtree(tiled, ignore_errors=True)
        tile(recorded, tiled, copies)
    return tiled


def journal_stats(data_dir: Path) -> dict[str, Any]:
    from ingest.journal import JournalReader

    table = JournalReader(data_dir).read_all()
    kinds = dict(zip(*pc.value_counts(table["record_kind"]).flatten(), strict=True))
    actions = pc.value_counts(table["action"]).to_pylist()
    top = sorted((a for a in actions if a["values"]), key=lambda a: -a["counts"])[:6]
    return {"records": table.num_rows, "kinds": {str(k): int(v.as_py()) for k, v in kinds.items()},
            "chargers": pc.count_distinct(table["charge_point_id"]).as_py(),
            "top_actions": {a["values"]: a["counts"] for a in top}}


# -- runs --------------------------------------------------------------------------------
def timed(args: list[str]) -> tuple[float, float, float, float]:
    """Wall seconds, CPU seconds (user + system, all threads), peak RSS (MiB) and MiB written
    to disk (``ru_oublock``) of one child process run to its end, its own children included
    (the rusage of waited-for descendants is added to their parent's; RSS is the sum of each
    process's own peak).

    A peak is a process's ``VmHWM``, sampled every 20 ms (``ru_maxrss`` would not do: Linux
    carries the parent's high-water mark over ``exec``, and this parent holds the journal).
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                                stderr=err)
        peaks: dict[int, int] = {}
        while True:
            for pid in _tree(proc.pid):
                peaks[pid] = max(peaks.get(pid, 0), _hwm_kib(Path(f"/proc/{pid}/status")))
            pid, code, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(code)
        if proc.returncode:
            err.seek(0)
            tail = err.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{args} exited {proc.returncode}: {tail}")
    return (wall, usage.ru_utime + usage.ru_stime, sum(peaks.values()) / 1024,
            usage.ru_oublock * 512 / 2**20)


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a ``--processes`` run's members), from ``/proc/*/stat``."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rpartition(")")[2].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        out.append(todo.pop())
        todo += parents.get(out[-1], [])
    return out


def _hwm_kib(status: Path) -> int:
    try:
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def warehouse_frames(data_dir: Path) -> int:
    from warehouse.catalog import connect, query

    with connect(data_dir) as con:
        return int(query(con, data_dir, "select count(*) as n from frames")["n"][0].as_py())


def layout_args(name: str) -> list[str]:
    """``w2`` → 2 worker threads in one process; ``p2`` → 2 processes of one worker each."""
    kind, count = name[:1], int(name[1:])
    if kind not in ("w", "p") or count < 1:
        raise ValueError(f"layout must be wN or pN, got {name!r}")
    return ["--workers", str(count)] if kind == "w" else ["--processes", str(count)]


def run_replay(data_dir: Path, layout: list[str], records: int) -> dict[str, float]:
    figures = _figures(records, *timed([*CLI, "replay", "--data-dir", str(data_dir), *layout]))
    written = warehouse_frames(data_dir)
    if written != records:
        raise RuntimeError(f"replay wrote {written} frames of {records}")
    return figures


def run_baseline(data_dir: Path, layout: list[str], records: int) -> dict[str, float]:
    return _figures(records, *timed(["-m", "bench.replay", "--baseline-of", str(data_dir),
                                     *layout]))


def _figures(records: int, wall: float, cpu: float, rss: float, written: float
             ) -> dict[str, float]:
    return {"wall_s": round(wall, 2), "frames_per_s": round(records / wall),
            "cpu_s": round(cpu, 2), "frames_per_cpu_s": round(records / cpu),
            "peak_rss_mib": round(rss, 1), "disk_written_mib": round(written, 1)}


# -- the baseline flow (runs in its own process, as the replay does) ---------------------
def baseline_flow(data_dir: Path, counted: list[int]) -> Any:
    """JournalSource → one item per record keyed by charge point → running count per charger."""
    import bytewax.operators as op
    from bytewax.dataflow import Dataflow
    from bytewax.outputs import DynamicSink, StatelessSinkPartition

    from chargeline.flowrun import journal_files
    from flows.source import JournalSource

    class _Counting(StatelessSinkPartition[Any]):
        def write_batch(self, items: list[Any]) -> None:
            counted.append(len(items))

    class _Sink(DynamicSink[Any]):
        def build(self, step_id: str, worker_index: int, worker_count: int) -> _Counting:
            return _Counting()

    def charge_points(item: tuple[str, Any, int]) -> Iterable[str]:
        kind, table, _ = item
        return table.column("charge_point_id").to_pylist() if kind == "frames" else []

    def count(n: int | None, _: str) -> tuple[int, int]:
        return (n or 0) + 1, (n or 0) + 1

    flow = Dataflow("baseline")
    items = op.input("journal", flow, JournalSource(journal_files(data_dir), follow=False))
    keyed = op.key_on("by_charger", op.flat_map("charge_points", items, charge_points),
                      lambda cp: cp)
    op.output("out", op.stateful_map("count", keyed, count), _Sink())
    return flow


def baseline_main(data_dir: Path, a: argparse.Namespace) -> None:
    """One process of the baseline; with ``--processes`` N > 1, starts the N members."""
    from bytewax.testing import cluster_main

    if a.processes > 1 and a.process_id is None:
        addresses = ",".join(f"127.0.0.1:{free_port()}" for _ in range(a.processes))
        members = [subprocess.Popen([sys.executable, "-m", "bench.replay", "--baseline-of",
                                     str(data_dir), "--workers", str(a.workers),
                                     "--process-id", str(i), "--addresses", addresses])
                   for i in range(a.processes)]
        if any(member.wait() for member in members):
            sys.exit(1)
        return
    from chargeline.flowrun import wait_for_first_member

    counted: list[int] = []
    addresses = [x for x in a.addresses.split(",") if x]
    wait_for_first_member(addresses, a.process_id or 0)  # as the replay's members do
    cluster_main(baseline_flow(data_dir, counted),  # type: ignore[no-untyped-call]
                 addresses, a.process_id or 0,
                 worker_count_per_proc=a.workers)
    print(f"baseline counted {sum(counted)} records", file=sys.stderr)


# -- main --------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-frames", type=int, default=200_000)
    parser.add_argument("--layouts", default="w1,w2,p2",
                        help="wN: N worker threads in one process; pN: N processes of 1 worker")
    parser.add_argument("--baseline-of", type=Path, help=argparse.SUPPRESS)
    for flag in ("--workers", "--processes"):
        parser.add_argument(flag, type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--process-id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--addresses", default="", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.baseline_of:
        baseline_main(a.baseline_of, a)
        return
    t0 = time.monotonic()
    load = round(os.getloadavg()[0], 2)
    source = journal(a.min_frames)
    stats = journal_stats(source)
    records = stats["records"]
    work = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    try:
        shutil.copytree(source / "journal", work / "journal")
        runs: dict[str, Any] = {}
        for name in a.layouts.split(","):
            layout = layout_args(name)
            runs[f"replay_{name}"] = replay = run_replay(work, layout, records)
            runs[f"baseline_{name}"] = base = run_baseline(work, layout, records)
            runs[f"ratio_{name}"] = round(replay["frames_per_s"] / base["frames_per_s"], 3)
            runs[f"ratio_cpu_{name}"] = round(replay["frames_per_cpu_s"]
                                              / base["frames_per_cpu_s"], 3)
        # the same replay with Bytewax recovery snapshots (default every 2 s) pushed past its end
        runs["replay_w1_snapshots_off"] = run_replay(
            work, [*layout_args("w1"), "--snapshot-interval", str(SNAPSHOTS_OFF_S)], records)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table: list[tuple[str, Any]] = [("journal records", records),
                                    ("chargers", stats["chargers"])]
    for key, value in runs.items():
        if key.startswith("ratio"):
            table.append((f"{key} (replay/baseline)", value))
        else:
            table.append((f"{key} frames/s, per CPU-s, peak RSS MiB",
                          f"{value['frames_per_s']}, {value['frames_per_cpu_s']}, "
                          f"{value['peak_rss_mib']}"))
    report("replay", {"journal": {"source": "chargeline simulate (recorded, tiled)",
                                  "recording": RECORDING, **stats},
                      **runs, "target_ratio": 0.5, "loadavg_1m_at_start": load,
                      "bench_wall_s": round(time.monotonic() - t0)},
           table)


if __name__ == "__main__":
    main()
