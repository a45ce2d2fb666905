"""The Kafka journal's address, partitioning and frame ids (pure)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canonical.errors import ConfigError
from canonical.kafka import (
    KafkaAddress,
    kafka_frame_id,
    kafka_position,
    later_in_partition,
    parse_address,
    partition_of,
)
from flows.kafka_source import shards_of_partition
from flows.shard import SHARDS, shard_of


def test_an_address_names_brokers_and_topic() -> None:
    assert parse_address("kafka://a:9092,10.0.0.2:9093/charge.frames") == KafkaAddress(
        ("a:9092", "10.0.0.2:9093"), "charge.frames")


@pytest.mark.parametrize(("url", "named"), [
    ("kafka://a:9092", "topic ''"), ("kafka:///t", "no broker"), ("kafka://a/t", "broker 'a'"),
    ("kafka://a:1/t t", "topic 't t'"), ("http://a:1/t", "expected kafka://")])
def test_a_bad_address_is_named(url: str, named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(")):
        parse_address(url)


@given(st.integers(0, 255), st.integers(0, 2**40), st.integers(0, 4095))
def test_a_frame_id_says_where_kafka_put_it(partition: int, offset: int, row: int) -> None:
    frame_id = kafka_frame_id(partition, offset, row)
    assert 0 <= frame_id < 2**63
    assert kafka_position(frame_id) == (partition, offset, row)
    assert later_in_partition(kafka_frame_id(partition, offset + 1, 0), frame_id)
    if row < 4095:
        assert not later_in_partition(frame_id, kafka_frame_id(partition, offset, row + 1))


@given(st.text(min_size=1, max_size=40))
def test_with_8_partitions_a_partition_is_a_flow_shard(charge_point_id: str) -> None:
    assert partition_of(charge_point_id, 8) == shard_of(charge_point_id)
    for partitions in (1, 2, 4, 8, 16):
        p = partition_of(charge_point_id, partitions)
        assert shard_of(charge_point_id) in shards_of_partition(p, partitions)
    assert shards_of_partition(0, 3) == tuple(range(SHARDS))
