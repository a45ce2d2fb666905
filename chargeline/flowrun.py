"""Running the dataflow: settings, Bytewax recovery, workers. ``run_flow`` blocks until the
end of a replay, or until the live flow is interrupted.

Processes: ``addresses`` (one ``host:port`` per process) and ``process_id`` make this process
one of a Bytewax cluster; ``chargeline flow --processes N`` starts the N of them.

Recovery: Bytewax snapshots every step's state into ``<data_dir>/recovery`` (one SQLite
partition per worker, created on first run) every ``snapshot_interval_s``; after a crash the
flow resumes from the last snapshot and replays the journal from there. Writes are
at-least-once; the warehouse views dedupe by natural key, so nothing counts twice.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from pathlib import Path

from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.testing import cluster_main

from canonical.errors import ConfigError
from canonical.journal import OpenReader
from chargeline.ports import wait_listening
from flows.config import FlowConfig
from flows.pipeline import get_flow
from flows.shard import LAYOUT
from flows.source import JournalSource, request_stop
from ingest.journal import JournalReader
from warehouse.sink import WarehouseSink

RECOVERY_PARTITIONS = 2


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
    snapshot_interval_s: float = 2.0
    durable: bool = True
    # Where a replay writes (chargeline.rebuild): a new warehouse generation and recovery
    # store beside the current ones; None: the current ones.
    tables_root: Path | None = None
    recovery_dir: Path | None = None

    def config(self) -> FlowConfig:
        config = FlowConfig()
        if self.stuck_after_s is not None:
            config = replace(config, stuck_after_s=self.stuck_after_s)
        if self.offline_after_s is not None:
            config = replace(config, offline_after_s=self.offline_after_s)
        if self.late_stop_s is not None:
            config = replace(config, late_stop_s=self.late_stop_s)
        return config


def journal_files(data_dir: Path) -> OpenReader:
    """The journal's files under ``data_dir`` as the flow's source reads them."""
    if not Path(data_dir).is_dir():
        raise ConfigError(f"data dir {str(data_dir)!r} does not exist")
    return partial(_reader, Path(data_dir))


def _reader(data_dir: Path, after: int) -> JournalReader:
    return JournalReader(data_dir, after=after)


def recovery_config(data_dir: Path, directory: Path | None = None) -> RecoveryConfig:
    """The recovery store (``directory``, by default ``<data_dir>/recovery``), created on first
    use. Its state is keyed by shard: a store written under another shard layout
    (``flows.shard.LAYOUT``, kept in its ``LAYOUT`` file) would resume the journal with the
    chargers' state missing, so it is refused."""
    directory = directory or data_dir / "recovery"
    marker = directory / "LAYOUT"
    if not directory.exists():
        directory.mkdir(parents=True)
        init_db_dir(directory, RECOVERY_PARTITIONS)  # type: ignore[no-untyped-call]
        marker.write_text(LAYOUT + "\n")
    found = marker.read_text().strip() if marker.exists() else "(none: an older flow)"
    if found != LAYOUT:
        raise ConfigError(
            f"the recovery store {directory} was written under another shard layout "
            f"({found}; this flow: {LAYOUT}): run `chargeline replay --data-dir {data_dir}` "
            "to rebuild the sessions and findings from the journal")
    return RecoveryConfig(directory)  # type: ignore[no-untyped-call]


def run_flow(settings: FlowSettings) -> None:
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "journal").mkdir(exist_ok=True)
    flow = get_flow(JournalSource(journal_files(data_dir), follow=settings.follow),
                    WarehouseSink(data_dir, durable=settings.durable, root=settings.tables_root),
                    settings.config())
    wait_for_first_member(settings.addresses, settings.process_id)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    cluster_main(  # type: ignore[no-untyped-call]
        flow, list(settings.addresses), settings.process_id,
                 worker_count_per_proc=settings.workers,
                 epoch_interval=timedelta(seconds=settings.snapshot_interval_s),
                 recovery_config=recovery_config(data_dir, settings.recovery_dir))


def wait_for_first_member(addresses: tuple[str, ...] | list[str], process_id: int) -> None:
    """A member other than the first waits until the first listens: Bytewax (timely) retries a
    refused connection to it only after a whole second, which a 2-process replay of a few
    seconds would otherwise lose about every other start."""
    if process_id > 0 and addresses:
        wait_listening(int(addresses[0].rsplit(":", 1)[1]))
