"""Group commit for the asyncio server: many tasks append, one fsync makes them all durable."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from canonical import RawFrame
from ingest.journal.writer import JournalWriter


class GroupCommitJournal:
    """Batches ``write`` calls from many coroutines into one journal append + fsync.

    ``await write(records)`` returns the numbered records once they are durable; records
    written by one call keep their order and stay adjacent. Appends run in a worker thread,
    so the event loop keeps reading sockets while the disk syncs. If the disk fails, every
    waiting writer gets the exception: the caller must not acknowledge those frames.
    """

    def __init__(self, writer: JournalWriter, max_batch: int = 4096) -> None:
        self._writer = writer
        self._max_batch = max_batch
        self._pending: list[tuple[Sequence[RawFrame], asyncio.Future[list[RawFrame]]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.frames_written = 0
        self.commits = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="journal")

    async def write(self, records: Sequence[RawFrame]) -> list[RawFrame]:
        future: asyncio.Future[list[RawFrame]] = asyncio.get_running_loop().create_future()
        self._pending.append((records, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                group = self._take_group()
                await self._commit(group)

    def _take_group(self) -> list[tuple[Sequence[RawFrame], asyncio.Future[list[RawFrame]]]]:
        group: list[tuple[Sequence[RawFrame], asyncio.Future[list[RawFrame]]]] = []
        size = 0
        while self._pending and (not group or size + len(self._pending[0][0]) <= self._max_batch):
            item = self._pending.pop(0)
            group.append(item)
            size += len(item[0])
        return group

    async def _commit(
        self, group: list[tuple[Sequence[RawFrame], asyncio.Future[list[RawFrame]]]]
    ) -> None:
        flat = [r for records, _ in group for r in records]
        try:
            numbered = await asyncio.to_thread(self._writer.append, flat)
        except Exception as exc:  # every waiter must learn the frames are not durable
            for _, future in group:
                if not future.done():
                    future.set_exception(exc)
            return
        self.commits += 1
        self.frames_written += len(numbered)
        pos = 0
        for records, future in group:
            if not future.done():
                future.set_result(numbered[pos : pos + len(records)])
            pos += len(records)

    async def close(self) -> None:
        """Flush what is pending, stop the commit task, close the writer."""
        while self._pending:
            await self._commit(self._take_group())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._writer.close()
