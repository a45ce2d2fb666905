"""Replay throughput: frames/s of ``chargeline replay`` (adapters, sessions, detectors, warehouse)
on recorded fleet traffic, with the fast path off (BEFORE, ``CHARGELINE_FAST_PATH=0``) and on
(AFTER), alternating, in two layouts (1 worker; ``--processes 2``), beside two yardsticks over
the same journal in the same run: the adapters alone (``from_table`` + ``normalize_batch``, one
process: the practical limit of per-frame work) and orjson parsing each frame alone (the floor).
``--fleet-day`` adds a day of the big simulated fleet (``bench/_fleetday.py``).

The journal: ``chargeline serve`` + ``chargeline simulate --chargers 200 --speed 1200
--duration 30 --faults all`` recorded once into a cache under the temp dir (about 40 s the first
time; the same ten simulated hours as ``--speed 600 --duration 60``), then tiled: copy k of
every record gets ``-k`` on its charge point and connection ids, interleaved in receive order,
so the replay sees a fleet of 200 x copies chargers at ≥ ``--min-frames`` records.

    python -m bench.replay [--min-frames 200000] [--layouts w1,p2] [--rounds 1] [--fleet-day]
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from bench._common import free_port, report, spawn, wait_port

CACHE = Path(tempfile.gettempdir()) / "chargeline-bench-replay-v1"
RECORDING = {"chargers": 200, "speed": 1200, "duration": 30}
CLI = ["-m", "chargeline"]
STARTUP_RECORDS = 2_000  # the journal's head a start-up run replays


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
@dataclass(frozen=True, slots=True)
class Measured:
    """One child process run to its end, its own children included."""

    wall_s: float
    cpu_s: float  # user + system, all threads
    peak_rss_mib: float  # the sum of each process's own peak
    written_mib: float  # ``ru_oublock``
    runqueue_s: float  # time its threads were ready to run but waited for a core


def timed(args: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run ``python args`` to its end and measure it (the rusage of waited-for descendants is
    added to their parent's).

    A peak is a process's ``VmHWM``, sampled every 20 ms (``ru_maxrss`` would not do: Linux
    carries the parent's high-water mark over ``exec``, and this parent holds the journal).
    The run-queue wait is each thread's ``schedstat`` as last sampled: on a shared box it says
    how much of the wall time was spent waiting for the other work's cores.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, *args], env=env, stdout=subprocess.DEVNULL,
                                stderr=err)
        peaks: dict[int, int] = {}
        waits: dict[str, int] = {}
        while True:
            for pid in _tree(proc.pid):
                peaks[pid] = max(peaks.get(pid, 0), _hwm_kib(Path(f"/proc/{pid}/status")))
                waits.update(_runqueue_ns(pid))
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
    return Measured(wall, usage.ru_utime + usage.ru_stime, sum(peaks.values()) / 1024,
                    usage.ru_oublock * 512 / 2**20, sum(waits.values()) / 1e9)


def _runqueue_ns(pid: int) -> dict[str, int]:
    """Each thread of ``pid``: ns spent runnable, waiting for a core (``schedstat``)."""
    out = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out[f"{pid}/{task.name}"] = int((task / "schedstat").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


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


def run_replay(data_dir: Path, layout: list[str], records: int, fast_path: bool = True
               ) -> dict[str, float]:
    env = {"CHARGELINE_FAST_PATH": "1" if fast_path else "0"}
    figures = _figures(records, timed([*CLI, "replay", "--data-dir", str(data_dir), *layout],
                                      env))
    written = warehouse_frames(data_dir)
    if written != records:
        raise RuntimeError(f"replay wrote {written} frames of {records}")
    return figures


def _figures(records: int, run: Measured) -> dict[str, float]:
    return {"wall_s": round(run.wall_s, 2), "frames_per_s": round(records / run.wall_s),
            "cpu_s": round(run.cpu_s, 2), "frames_per_cpu_s": round(records / run.cpu_s),
            "peak_rss_mib": round(run.peak_rss_mib, 1),
            "disk_written_mib": round(run.written_mib, 1),
            "runqueue_wait_s": round(run.runqueue_s, 2)}


# -- the yardsticks (each in its own process; the journal is read before the clock starts) --
def yardstick(kind: str, data_dir: Path) -> dict[str, float]:
    """``adapters`` or ``parse`` over the journal in a child process: its figures."""
    out = subprocess.run([sys.executable, "-m", "bench.replay", f"--{kind}-of", str(data_dir)],
                         check=True, capture_output=True, text=True)
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def adapters_alone(data_dir: Path) -> None:
    """Every record unpacked (``from_table``) and normalized (``normalize_batch``): what the
    per-frame path costs before any detector, batch by batch as the source hands them."""
    from adapters.normalizer import ChargerNormalizer, normalize_batch
    from canonical import RawFrame, from_table
    from chargeline.flowrun import GC_YOUNG_OBJECTS
    from ingest.journal import JournalReader

    batches = JournalReader(data_dir).read_all().to_batches(max_chunksize=20_000)
    normalizers: dict[str, ChargerNormalizer] = {}

    def normalize() -> None:  # each batch's events dropped, as the flow hands them on
        for batch in batches:
            normalize_batch(from_table(RawFrame, batch), normalizers=normalizers)

    gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])  # as the flow runs
    _print_timed(sum(b.num_rows for b in batches), normalize)


def parse_alone(data_dir: Path) -> None:
    """``orjson.loads`` of every record's text, nothing else."""
    import orjson

    from ingest.journal import JournalReader

    raws = JournalReader(data_dir).read_all()["raw"].to_pylist()
    loads = orjson.loads

    def parse() -> None:
        for raw in raws:  # try, not contextlib.suppress: its enter/exit per frame is the cost
            try:  # noqa: SIM105
                loads(raw)
            except orjson.JSONDecodeError:
                pass
    _print_timed(len(raws), parse)


def _print_timed(records: int, work: Callable[[], object]) -> None:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    work()
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    print(json.dumps({"wall_s": round(wall, 2), "frames_per_s": round(records / wall),
                      "cpu_s": round(cpu, 2), "frames_per_cpu_s": round(records / cpu)}))


# -- main --------------------------------------------------------------------------------
def compare(work: Path, records: int, layouts: list[str], rounds: int
            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The yardsticks, then BEFORE (fast path off) and AFTER (on), alternating, per layout,
    each round; of each the best of ``rounds`` by CPU time (the machine is shared: wall time
    also measures the neighbours). Returns (yardsticks, replays)."""
    sticks: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    small = head(work, work / "startup", STARTUP_RECORDS)
    for _ in range(rounds):
        for key, kind in (("adapters_alone", "adapters"), ("orjson_parse_alone", "parse")):
            _keep_best(sticks, key, yardstick(kind, work))
        for name in layouts:
            for label, fast in (("before", False), ("after", True)):
                got = run_replay(work, layout_args(name), records, fast)
                _keep_best(runs, f"replay_{name}_{label}", got)
            got = run_replay(small, layout_args(name), STARTUP_RECORDS, True)
            _keep_best(runs, f"startup_{name}", got)
    return sticks, runs


def head(data_dir: Path, out: Path, records: int) -> Path:
    """A data dir holding the first ``records`` of ``data_dir``'s journal: a replay of it is
    the command's fixed cost (start-up, generation, catalog, shutdown) and little else."""
    from ingest.journal import JournalReader, JournalWriter

    table = JournalReader(data_dir).read_all().slice(0, records)
    with JournalWriter(out, fsync=False) as writer:
        for batch in table.to_batches(max_chunksize=10_000):
            writer.append(_records(batch))
    return out


def _keep_best(found: dict[str, Any], key: str, got: dict[str, float]) -> None:
    if key not in found or got["cpu_s"] < found[key]["cpu_s"]:
        found[key] = got


def ratios(runs: dict[str, Any], adapters: dict[str, float], records: int
           ) -> dict[str, float]:
    """Replay over adapters-alone (per wall second and per CPU second), and p2 over w1; then
    the same once started (``steady_rate``): the yardsticks are timed without their start-up,
    the replays with it."""
    out: dict[str, float] = {}
    for key, run in [(k, v) for k, v in runs.items() if k.startswith("replay_")]:
        name = key.removeprefix("replay_")
        out[f"{name}_over_adapters"] = round(run["frames_per_s"] / adapters["frames_per_s"], 3)
        out[f"{name}_over_adapters_cpu"] = round(run["frames_per_cpu_s"]
                                                 / adapters["frames_per_cpu_s"], 3)
    for label in ("before", "after"):
        one, two = runs.get(f"replay_w1_{label}"), runs.get(f"replay_p2_{label}")
        if one and two:
            out[f"p2_over_w1_{label}"] = round(two["frames_per_s"] / one["frames_per_s"], 3)
    steady = {name: steady_rate(runs[f"replay_{name}_after"], runs[f"startup_{name}"],
                                records)
              for name in ("w1", "p2") if f"startup_{name}" in runs}
    for name, rate in steady.items():
        out[f"{name}_after_steady_frames_per_s"] = round(rate)
        out[f"{name}_after_steady_over_adapters"] = round(rate / adapters["frames_per_s"], 3)
    if len(steady) == 2:
        out["p2_over_w1_after_steady"] = round(steady["p2"] / steady["w1"], 3)
    return out


def steady_rate(run: dict[str, float], startup: dict[str, float], records: int) -> float:
    """Frames per second once started: the frames beyond the start-up run's over the wall
    time beyond its (the fixed cost, measured in the same run, taken out)."""
    return (records - STARTUP_RECORDS) / max(run["wall_s"] - startup["wall_s"], 1e-3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--min-frames", type=int, default=200_000)
    parser.add_argument("--layouts", default="w1,p2",
                        help="wN: N worker threads in one process; pN: N processes of 1 worker")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--fleet-day", action="store_true",
                        help="also replay a day of the big simulated fleet (bench/_fleetday.py)")
    parser.add_argument("--adapters-of", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--parse-of", type=Path, help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.adapters_of or a.parse_of:
        adapters_alone(a.adapters_of) if a.adapters_of else parse_alone(a.parse_of)
        return
    t0 = time.monotonic()
    load = round(os.getloadavg()[0], 2)
    source = journal(a.min_frames)
    stats = journal_stats(source)
    records = stats["records"]
    work = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    try:
        shutil.copytree(source / "journal", work / "journal")
        sticks, runs = compare(work, records, a.layouts.split(","), a.rounds)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {"journal": {"source": "chargeline simulate (recorded, tiled)",
                                          "recording": RECORDING, **stats},
                              **sticks, **runs,
                              "ratios": ratios(runs, sticks["adapters_alone"], records)}
    if a.fleet_day:
        from bench._fleetday import fleet_day

        result["fleet_day"] = fleet_day(run_replay)
    result |= {"target": "replay_w1_after_over_adapters >= 0.5; p2_over_w1_after near 2",
               "loadavg_1m_at_start": load, "loadavg_1m_at_end": round(os.getloadavg()[0], 2),
               "bench_wall_s": round(time.monotonic() - t0)}
    table: list[tuple[str, Any]] = [("journal records", records),
                                    ("chargers", stats["chargers"])]
    for key, value in [*sticks.items(), *runs.items()]:
        table.append((f"{key} frames/s, per CPU-s", f"{value['frames_per_s']}, "
                                                    f"{value['frames_per_cpu_s']}"))
    table += list(result["ratios"].items())
    report("replay", result, table)


if __name__ == "__main__":
    main()
