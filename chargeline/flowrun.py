"""Running the dataflow: settings, Bytewax recovery, workers. ``run_flow`` blocks until the
end of a replay, or until the live flow is interrupted.

Processes: ``addresses`` (one ``host:port`` per process) and ``process_id`` make this process
one of a Bytewax cluster; ``chargeline flow --processes N`` starts the N of them.

Recovery: Bytewax snapshots every step's state into ``<data_dir>/recovery`` (one SQLite
partition per worker, created on first run) every ``snapshot_interval_s``; after a crash the
flow resumes from the last snapshot and replays the journal from there. A replay snapshots
once, at its end, unless told an interval: one stopped half way is discarded, never resumed
(``chargeline.rebuild``), and its snapshots every 2 s cost a third of its CPU. Writes are
at-least-once; the warehouse views dedupe by natural key, so nothing counts twice.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

from bytewax.inputs import Source
from bytewax.outputs import DynamicSink
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main
from prometheus_client import start_http_server

from canonical.enums import RecoveryPolicy
from canonical.errors import ConfigError
from canonical.journal import OpenReader
from canonical.kafka import parse_address
from chargeline.ports import wait_listening
from flows.config import FlowConfig
from flows.metrics import FlowMetrics, MeteredSink
from flows.pipeline import get_flow
from flows.shard import LAYOUT
from flows.source import JournalSource, request_stop, source_parts
from ingest.journal import JournalReader
from warehouse.sink import WarehouseSink

RECOVERY_PARTITIONS = 2
SOURCE_FILE = "SOURCE"  # in a recovery store: the journal source's partition count
#: The cyclic collector runs after this many new container objects, not Python's 700: the
#: flow makes records by the hundred thousand and frees them by reference count, and walking
#: the young ones every 700 allocations (the older ones every 7,000, and all of them, buffered
#: output included, whenever they grew by a quarter) cost 10-15 % of a replay's CPU for little
#: to collect (bench journal, A/B alternating 4 rounds, load 3-5: CPU min 6.56 s with
#: Python's 700, 5.29 s with 50,000, 6.05 s with the collector off).
GC_YOUNG_OBJECTS = 50_000
LIVE_SNAPSHOT_INTERVAL = timedelta(seconds=2)
#: One epoch for the whole replay: its only snapshot is the state at its end.
REPLAY_SNAPSHOT_INTERVAL = timedelta(days=365)


#: ``0`` turns the flow's fast path off (``flows.fastpath``): for the tests and the bench.
FAST_PATH_ENV = "CHARGELINE_FAST_PATH"


@dataclass(frozen=True, slots=True)
class FlowSettings:
    data_dir: Path
    follow: bool = True
    workers: int = 1
    addresses: tuple[str, ...] = ()  # host:port of every process of a cluster; () = alone
    process_id: int = 0
    stuck_after_s: float | None = None
    offline_after_s: float | None = None
    late_stop_s: float | None = None
    recovery: RecoveryPolicy | None = None  # None: FlowConfig's default
    recovery_close_after_s: float | None = None
    snapshot_interval_s: float | None = None  # None: 2 s live, a replay only at its end
    durable: bool = True
    # Where a replay writes (chargeline.rebuild): a new warehouse generation and recovery
    # store beside the current ones; None: the current ones.
    tables_root: Path | None = None
    recovery_dir: Path | None = None
    journal: str | None = None  # kafka://BROKERS/TOPIC; None: the files under data_dir
    metrics_port: int | None = None  # /metrics (flows.metrics); 0: any free port; None: off
    metrics_host: str = "127.0.0.1"

    def config(self) -> FlowConfig:
        config = FlowConfig()
        if self.stuck_after_s is not None:
            config = replace(config, stuck_after_s=self.stuck_after_s)
        if self.offline_after_s is not None:
            config = replace(config, offline_after_s=self.offline_after_s)
        if self.late_stop_s is not None:
            config = replace(config, late_stop_s=self.late_stop_s)
        if self.recovery is not None:
            config = replace(config, recovery=self.recovery)
        if self.recovery_close_after_s is not None:
            config = replace(config, recovery_close_after_s=self.recovery_close_after_s)
        if os.environ.get(FAST_PATH_ENV) == "0":  # the tests and bench/replay.py compare
            config = replace(config, fast_path=False)
        return config


def journal_files(data_dir: Path) -> OpenReader:
    """The journal's files under ``data_dir`` as the flow's source reads them."""
    if not Path(data_dir).is_dir():
        raise ConfigError(f"data dir {str(data_dir)!r} does not exist")
    return partial(_reader, Path(data_dir))


def _reader(data_dir: Path, after: int) -> JournalReader:
    return JournalReader(data_dir, after=after)


def recovery_config(data_dir: Path, directory: Path | None = None,
                    workers: int = 1) -> RecoveryConfig:
    """The recovery store (``directory``, by default ``<data_dir>/recovery``), created on first
    use. Its state is keyed by shard: a store written under another shard layout
    (``flows.shard.LAYOUT``, kept in its ``LAYOUT`` file) would resume the journal with the
    chargers' state missing, so it is refused. A new store also fixes the journal source's
    partitions for a flow of ``workers`` workers in all (``SOURCE``): every later flow on
    it, however many workers, reads the journal in those partitions, or a partition's resume
    state would be missing and the journal read twice."""
    directory = directory or data_dir / "recovery"
    marker = directory / "LAYOUT"
    if not directory.exists():
        directory.mkdir(parents=True)
        init_db_dir(directory, RECOVERY_PARTITIONS)  # type: ignore[no-untyped-call]
        (directory / SOURCE_FILE).write_text(f"{source_parts(workers)}\n")
        marker.write_text(LAYOUT + "\n")
    found = marker.read_text().strip() if marker.exists() else "(none: an older flow)"
    if found != LAYOUT:
        raise ConfigError(
            f"the recovery store {directory} was written under another shard layout "
            f"({found}; this flow: {LAYOUT}): run `chargeline replay --data-dir {data_dir}` "
            "to rebuild the sessions and findings from the journal")
    return RecoveryConfig(directory)  # type: ignore[no-untyped-call]


def stored_source_parts(directory: Path) -> int:
    """The journal source's partitions a recovery store was made for (1 for a store made
    before there were more)."""
    marker = directory / SOURCE_FILE
    return int(marker.read_text().strip()) if marker.exists() else 1


def run_flow(settings: FlowSettings) -> None:
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "journal").mkdir(exist_ok=True)
    sink: DynamicSink[Any] = WarehouseSink(data_dir, durable=settings.durable,
                                           root=settings.tables_root)
    metrics = FlowMetrics() if settings.metrics_port is not None else None
    if metrics is not None:
        sink = MeteredSink(sink, metrics)
    workers = settings.workers * max(1, len(settings.addresses))
    recovery = recovery_config(data_dir, settings.recovery_dir, workers)
    parts = stored_source_parts(settings.recovery_dir or data_dir / "recovery")
    flow = get_flow(journal_source(settings, parts), sink, settings.config(),
                    metrics.track if metrics is not None else None)
    wait_for_first_member(settings.addresses, settings.process_id)
    gc.set_threshold(GC_YOUNG_OBJECTS, *gc.get_threshold()[1:])
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    server = serve_metrics(settings, metrics) if metrics is not None else None
    try:
        cluster_main(  # type: ignore[no-untyped-call]
            flow, list(settings.addresses), settings.process_id,
            worker_count_per_proc=settings.workers,
            epoch_interval=epoch_interval(settings), recovery_config=recovery)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()


def epoch_interval(settings: FlowSettings) -> timedelta:
    """Bytewax's epoch: the time between recovery snapshots (``snapshot_interval_s``)."""
    if settings.snapshot_interval_s is not None:
        return timedelta(seconds=settings.snapshot_interval_s)
    return LIVE_SNAPSHOT_INTERVAL if settings.follow else REPLAY_SNAPSHOT_INTERVAL


def serve_metrics(settings: FlowSettings, metrics: FlowMetrics) -> WSGIServer:
    """``/metrics`` on ``metrics_host``, port ``metrics_port`` + this process's id (0: any
    free port), on a thread of its own; its URL on stderr."""
    assert settings.metrics_port is not None
    port = settings.metrics_port + settings.process_id if settings.metrics_port else 0
    try:
        server, _ = start_http_server(port, settings.metrics_host, metrics.registry)
    except OSError as exc:
        raise ConfigError(f"metrics on {settings.metrics_host}:{port}: {exc.strerror}") from None
    print(f"chargeline flow: metrics http://{settings.metrics_host}:{server.server_port}"
          f"/metrics (process {settings.process_id})", file=sys.stderr, flush=True)
    return server


def journal_source(settings: FlowSettings, parts: int = 1) -> Source[Any]:
    """The flow's input: the files under the data dir (in ``parts`` partitions), or the
    Kafka topic named (in its own)."""
    if settings.journal is None:
        return JournalSource(journal_files(settings.data_dir), follow=settings.follow,
                             parts=parts)
    if not settings.follow:
        raise ConfigError("a Kafka journal is followed live (`chargeline flow`); to rebuild, "
                          "run a flow with a new --data-dir")
    from flows.kafka_source import KafkaJournalSource

    return KafkaJournalSource(parse_address(settings.journal))


def wait_for_first_member(addresses: tuple[str, ...] | list[str], process_id: int) -> None:
    """A member other than the first waits until the first listens: Bytewax (timely) retries a
    refused connection to it only after a whole second, which a 2-process replay of a few
    seconds would otherwise lose about every other start."""
    if process_id > 0 and addresses:
        wait_listening(int(addresses[0].rsplit(":", 1)[1]))
