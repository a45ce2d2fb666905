"""The journal: durable, append-only, replayable record of every frame (the source of truth).

Layout under ``<data-dir>/journal/``::

    LOCK                              held (flock) by the one writer process
    DURABLE                           how far readers may read (``DurableMark``)
    seg-<first frame id>.starts       the segment's 1.6 transaction starts (``starts.py``)
    seg-<first frame id, 20 digits>.arrow     Arrow IPC stream, appended by group commits
    seg-<first frame id, 20 digits>.parquet   the same segment once sealed (immutable)

``JournalWriter`` appends (fsync per batch); ``GroupCommitJournal`` batches appends from many
asyncio tasks into one fsync; ``JournalReader`` reads everything after a frame id and can tail
the active segment while it grows, never past what is durable. Every file access goes
through an ``ingest.files.FileSystem`` (the power-loss test swaps in its own). The
writer/reader pair is the interface a Kafka backend would implement.
"""

from ingest.journal.group_commit import GroupCommitJournal
from ingest.journal.reader import JournalReader
from ingest.journal.writer import JournalWriter

__all__ = ["GroupCommitJournal", "JournalReader", "JournalWriter"]
