"""Shards spread evenly over workers (a real Bytewax run routes the keys), and a recovery store
of another shard layout is refused rather than resumed with chargers' state missing."""

from __future__ import annotations

import socket
from collections import Counter
from pathlib import Path
from typing import Any

import bytewax.operators as op
import pytest
from bytewax.dataflow import Dataflow
from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition
from bytewax.outputs import DynamicSink, StatelessSinkPartition
from bytewax.testing import TestingSource, cluster_main

from canonical.errors import ConfigError
from chargeline.cli import main
from chargeline.flowrun import recovery_config
from chargeline.ports import wait_listening
from flows.shard import SHARD_KEYS, SHARDS
from flows.source import part_shards, source_parts


class _Placed(DynamicSink[tuple[str, Any]]):
    """Records which worker writes each key: the worker the item was on."""

    def __init__(self, placed: dict[str, int]) -> None:
        self.placed = placed

    def build(self, step_id: str, worker_index: int, worker_count: int
              ) -> StatelessSinkPartition[tuple[str, Any]]:
        placed = self.placed

        class Partition(StatelessSinkPartition[tuple[str, Any]]):
            def write_batch(self, items: list[tuple[str, Any]]) -> None:
                placed.update((key, worker_index) for key, _ in items)

        return Partition()


class _NamedParts(FixedPartitionedSource[tuple[str, Any], None]):
    """Partitions named as ``flows.source`` names them; each says its name once."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def list_parts(self) -> list[str]:
        return self.names

    def build_part(self, step_id: str, for_part: str, resume_state: None
                   ) -> StatefulSourcePartition[tuple[str, Any], None]:
        class Part(StatefulSourcePartition[tuple[str, Any], None]):
            said = False

            def next_batch(self) -> list[tuple[str, Any]]:
                if self.said:
                    raise StopIteration
                self.said = True
                return [(for_part, None)]

            def snapshot(self) -> None:
                return None

        return Part()


@pytest.mark.parametrize("workers", [2, 4, 8])
def test_each_journal_partition_is_read_by_the_worker_of_its_shards(workers: int) -> None:
    """Partition p of the journal source lands on worker p, which holds every shard it keeps:
    its frames never cross to another worker (the point of partitioning a replay)."""
    parts = part_shards(source_parts(workers))
    placed: dict[str, int] = {}
    flow = Dataflow("source-routing")
    op.output("placed", op.input("parts", flow, _NamedParts(list(parts))), _Placed(placed))
    cluster_main(flow, [], 0, worker_count_per_proc=workers)  # type: ignore[no-untyped-call]
    shard_worker = workers_of_keys(workers)
    assert len(placed) == workers
    for name, shards in parts.items():
        assert shards is not None
        assert {shard_worker[SHARD_KEYS[s]] for s in shards} == {placed[name]}
    assert sorted(s for shards in parts.values() for s in shards or ()) == list(range(SHARDS))


def test_a_flow_whose_workers_do_not_divide_the_shards_reads_one_partition() -> None:
    assert part_shards(source_parts(1)) == {"journal": None}
    assert part_shards(source_parts(3)) == {"journal": None}


def workers_of_keys(workers: int) -> dict[str, int]:
    """Which worker Bytewax gives each shard key's state, with ``workers`` workers."""
    placed: dict[str, int] = {}

    class Partition(StatelessSinkPartition[tuple[str, Any]]):
        def __init__(self, worker: int) -> None:
            self.worker = worker

        def write_batch(self, items: list[tuple[str, Any]]) -> None:
            placed.update((key, self.worker) for key, _ in items)

    class Sink(DynamicSink[tuple[str, Any]]):
        def build(self, step_id: str, worker_index: int, worker_count: int) -> Partition:
            return Partition(worker_index)

    flow = Dataflow("routing")
    keys = op.key_on("key", op.input("keys", flow, TestingSource(list(SHARD_KEYS))),
                     lambda k: k)
    op.output("placed", op.stateful_map("state", keys, lambda s, v: (s, v)), Sink())
    cluster_main(flow, [], 0, worker_count_per_proc=workers)  # type: ignore[no-untyped-call]
    return placed


@pytest.mark.parametrize("workers", [2, 4])
def test_every_worker_holds_as_many_shards(workers: int) -> None:
    placed = workers_of_keys(workers)
    assert len(SHARD_KEYS) == SHARDS == len(placed)
    assert Counter(placed.values()) == {w: SHARDS // workers for w in range(workers)}


def test_recovery_store_of_another_layout_is_refused(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    recovery_config(tmp_path)
    (tmp_path / "recovery" / "LAYOUT").write_text("shards shard-0 shard-1\n")
    with pytest.raises(ConfigError, match="another shard layout"):
        recovery_config(tmp_path)
    assert main(["flow", "--data-dir", str(tmp_path)]) != 0
    assert "chargeline replay --data-dir" in capsys.readouterr().err
    # replay rebuilds: the store is made anew under this layout
    assert main(["replay", "--data-dir", str(tmp_path)]) == 0
    recovery_config(tmp_path)


def test_a_member_waits_for_the_first_to_listen_without_connecting() -> None:
    with socket.socket() as first:
        first.bind(("127.0.0.1", 0))
        port = first.getsockname()[1]
        assert wait_listening(port, timeout_s=0.2) is False  # bound, not listening yet
        first.listen()
        assert wait_listening(port, timeout_s=5) is True
        first.settimeout(0.1)
        with pytest.raises(TimeoutError):
            first.accept()  # the wait made no connection the member would count as a peer
