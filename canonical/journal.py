"""The journal as its readers see it: an interface both the ingest (which writes it) and the
flows (which read it) name, so the flows never import the ingest and another backend (Kafka,
partitioned by charge point) can stand in for the files.

A reader yields ``RawFrame`` rows (``canonical.raw``) as Arrow record batches of
``schema_of(RawFrame)``, in frame-id order, only what the writer made durable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import pyarrow as pa


class JournalReader(Protocol):
    def poll(self) -> list[pa.RecordBatch]:
        """The batches that became readable since the last call (never blocks)."""
        ...


#: Opens a reader of the frames with ``frame_id > after``.
OpenReader = Callable[[int], JournalReader]
