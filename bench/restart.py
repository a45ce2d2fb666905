"""Ingest restart cost against journal history: ``chargeline serve`` from its start to
listening, and its memory, on a journal of 1 M and of 10 M frames, beside an empty journal's
start in the same run (the baseline: imports, TLS-less server set-up).

The journals are generated, not recorded: segments written by the journal writer itself
(``write_encoded``, the bytes the server writes, 200,000 rows a segment, their ``.starts``
indexes written at each close), from columns built once and varied per segment. Traffic
shape: 2,000 chargers, per session one StartTransaction and 64 MeterValues, each CALL with its
answer (1 start in 130 frames). Cached under the temp dir.

Per journal: the start as the server meets it (indexes present), and a ``legacy`` start of
the same journal without its ``.starts`` files (an older writer's: the first start indexes
it, once) followed by the start after it; then the empty journal's start again (the machine
is shared: the baseline is taken before and after). ``--cold`` empties the page cache before
each start (root only), so the journal is read from the disk, as after a reboot.
``--code DIR`` runs another checkout's ``chargeline`` on the same journals (the code before
the index: ``git archive <rev>``).

    python -m bench.restart [--sizes 1000000,10000000] [--starts 5] [--cold] [--code DIR]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

from bench._common import free_port, report, wait_port

CACHE = Path(tempfile.gettempdir()) / "chargeline-bench-restart-v1"
SEGMENT_ROWS = 200_000
SESSION_ROWS = 130  # one start pair, 64 MeterValues pairs
CHARGERS = 2_000
T0_NS = 1_767_225_600_000_000_000  # 2026-01-01
ROOT = Path(__file__).resolve().parent.parent


# -- the journals ------------------------------------------------------------------------
def _template() -> dict[str, list[Any]]:
    """One segment's columns but frame ids, times and the start rows' texts."""
    cols: dict[str, list[Any]] = {k: [] for k in (
        "charge_point_id", "connection_id", "direction", "message_type", "message_id",
        "action", "raw")}
    for row in range(SEGMENT_ROWS):
        session, k = divmod(row, SESSION_ROWS)
        cp = f"CP{session % CHARGERS:05d}"
        call = k % 2 == 0
        action = "StartTransaction" if k < 2 else "MeterValues"
        mid = f"{session}-{k // 2}"
        raw = (f'[2,"{mid}","MeterValues",{{"connectorId":1,"transactionId":{session},'
               f'"meterValue":[{{"timestamp":"2026-01-01T00:00:00Z","sampledValue":'
               f'[{{"value":"{k * 10}","measurand":"Energy.Active.Import.Register"}}]}}]}}]'
               if call else f'[3,"{mid}",{{}}]')
        for key, value in (("charge_point_id", cp), ("connection_id", f"c-{cp}"),
                           ("direction", "in" if call else "out"),
                           ("message_type", 2 if call else 3), ("message_id", mid),
                           ("action", action), ("raw", raw)):
            cols[key].append(value)
    return cols


def _segment(template: dict[str, list[Any]], first_id: int, rows: int) -> tuple[
        pa.RecordBatch, list[Any]]:
    """Segment rows numbered from ``first_id``: its batch and the starts answered in it."""
    from canonical import RawFrame, schema_of
    from ingest.journal.starts import Start, content_key, key_digest

    raw = list(template["raw"][:rows])
    starts = []
    for row in range(0, rows - 1, SESSION_ROWS):
        n = (first_id + row) // SESSION_ROWS  # the session's number in the whole journal
        payload = {"connectorId": 1, "idTag": f"TAG{n:08d}", "meterStart": n,
                   "timestamp": "2026-01-01T00:00:00Z"}
        mid = template["message_id"][row]
        raw[row] = orjson.dumps([2, mid, "StartTransaction", payload]).decode()
        raw[row + 1] = orjson.dumps([3, mid, {"transactionId": n + 1,
                                              "idTagInfo": {"status": "Accepted"}}]).decode()
        key = key_digest(content_key(template["charge_point_id"][row], payload))
        starts.append(Start(key, n + 1, T0_NS + (first_id + row) * 1_000_000,
                            first_id + row + 1))
    ids = pa.array(range(first_id, first_id + rows), pa.int64())
    columns = {"frame_id": ids,
               "received_at": pc.add(pc.multiply(ids, 1_000_000), T0_NS).cast(
                   pa.timestamp("ns", tz="UTC")),
               "protocol": pa.repeat("ocpp1.6", rows), "record_kind": pa.repeat("frame", rows),
               "parse_status": pa.repeat("ok", rows), "raw": pa.array(raw)}
    for key in ("charge_point_id", "connection_id", "direction", "message_type",
                "message_id", "action"):
        columns[key] = pa.array(template[key][:rows])
    schema = schema_of(RawFrame)
    return pa.RecordBatch.from_arrays([columns[f.name].cast(f.type) for f in schema],
                                      schema=schema), starts


def generate(data_dir: Path, frames: int) -> None:
    """``frames`` journal records under ``data_dir``, written by the journal writer."""
    from ingest.journal import JournalWriter
    from ingest.journal.writer import EncodedBatch

    template = _template()
    with JournalWriter(data_dir, segment_rows=SEGMENT_ROWS, fsync=False) as writer:
        while writer.next_frame_id <= frames:
            first = writer.next_frame_id
            batch, starts = _segment(template, first, min(SEGMENT_ROWS, frames - first + 1))
            for offset in range(0, batch.num_rows, 4_000):  # groups as the server commits
                part = batch.slice(offset, 4_000)
                ids = range(first + offset, first + offset + part.num_rows)
                mine = tuple(s for s in starts if s.frame_id in ids)
                writer.write_encoded(EncodedBatch(ids, part.serialize().to_pybytes(), mine))
            writer.sync()


def journal(frames: int) -> Path:
    path = CACHE / f"frames-{frames}"
    if not (path / "journal" / "DURABLE").exists():
        shutil.rmtree(path, ignore_errors=True)
        t0 = time.perf_counter()
        generate(path, frames)
        print(f"generated {frames:,} frames in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr)
    return path


def without_indexes(source: Path) -> Path:
    """A copy of ``source`` as an older writer left it: no ``.starts`` files."""
    copy = CACHE / f"{source.name}-legacy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("*.starts"))
    return copy


# -- one start ---------------------------------------------------------------------------
def status_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def start_once(data_dir: Path, code: Path) -> dict[str, float]:
    """Seconds from spawning ``chargeline serve`` to its port accepting, and its memory."""
    port = free_port()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "chargeline", "serve", "--data-dir",
                             str(data_dir), "--port", str(port)], cwd=code,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout_s=1800)
        seconds = time.perf_counter() - t0
        time.sleep(0.3)
        return {"start_s": seconds, "rss_mib": status_mib(proc.pid, "VmRSS"),
                "peak_rss_mib": status_mib(proc.pid, "VmHWM")}
    finally:
        proc.terminate()
        proc.wait(60)


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), so a start reads from the disk."""
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("1\n")
        return True
    except OSError:
        return False


def starts(data_dir: Path, code: Path, n: int, cold: bool) -> dict[str, float]:
    """Median of ``n`` starts (and the fastest start's seconds); ``cold``: each start after
    emptying the page cache (the imports of Python itself are then cold too)."""
    runs = []
    for _ in range(n):
        if cold:
            drop_page_cache()
        runs.append(start_once(data_dir, code))
    median = {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]}
    return {**median, "min_start_s": round(min(r["start_s"] for r in runs), 3)}


def journal_mib(data_dir: Path) -> float:
    return round(sum(p.stat().st_size for p in (data_dir / "journal").iterdir()) / 2**20, 1)


def measure(sizes: list[int], n: int, code: Path, cold: bool) -> dict[str, Any]:
    journals = {frames: journal(frames) for frames in sizes}
    empty = Path(tempfile.mkdtemp(prefix="bench-restart-"))
    result: dict[str, Any] = {"cold_page_cache": cold}
    try:
        result["baseline_empty_journal"] = starts(empty, code, n, cold)
        for frames, data_dir in journals.items():
            legacy = without_indexes(data_dir)
            if cold:
                drop_page_cache()
            result[f"frames_{frames}"] = {
                "journal_mib": journal_mib(data_dir),
                "indexed": starts(data_dir, code, n, cold),
                "legacy_first_start": start_once(legacy, code),
                "legacy_next_start": starts(legacy, code, n, cold),
                "baseline_again": starts(empty, code, n, cold)}
            shutil.rmtree(legacy, ignore_errors=True)
    finally:
        shutil.rmtree(empty, ignore_errors=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--starts", type=int, default=5, help="starts per case (median)")
    parser.add_argument("--code", type=Path, default=ROOT,
                        help="the checkout whose chargeline is started (default: this one)")
    parser.add_argument("--name", default="restart", help="result file name")
    parser.add_argument("--cold", action="store_true",
                        help="empty the page cache before every start (root only)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    result = measure(sizes, args.starts, args.code.resolve(), args.cold)
    result["code"] = str(args.code)
    base = result["baseline_empty_journal"]
    table: list[tuple[str, Any]] = [("empty journal: start s / RSS MiB",
                                     f"{base['start_s']} / {base['rss_mib']:.0f}")]
    for frames in sizes:
        r = result[f"frames_{frames}"]
        table += [(f"{frames:,} frames ({r['journal_mib']} MiB): start s / RSS / peak MiB",
                   f"{r['indexed']['start_s']} / {r['indexed']['rss_mib']:.0f} / "
                   f"{r['indexed']['peak_rss_mib']:.0f}"),
                  ("  without indexes: first start s / next start s",
                   f"{r['legacy_first_start']['start_s']:.2f} / "
                   f"{r['legacy_next_start']['start_s']}")]
    report(args.name, result, table)


if __name__ == "__main__":
    main()
