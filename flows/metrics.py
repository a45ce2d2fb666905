"""Prometheus metrics of one flow process, served by ``chargeline flow --metrics-port P``.

Counted where the flow already touches the data, once per Arrow batch, never per row:
``MeteredSink`` wraps the warehouse sink and counts what each batch it wrote holds (frames
taken from the journal, rows per table, alerts by kind, the newest journal receive time
written: the flow's lag). Sessions are read at scrape time from the shards' own state
(``track`` hands each ``ShardLogic`` to the collector), not kept twice.

Thread safety: the sink's partitions run on Bytewax's worker threads and the scrape on the
HTTP server's, so the counts sit behind one lock. The shards' dicts are read by copying them
with ``list()``, atomic under the GIL; a scrape walks every session of every charger held
(~20k chargers: tens of ms, once per scrape interval, nothing per frame).

Each process of a ``--processes N`` cluster has its own registry and port (member ``i`` on
``P + i``): its counts are of its own workers; sum them in PromQL. Names and meaning:
``docs/metrics.md``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Iterable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from canonical.enums import AlertKind, SessionStatus
from flows.charger import OUTPUT_TABLES
from flows.shard import ShardLogic

Item = tuple[str, pa.RecordBatch | pa.Table]
OTHER = "other"  # an alert kind this build does not know (an older flow, a newer journal)
_KINDS = frozenset(AlertKind)
_OPEN = (SessionStatus.active, SessionStatus.stuck)


class FlowMetrics:
    """What a flow process counts, in its own registry. ``clock``: wall time, ns."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        # zeros from the start: rate() and increase() work from the first row
        self.rows = dict.fromkeys(["frames", *OUTPUT_TABLES], 0)  # table → rows written
        self.alerts = dict.fromkeys([*map(str, AlertKind), OTHER], 0)  # kind → rows
        self.newest_ns = 0  # newest journal receive time written to the frames table
        self.lag_s: float | None = None  # at the last frames write: now - newest_ns
        self._shards: weakref.WeakSet[ShardLogic] = weakref.WeakSet()
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_FlowCollector(self))

    def track(self, logic: ShardLogic) -> ShardLogic:
        """Read ``logic``'s sessions at every scrape (for as long as it lives)."""
        with self._lock:
            self._shards.add(logic)
        return logic

    def shards(self) -> list[ShardLogic]:
        with self._lock:
            return list(self._shards)

    def written(self, table: str, data: pa.RecordBatch | pa.Table) -> None:
        """``data`` is in the warehouse table ``table`` now."""
        kinds: list[tuple[str, int]] = []
        newest = None
        if table == "alerts" and data.num_rows:
            counted = pc.value_counts(data.column("kind")).to_pylist()
            kinds = [(c["values"] if c["values"] in _KINDS else OTHER, c["counts"])
                     for c in counted]
        elif table == "frames" and data.num_rows:
            newest = pc.max(data.column("received_at").cast(pa.int64())).as_py()
        now = self.clock()
        with self._lock:
            self.rows[table] = self.rows.get(table, 0) + data.num_rows
            for kind, count in kinds:
                self.alerts[kind] = self.alerts.get(kind, 0) + count
            if newest is not None:
                self.newest_ns = max(self.newest_ns, newest)
                self.lag_s = max(0.0, (now - newest) / 1e9)

    def counts(self) -> tuple[dict[str, int], dict[str, int], int, float | None]:
        """(rows by table, alerts by kind, newest receive time ns, lag s), all at once."""
        with self._lock:
            return dict(self.rows), dict(self.alerts), self.newest_ns, self.lag_s


class _FlowCollector(Collector):
    def __init__(self, metrics: FlowMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        rows, alerts, newest_ns, lag_s = self.metrics.counts()
        yield CounterMetricFamily("chargeline_flow_frames", "Journal records the flow took "
                                  "up (written to the warehouse frames table)",
                                  value=rows.get("frames", 0))
        written = CounterMetricFamily("chargeline_flow_rows_written", "Rows written to the "
                                      "warehouse, by table (at-least-once: a recovery writes "
                                      "some again)", labels=["table"])
        for table, count in sorted(rows.items()):
            written.add_metric([table], count)
        raised = CounterMetricFamily("chargeline_alerts", "Alert rows written, by kind (a "
                                     "fact found again after a recovery counts again; the "
                                     "alerts view keeps one)", labels=["kind"])
        for kind, count in sorted(alerts.items()):
            raised.add_metric([kind], count)
        yield from (written, raised)
        if lag_s is not None:
            yield GaugeMetricFamily("chargeline_flow_lag_seconds", "At the last write: "
                                    "now minus the journal receive time of the newest frame "
                                    "written", value=lag_s)
            yield GaugeMetricFamily("chargeline_flow_newest_frame_timestamp_seconds",
                                    "Journal receive time of the newest frame written "
                                    "(Unix s)", value=newest_ns / 1e9)
        yield from self._sessions()

    def _sessions(self) -> Iterable[Metric]:
        by_status: dict[str, int] = {status.value: 0 for status in _OPEN}
        chargers = 0
        for logic in self.metrics.shards():
            held = list(logic.chargers.values())
            chargers += len(held)
            for charger in held:
                for session in list(charger.sessions.sessions.values()):
                    if session.status in by_status:
                        by_status[session.status] += 1
        yield GaugeMetricFamily("chargeline_sessions_in_progress", "Sessions active now "
                                "(started, not stopped, not stuck)",
                                value=by_status[SessionStatus.active.value])
        yield GaugeMetricFamily("chargeline_sessions_stuck", "Sessions stuck now (silent "
                                "past --stuck-after, their charger offline or silent)",
                                value=by_status[SessionStatus.stuck.value])
        yield GaugeMetricFamily("chargeline_flow_chargers", "Chargers whose state the flow "
                                "holds", value=chargers)


class _MeteredPartition(StatelessSinkPartition[Item]):
    def __init__(self, inner: StatelessSinkPartition[Item], metrics: FlowMetrics) -> None:
        self.inner, self.metrics = inner, metrics

    def write_batch(self, items: list[Item]) -> None:
        self.inner.write_batch(items)
        for table, data in items:
            self.metrics.written(table, data)

    def close(self) -> None:
        self.inner.close()


class MeteredSink(DynamicSink[Item]):
    """``inner`` (the warehouse sink), counting each batch once it is written."""

    def __init__(self, inner: DynamicSink[Any], metrics: FlowMetrics) -> None:
        self.inner, self.metrics = inner, metrics

    def build(self, step_id: str, worker_index: int, worker_count: int
              ) -> _MeteredPartition:
        return _MeteredPartition(self.inner.build(step_id, worker_index, worker_count),
                                 self.metrics)
