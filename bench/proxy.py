"""Latency added by proxy mode: chargers → ``chargeline serve --upstream`` → a central system,
against the same chargers talking to that central system directly, in the same run.

    python -m bench.proxy [--chargers 100,1000] [--seconds 20] [--rate 1] [--rounds 2]

The upstream is ``bench/proxy_upstream.py`` (its own process: answers every OCPP 1.6 CALL at
once). N raw websockets chargers in this process each send a Heartbeat CALL every 1/rate s
(phases spread over the period; the next CALL only after the answer, as OCPP-J requires), and
each CALL's round trip is timed. Direct and proxied runs alternate, ``--rounds`` each, so both
meet the machine of the same minute; percentiles are over all rounds of a mode. After each
proxied run the proxy's journal is read: every CALL and every answer forwarded must be there.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from bench._common import free_port, percentile, report, spawn, wait_port
from ingest.journal import JournalReader

QS = (50, 95, 99)
TARGET_P95_ADDED_MS = 5.0
STALL_MS = 50.0   # a second whose slowest round trip passes this is a stall, listed by time


class GcPauses:
    """Every collection of this process while installed: (monotonic start, seconds, generation).
    ``time.monotonic`` is the system's CLOCK_MONOTONIC: comparable across the bench's processes."""

    def __init__(self) -> None:
        self.pauses: list[tuple[float, float, int]] = []
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.monotonic()
        else:
            self.pauses.append((self._start, time.monotonic() - self._start, info["generation"]))

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self)


def stalls(stamps: list[float], latencies: list[float], t0: float,
           events: dict[str, list[tuple[float, float]]]) -> list[dict[str, Any]]:
    """The seconds (from ``t0``, monotonic) whose slowest round trip passed ``STALL_MS``, the
    worst first (at most 10), each with what overlapped it: ``events`` maps a source (the
    client's GC, the proxy's GC or fsync in a probe) to (monotonic start, seconds) spans."""
    worst: dict[int, list[float]] = {}
    for start, latency in zip(stamps, latencies, strict=True):
        worst.setdefault(int(start - t0), []).append(latency)
    out = []
    for second, values in worst.items():
        if max(values) * 1e3 < STALL_MS:
            continue
        lo, hi = t0 + second, t0 + second + 1 + max(values)
        out.append({"at_s": second, "max_ms": round(max(values) * 1e3, 1),
                    "calls_over": sum(v * 1e3 >= STALL_MS for v in values),
                    "calls": len(values),
                    **{source: round(max(d for s, d in spans if lo - d <= s <= hi) * 1e3, 1)
                       for source, spans in events.items()
                       if any(lo - d <= s <= hi and d * 1e3 >= 5 for s, d in spans)}})
    return sorted(out, key=lambda s: -s["max_ms"])[:10]


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, all threads; 100 a CPU-second


async def _connect(url: str, gate: asyncio.Semaphore) -> ClientConnection:
    async with gate:
        return await websockets.connect(url, subprotocols=["ocpp1.6"],  # type: ignore[list-item]
                                        compression=None, open_timeout=60)


async def _beat(ws: ClientConnection, n: int, *, t0: float, seconds: float, period_s: float,
                latencies: list[float], stamps: list[float]) -> dict[str, int]:
    """Heartbeats on a fixed schedule until ``t0 + seconds``; counts of what went and came."""
    loop = asyncio.get_running_loop()
    counts = {"sent": 0, "received": 0, "late": 0, "mismatched": 0}
    next_at = t0 + random.random() * period_s
    while next_at < t0 + seconds:
        await asyncio.sleep(max(0.0, next_at - loop.time()))
        message_id = f"{n}-{counts['sent']}"
        start = time.monotonic()
        await ws.send(f'[2,"{message_id}","Heartbeat",{{}}]')
        counts["sent"] += 1
        reply = await ws.recv()
        latencies.append(time.monotonic() - start)
        stamps.append(start)
        counts["received"] += 1
        counts["mismatched"] += orjson.loads(reply)[1] != message_id
        next_at += period_s
        counts["late"] += next_at < loop.time()  # the answer outlasted the period
    return counts


async def _load(url_of: Callable[[int], str], chargers: int, seconds: float, period_s: float,
                pids: list[int]) -> dict[str, Any]:
    """Connect every charger, then beat; CPU of this process and ``pids`` over the beating."""
    gate, loop = asyncio.Semaphore(100), asyncio.get_running_loop()
    wall0 = time.monotonic()
    sockets = await asyncio.gather(*(_connect(url_of(i), gate) for i in range(chargers)))
    connect_s = time.monotonic() - wall0
    # the client's own heap (1,000 connections) out of its collector's sight while it times:
    # its pauses are no one's latency (both modes alike)
    gc.collect()
    gc.freeze()
    latencies: list[float] = []
    stamps: list[float] = []
    ticks0, client0, wall0 = [_cpu_ticks(p) for p in pids], time.process_time(), time.monotonic()
    t0 = loop.time() + 0.2  # asyncio's loop clock is time.monotonic
    with GcPauses() as client_gc:
        counts = await asyncio.gather(*(_beat(ws, i, t0=t0, seconds=seconds,
                                              period_s=period_s, latencies=latencies,
                                              stamps=stamps)
                                        for i, ws in enumerate(sockets)))
    wall = time.monotonic() - wall0
    cpu = [round((_cpu_ticks(p) - t) / wall) for p, t in zip(pids, ticks0, strict=True)]
    client_cpu = round((time.process_time() - client0) / wall * 100)
    await asyncio.gather(*(ws.close() for ws in sockets))
    gc.unfreeze()
    totals = {k: sum(c[k] for c in counts) for k in counts[0]}
    return {"latencies": latencies, "stamps": stamps, "t0": t0,
            "client_gc": [(s, d) for s, d, _ in client_gc.pauses],
            "connect_s": round(connect_s, 2), **totals,
            "calls_per_s": round(totals["received"] / wall, 1), "client_cpu_pct": client_cpu,
            "server_cpu_pct": cpu}


def _stop(proc: Any) -> None:
    proc.terminate()
    proc.wait(30)


def run_direct(chargers: int, seconds: float, period_s: float) -> dict[str, Any]:
    port = free_port()
    upstream = spawn(["bench/proxy_upstream.py", str(port)])
    try:
        wait_port(port)
        run = asyncio.run(_load(lambda i: f"ws://127.0.0.1:{port}/ocpp/BENCH-{i}", chargers,
                                seconds, period_s, [upstream.pid]))
    finally:
        _stop(upstream)
    run["upstream_cpu_pct"] = run.pop("server_cpu_pct")[0]
    return run


def run_proxied(chargers: int, seconds: float, period_s: float,
                probe: list[str] | None = None) -> dict[str, Any]:
    """Through ``chargeline serve --upstream``; with ``probe`` ([stats file, fsync mode]),
    serve runs under ``probed_serve``, timing its journal."""
    up_port, port = free_port(), free_port()
    data_dir = tempfile.mkdtemp(prefix="bench-proxy-")
    upstream = spawn(["bench/proxy_upstream.py", str(up_port)])
    launcher = (["-m", "bench.proxy", "--probe-serve", *probe, "--"] if probe
                else ["-m", "chargeline"])
    try:
        wait_port(up_port)
        proxy = spawn([*launcher, "serve", "--upstream",
                       f"ws://127.0.0.1:{up_port}/ocpp", "--data-dir", data_dir,
                       "--port", str(port)])
        try:
            wait_port(port)
            run = asyncio.run(_load(lambda i: f"ws://127.0.0.1:{port}/ocpp/BENCH-{i}",
                                    chargers, seconds, period_s, [proxy.pid, upstream.pid]))
        finally:
            _stop(proxy)  # the journal closed: everything it took is on disk
        run["proxy_cpu_pct"], run["upstream_cpu_pct"] = run.pop("server_cpu_pct")
        run["journal"] = _journal_counts(data_dir, run["sent"] + run["received"])
        return run
    finally:
        _stop(upstream)
        shutil.rmtree(data_dir, ignore_errors=True)


def _journal_counts(data_dir: str, forwarded: int) -> dict[str, Any]:
    """Frames in the proxy's journal (record kind ``frame``) against CALLs + answers the
    chargers sent and got (each forwarded by the proxy once)."""
    frames = [f for f in JournalReader(data_dir).frames() if f.record_kind == "frame"]
    inbound = sum(f.direction == "in" for f in frames)
    return {"frames_journaled": len(frames), "journaled_in": inbound,
            "journaled_out": len(frames) - inbound, "frames_forwarded": forwarded,
            "equal": len(frames) == forwarded}


def fsync_ms(directory: str, n: int = 200) -> dict[str, float]:
    """A small append + fsync on the disk the journal uses, ``n`` times: the floor under each
    journaled frame (the proxy journals two per round trip, each before forwarding it)."""
    path, times = Path(directory) / "fsync-probe", []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for _ in range(n):
            os.write(fd, b"x" * 2048)
            start = time.perf_counter()
            os.fsync(fd)
            times.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return {f"p{q}_ms": round(percentile(times, q / 100) * 1e3, 3) for q in (50, 95)}


def probed_serve(stats_file: str, fsync: str, argv: list[str]) -> int:
    """``chargeline <argv>`` with timers on its journal, written to ``stats_file`` (JSON) at
    exit: each ``write``'s wait until durable (what every frame waits before it is forwarded),
    each group's write + fsync in the journal thread and its frames, and the event loop's lag
    (a 10 ms sleep's overshoot). Connection set-up is included (a few % of the frames).
    ``fsync`` "off" makes the journal's fsyncs no-ops: what the proxy costs without them."""
    from chargeline.cli import main as chargeline_main
    from ingest.files import OsFileSystem
    from ingest.journal.group_commit import GroupCommitJournal

    if fsync == "off":
        OsFileSystem.fsync = lambda self, fd: None  # type: ignore[method-assign]

    timings: dict[str, list[float]] = {"write_wait": [], "write_and_fsync": [],
                                       "group_frames": [], "loop_lag": []}
    spans: dict[str, list[tuple[float, float]]] = {"proxy_fsync": []}
    gc_pauses = GcPauses().__enter__()
    write, commit, lag_task = GroupCommitJournal.write, GroupCommitJournal._write_and_sync, []

    async def lag() -> None:
        loop = asyncio.get_running_loop()
        while True:
            start = loop.time()
            await asyncio.sleep(0.01)
            timings["loop_lag"].append(loop.time() - start - 0.01)

    async def timed_write(self: Any, records: Any) -> range:
        if not lag_task:
            lag_task.append(asyncio.get_running_loop().create_task(lag()))
        start = time.perf_counter()
        try:
            return await write(self, records)
        finally:
            timings["write_wait"].append(time.perf_counter() - start)

    def timed_commit(self: Any, encoded: Any) -> range:
        start = time.monotonic()
        ids = commit(self, encoded)
        timings["write_and_fsync"].append(time.monotonic() - start)
        spans["proxy_fsync"].append((start, timings["write_and_fsync"][-1]))
        timings["group_frames"].append(len(ids))
        return ids

    GroupCommitJournal.write, GroupCommitJournal._write_and_sync = timed_write, timed_commit  # type: ignore[method-assign]
    try:
        return chargeline_main(argv)
    finally:
        spans["proxy_gc"] = [(s, d) for s, d, _ in gc_pauses.pauses]
        Path(stats_file).write_bytes(orjson.dumps({**timings, "spans": spans}))


def _probe_summary(stats_file: str) -> dict[str, Any]:
    timings = orjson.loads(Path(stats_file).read_bytes())
    timings.pop("spans")
    groups = timings.pop("group_frames")
    out: dict[str, Any] = {"groups": len(groups),
                           "frames_per_group_mean": round(sum(groups) / len(groups), 2)}
    for name, values in timings.items():
        out[name] = {**_percentiles(values), "max_ms": round(max(values) * 1e3, 2),
                     "count": len(values)}
    return out


def _probe(chargers: int, seconds: float, period_s: float, fsync: str) -> dict[str, Any]:
    """One proxied run with serve's journal timed (``probed_serve``): where the time goes."""
    stats_file = Path(tempfile.mkdtemp(prefix="bench-proxy-probe-")) / "stats.json"
    try:
        run = run_proxied(chargers, seconds, period_s, probe=[str(stats_file), fsync])
        spans = orjson.loads(stats_file.read_bytes())["spans"]
        found = stalls(run["stamps"], run["latencies"], run["t0"],
                       {"client_gc": run["client_gc"], **spans})
        gc_ms = sorted((round(d * 1e3, 1) for _, d in spans["proxy_gc"]), reverse=True)
        return {"chargers": chargers, "fsync": fsync, **_percentiles(run.pop("latencies")),
                "stalls": found, "proxy_gc_pauses_ms_top": gc_ms[:5],
                "proxy_gc_collections": len(gc_ms),
                "proxy_cpu_pct": run["proxy_cpu_pct"], "client_cpu_pct": run["client_cpu_pct"],
                "journal_equal": run["journal"]["equal"], **_probe_summary(str(stats_file))}
    finally:
        shutil.rmtree(stats_file.parent, ignore_errors=True)


def _percentiles(latencies: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": round(percentile(latencies, q / 100) * 1e3, 2) for q in QS}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Percentiles over every round of one mode, and each round's own figures."""
    pooled = [x for run in runs for x in run["latencies"]]
    raw = ("latencies", "stamps", "t0", "client_gc")
    rounds = [{**_percentiles(run["latencies"]),
               "stalls": stalls(run["stamps"], run["latencies"], run["t0"],
                                {"client_gc": run["client_gc"]}),
               **{k: v for k, v in run.items() if k not in raw}} for run in runs]
    return {**_percentiles(pooled), "max_ms": round(max(pooled) * 1e3, 2),
            "calls": len(pooled), "rounds": rounds}


def compare(chargers: int, seconds: float, period_s: float, rounds: int) -> dict[str, Any]:
    """Direct and proxied in turns, ``rounds`` each; what the proxy adds per percentile."""
    runs: dict[str, list[dict[str, Any]]] = {"direct": [], "proxied": []}
    for _ in range(rounds):
        runs["direct"].append(run_direct(chargers, seconds, period_s))
        runs["proxied"].append(run_proxied(chargers, seconds, period_s))
    direct, proxied = _summary(runs["direct"]), _summary(runs["proxied"])
    keys = [f"p{q}_ms" for q in QS]
    return {"chargers": chargers, "direct": direct, "proxied": proxied,
            "added_ms": {k: round(proxied[k] - direct[k], 2) for k in keys},
            "added_p95_ms_per_round": [round(p["p95_ms"] - d["p95_ms"], 2) for d, p in
                                       zip(direct["rounds"], proxied["rounds"], strict=True)],
            "ratio": {k: round(proxied[k] / direct[k], 2) for k in keys},
            "journal_equals_forwarded": all(r["journal"]["equal"] for r in proxied["rounds"])}


def _table(sweeps: list[dict[str, Any]]) -> list[tuple[str, Any]]:
    table: list[tuple[str, Any]] = []
    for s in sweeps:
        d, p, a, n = s["direct"], s["proxied"], s["added_ms"], s["chargers"]
        journal = [r["journal"] for r in p["rounds"]]
        table += [
            (f"{n}: direct p50/p95/p99 ms", f"{d['p50_ms']}/{d['p95_ms']}/{d['p99_ms']}"),
            (f"{n}: proxied p50/p95/p99 ms", f"{p['p50_ms']}/{p['p95_ms']}/{p['p99_ms']}"),
            (f"{n}: added p50/p95/p99 ms", f"{a['p50_ms']}/{a['p95_ms']}/{a['p99_ms']}"),
            (f"{n}: journaled / forwarded", ", ".join(
                f"{j['frames_journaled']}/{j['frames_forwarded']}" for j in journal)),
            (f"{n}: CPU % proxy/upstream/client", ", ".join(
                f"{r['proxy_cpu_pct']}/{r['upstream_cpu_pct']}/{r['client_cpu_pct']}"
                for r in p["rounds"]))]
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", default="100,1000", help="comma-separated counts")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rate", type=float, default=1.0, help="CALLs/s of each charger")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--probe", action="store_true",
                        help="then proxied runs at the largest count with the journal timed, "
                        "fsync on and off")
    a = parser.parse_args()
    if a.rate <= 0 or a.seconds <= 0 or a.rounds < 1:
        parser.error(f"--rate and --seconds must be > 0 and --rounds >= 1, got "
                     f"{a.rate}, {a.seconds}, {a.rounds}")
    load0 = os.getloadavg()[0]
    fsync = fsync_ms(tempfile.gettempdir())
    sweeps = [compare(int(n), a.seconds, 1 / a.rate, a.rounds) for n in a.chargers.split(",")]
    largest = max(sweeps, key=lambda s: s["chargers"])
    probe = [_probe(largest["chargers"], a.seconds, 1 / a.rate, fsync) for fsync in
             ("on", "off")] if a.probe else None
    met = largest["added_ms"]["p95_ms"] < TARGET_P95_ADDED_MS
    report("proxy", {"seconds": a.seconds, "rate_per_charger": a.rate, "rounds": a.rounds,
                     "load_average_at_start": round(load0, 2),
                     "load_average_at_end": round(os.getloadavg()[0], 2), "fsync_probe": fsync,
                     "sweeps": sweeps, "target_p95_added_ms": TARGET_P95_ADDED_MS,
                     "target_at_chargers": largest["chargers"],
                     "p95_added_ms": largest["added_ms"]["p95_ms"], "target_met": met,
                     "probe": probe},
           [*_table(sweeps), ("fsync probe p50/p95 ms", f"{fsync['p50_ms']}/{fsync['p95_ms']}"),
            (f"target p95 added < {TARGET_P95_ADDED_MS} ms at {largest['chargers']}",
             f"{largest['added_ms']['p95_ms']} ms: {'met' if met else 'MISSED'}")])


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe-serve"]:  # the proxy process of a --probe run
        sys.exit(probed_serve(sys.argv[2], sys.argv[3], sys.argv[5:]))
    main()
