"""Prometheus metrics of one ``CentralSystem``, served as ``GET /metrics`` on its OCPP port.

Each server owns its ``CollectorRegistry`` (tests run several servers in one process).
Everything is counted in plain Python ints on the event loop and read by one custom
collector when Prometheus scrapes (also on the loop: ``process_request`` runs there), so
nothing on the hot path takes a lock: a ``prometheus_client`` ``Counter.inc`` costs ~0.5 µs
and a ``Histogram.observe`` ~1 µs, against ~0.1 µs for a cell of a dict (measured on this
2-core box under load), and an answered CALL would pay three of them. State is read at
scrape time, not kept twice: the connected chargers, whether the journal writes.

Label values come from fixed sets only: ``action`` is one of OCPP's actions (1.6 and 2.0.1,
read off the ``ocpp`` library's schemas) or ``other``/``none`` — a charger inventing action
names cannot make the label set grow; ``parse_status``, ``reason``, ``code`` are enums.
Nothing names a charge point, an address or a credential. Metric names and meaning:
``docs/metrics.md``.
"""

from __future__ import annotations

import hmac
import stat
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping
from enum import StrEnum
from http import HTTPStatus
from pathlib import Path
from typing import Protocol as Structural

from prometheus_client import CollectorRegistry
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.registry import Collector
from websockets.asyncio.server import ServerConnection
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from canonical import RawFrame
from canonical.enums import Direction, ParseStatus, Protocol
from canonical.errors import ConfigError
from ingest import csms_v16, csms_v21, csms_v201
from ingest.actions import csms_actions

PATH = "/metrics"
OTHER = "other"  # an action outside OCPP's: its name stays out of the labels
NONE = "none"  # a frame without an action (a result matching no CALL, a frame not parsed)
#: Seconds; an answer waits for its group's fsync (~0.2 ms idle, ~0.5 ms busy; more when the
#: disk stalls), a commit is that fsync (on Kafka: produce → acks, up to its 30 s timeout).
ANSWER_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0, 10.0)
COMMIT_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CLOSE_CODES = frozenset({1000, 1001, 1002, 1006, 1007, 1008, 1009, 1011})
_NEVER_FLAGGED = frozenset({ParseStatus.ok.value, ParseStatus.not_applicable.value})
_OK = ParseStatus.ok.value  # a plain str: an enum attribute lookup per frame costs more


class Refused(StrEnum):
    """Why a connection was refused before it was a charger's: the ``reason`` label.

    ``credentials`` covers a wrong password, an unknown id under ``--auth`` and a client
    certificate of another id alike: the server tells no one which (the metric is no oracle
    for which ids exist)."""

    path = "path"  # not /ocpp/<id>, or an id the server does not admit (404, 400)
    subprotocol = "subprotocol"  # no OCPP version it speaks (400)
    credentials = "credentials"  # 401
    auth_busy = "auth_busy"  # the password hash lane was full (503)
    address_cap = "address_cap"  # too many connections from the address (503)
    journal_unavailable = "journal_unavailable"  # the journal could not write (503)
    upstream_refused = "upstream_refused"  # proxy mode: the upstream said no
    upstream_unreachable = "upstream_unreachable"  # proxy mode, --upstream-down refuse (503)


def ocpp_actions() -> frozenset[str]:
    """Every action of OCPP 1.6, 2.0.1 and 2.1, both directions: the ``action`` label's
    values."""
    return (csms_actions(Protocol.v16) | csms_actions(Protocol.v201)
            | csms_actions(Protocol.v21) | frozenset(csms_v16.HANDLERS)
            | frozenset(csms_v201.HANDLERS) | frozenset(csms_v21.HANDLERS))


class _Live(Structural):
    protocol: Protocol


class ActionTally:
    """Frames by action in one direction: a one-int cell per OCPP action, ``other``, ``none``.
    Not thread-safe: the event loop alone counts (and scrapes)."""

    __slots__ = ("cells", "none", "other")

    def __init__(self, actions: frozenset[str]) -> None:
        self.cells: dict[str | None, list[int]] = {a: [0] for a in actions}
        self.other = self.cells[OTHER] = [0]
        self.none = self.cells[None] = self.cells[""] = [0]

    def count(self, action: str | None) -> None:
        (self.cells.get(action) or self.other)[0] += 1

    def counts(self) -> Iterator[tuple[str, int]]:
        """(label value, count) of the actions seen so far."""
        for action, cell in self.cells.items():
            if cell[0] and action:
                yield action, cell[0]
        if self.none[0]:
            yield NONE, self.none[0]


class BucketTally:
    """A histogram as plain ints (``bounds`` in seconds, upper bounds inclusive)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)
        self.total = 0.0

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def family(self, name: str, documentation: str) -> HistogramMetricFamily:
        cumulative, buckets = 0, []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        return HistogramMetricFamily(name, documentation, buckets=buckets, sum_value=self.total)


class IngestMetrics:
    """What ``serve`` counts. ``live``: the connected chargers (read at scrape);
    ``journal_up``: False while the journal cannot write."""

    def __init__(self, live: Mapping[str, _Live], journal_up: Callable[[], bool]) -> None:
        actions = ocpp_actions()
        self.inbound, self.outbound = ActionTally(actions), ActionTally(actions)
        self.flagged = {status.value: [0] for status in ParseStatus}  # ok, n/a: never
        self.answers = BucketTally(ANSWER_BUCKETS_S)
        # what ``answered`` touches, bound once: it runs for every answer (~0.1 µs each)
        self._in, self._in_other = self.inbound.cells, self.inbound.other
        self._out, self._out_other = self.outbound.cells, self.outbound.other
        self._bounds, self._latencies = self.answers.bounds, self.answers.counts
        self.commits = BucketTally(COMMIT_BUCKETS_S)
        self.journaled = 0
        self.refusals = dict.fromkeys(Refused, 0)
        self.throttled_frames, self.throttled_s = 0, 0.0
        self.closed = dict.fromkeys([*map(str, sorted(CLOSE_CODES)), OTHER], 0)
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Collector(self, live, journal_up))

    def received(self, frame: RawFrame) -> None:
        """A frame from a charger that got no answer (its action, its parse status)."""
        (self._in.get(frame.action) or self._in_other)[0] += 1
        if frame.parse_status != _OK:
            self.flagged[frame.parse_status][0] += 1

    def answered(self, frame: RawFrame, action: str | None, started: float) -> None:
        """A frame from a charger, and our answer (to ``action``) sent; ``started``:
        ``time.perf_counter()`` when the frame was read. One call, not three: this is the
        cost every answered CALL pays."""
        seconds = time.perf_counter() - started
        (self._in.get(frame.action) or self._in_other)[0] += 1
        if frame.parse_status != _OK:
            self.flagged[frame.parse_status][0] += 1
        (self._out.get(action) or self._out_other)[0] += 1
        self._latencies[bisect_left(self._bounds, seconds)] += 1
        self.answers.total += seconds

    def sent(self, action: str | None) -> None:
        """A frame to a charger that answers nothing of its own (a CALL, a proxied frame)."""
        self.outbound.count(action)

    def committed(self, seconds: float, records: int) -> None:
        """One journal group stored: write + fsync (files), produce → acks (Kafka)."""
        self.commits.observe(seconds)
        self.journaled += records

    def refused(self, reason: Refused) -> None:
        self.refusals[reason] += 1

    def throttled(self, wait_s: float) -> None:
        """A frame waits ``wait_s`` for its charger's budget."""
        self.throttled_frames += 1
        self.throttled_s += wait_s

    def disconnected(self, code: int | None) -> None:
        self.closed[str(code) if code in CLOSE_CODES else OTHER] += 1

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class _Collector(Collector):
    """The per-frame tallies and the state read at scrape time."""

    def __init__(self, metrics: IngestMetrics, live: Mapping[str, _Live],
                 journal_up: Callable[[], bool]) -> None:
        self.metrics, self.live, self.journal_up = metrics, live, journal_up

    def collect(self) -> Iterable[Metric]:
        m = self.metrics
        connected = GaugeMetricFamily("chargeline_chargers_connected", "Chargers connected "
                                      "now, by OCPP version", labels=["protocol"])
        protocols = [conn.protocol for conn in list(self.live.values())]
        for protocol in Protocol:
            connected.add_metric([protocol.value], protocols.count(protocol))
        frames = CounterMetricFamily("chargeline_frames", "OCPP frames by direction (in: "
                                     "charger to chargeline) and action", labels=["direction",
                                                                                  "action"])
        for direction, tally in ((Direction.inbound, m.inbound), (Direction.outbound,
                                                                   m.outbound)):
            for action, count in tally.counts():
                frames.add_metric([direction.value, action], count)
        flagged = CounterMetricFamily("chargeline_frames_flagged", "Frames from chargers "
                                      "journaled with a parse status other than ok",
                                      labels=["parse_status"])
        for status, cell in m.flagged.items():
            if status not in _NEVER_FLAGGED:  # zeros too: rate() works from the first one
                flagged.add_metric([status], cell[0])
        yield from (connected, frames, flagged)
        yield m.answers.family("chargeline_answer_latency_seconds", "Frame read to our "
                               "answer sent, the journal's fsync included")
        yield m.commits.family("chargeline_journal_commit_seconds", "One journal group "
                               "commit: write + fsync (files), produce to acks (Kafka)")
        yield CounterMetricFamily("chargeline_journal_records", "Records stored in the "
                                  "journal by this server", value=m.journaled)
        yield GaugeMetricFamily("chargeline_journal_up", "1 while the journal writes, 0 "
                                "during an outage (disk full, broker down)",
                                value=1 if self.journal_up() else 0)
        yield from self._connections()

    def _connections(self) -> Iterator[Metric]:
        m = self.metrics
        refused = CounterMetricFamily("chargeline_connections_refused", "Connection attempts "
                                      "refused before a charger was admitted, by reason",
                                      labels=["reason"])
        for reason, count in m.refusals.items():
            refused.add_metric([reason.value], count)
        closed = CounterMetricFamily("chargeline_disconnections", "Charger connections "
                                     "closed, by WebSocket close code (others: other)",
                                     labels=["code"])
        for code, count in m.closed.items():
            closed.add_metric([code], count)
        yield from (refused, closed)
        yield CounterMetricFamily("chargeline_rate_limited_frames", "Frames that waited for "
                                  "their charger's frames/bytes budget (slowed, not refused)",
                                  value=m.throttled_frames)
        yield CounterMetricFamily("chargeline_rate_limited_wait_seconds", "Seconds frames "
                                  "waited for their charger's budget", value=m.throttled_s)


def read_token_file(path: Path) -> bytes:
    """The scrape token in ``path``, after checking that only its owner may read it."""
    try:
        mode = path.stat().st_mode
        token = path.read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"metrics token file {str(path)!r}: {exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"metrics token file {str(path)!r} may be read by others (mode "
                          f"{stat.S_IMODE(mode):04o}): chmod 600 it")
    if not token:
        raise ConfigError(f"metrics token file {str(path)!r} is empty")
    return token


def is_scrape(request: Request) -> bool:
    """A plain GET of ``/metrics`` (a charger named ``metrics`` upgrades: it is no scrape)."""
    return request.path.split("?", 1)[0] == PATH and "Upgrade" not in request.headers


def scrape(ws: ServerConnection, request: Request, metrics: IngestMetrics,
           token: bytes | None) -> Response:
    """The answer to a scrape: the exposition, or 401 without the bearer ``token``."""
    if token is not None:
        presented = request.headers.get("Authorization", "")
        if presented[:7].lower() != "bearer " or not hmac.compare_digest(
                presented[7:].strip().encode(), token):
            response = ws.respond(HTTPStatus.UNAUTHORIZED, "metrics need a bearer token\n")
            response.headers = Headers(response.headers)
            response.headers["WWW-Authenticate"] = 'Bearer realm="chargeline metrics"'
            return response
    body = metrics.exposition()
    return Response(200, "OK", Headers([
        ("Content-Type", CONTENT_TYPE_PLAIN_0_0_4), ("Content-Length", str(len(body))),
        ("Connection", "close"), ("Cache-Control", "no-store")]), body)
