"""Group commit for the asyncio server: many tasks append, one fsync makes them all durable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from canonical import RawFrame
from ingest.journal.writer import JournalWriter


class GroupCommitJournal:
    """Batches ``write`` calls from many coroutines into one journal append and one fsync.

    ``await write(records)`` returns their frame ids once they are durable; records written
    by one call keep their order and stay adjacent. One worker-thread call writes and syncs a
    whole group, so the event loop keeps reading sockets meanwhile, and what arrives during
    an fsync forms the next group: the busier the server, the larger the groups. If the disk
    fails, every waiter of the group gets the exception: the caller must not acknowledge
    those frames.
    """

    def __init__(self, writer: JournalWriter) -> None:
        self._writer = writer
        self._records: list[RawFrame] = []
        self._done: asyncio.Future[int] | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.frames_written = 0
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="journal")

    async def write(self, records: Sequence[RawFrame]) -> range:
        """Frame ids of ``records``, once they are durable."""
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        done = self._done
        start = len(self._records)
        self._records.extend(records)
        self._wake.set()
        first: int = await asyncio.shield(done)
        return range(first + start, first + start + len(records))

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._records:
                await self._commit()

    async def _commit(self) -> None:
        records, done = self._records, self._done
        self._records, self._done = [], None
        assert done is not None
        try:
            ids = await asyncio.to_thread(self._write_and_sync, records)
        except Exception as exc:  # every waiter must learn the frames are not durable
            done.set_exception(exc)
            return
        self.commits += 1
        self.frames_written += len(ids)
        done.set_result(ids.start)

    def _write_and_sync(self, records: list[RawFrame]) -> range:
        ids = self._writer.write(records)
        self._writer.sync()
        return ids

    async def close(self) -> None:
        """Flush what is pending, stop the commit task, close the writer."""
        while self._records:
            await self._commit()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._writer.close()
