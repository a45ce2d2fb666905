"""A file system that loses power: what the power-loss tests run the journal on.

It follows ``ingest.files.FileSystem`` in memory and remembers, beside what every file and
directory holds now (what the page cache would show), what is *durable*: a file's bytes as of
its last successful ``fsync``, a directory's entries as of its last ``fsync_dir``. When power
goes (``crash_after`` calls, then ``PowerLoss`` from every call), ``crash()`` keeps only the
durable state, plus, at random, some of what was not synced (a real disk may have written
part of it already): a prefix of each file's unsynced appended bytes (of a file cut or
overwritten in place, a prefix of its new bytes), and each name's unsynced change on its own
(a later unlink may be on disk, an earlier rename not). The data dir itself is durable.

``meanwhile`` is called after every write, fsync and truncate: a reader polling there reads
at any moment, as another process would (between a write and its fsync, say).

Faults on demand: ``fsync_failure_rate`` (EIO; a failed fsync may have written part of the
data, as on Linux) and ``write_failure_rate`` (ENOSPC after writing part of the data; only a
write that extends its file, as only new blocks can run out).
"""

from __future__ import annotations

import errno
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


class PowerLoss(BaseException):
    """The machine lost power: no call returns any more (BaseException: no handler of the
    code under test may take it for an ordinary error)."""


@dataclass
class _Inode:
    data: bytearray = field(default_factory=bytearray)
    durable: bytes = b""


class PowerLossFileSystem:
    def __init__(self, rng: random.Random, root: Path) -> None:
        self.rng = rng
        self.root = root
        self.inodes: dict[int, _Inode] = {}
        self.entries: dict[Path, int] = {}  # file path -> inode, as the page cache shows
        self.dirs: set[Path] = {root}
        self.durable_entries: dict[Path, int] = {}
        self.durable_dirs: set[Path] = {root}
        self.handles: dict[int, int] = {}
        self.calls = 0
        self.fsyncs = 0
        self.crash_after: int | None = None
        self.fsync_failure_rate = 0.0
        self.write_failure_rate = 0.0
        self.meanwhile: Callable[[], None] | None = None
        self._down = False
        self._inside = False
        self._next = 1

    # -- the machine ----------------------------------------------------------------
    def _call(self) -> None:
        self.calls += 1
        if self._down or (self.crash_after is not None and self.calls > self.crash_after):
            self._down = True
            raise PowerLoss

    def _after_change(self) -> None:
        if self.meanwhile is not None and not self._inside:
            self._inside = True
            try:
                self.meanwhile()
            finally:
                self._inside = False

    def crash(self) -> None:
        """Power comes back: only the durable state (and some luck) is left."""
        entries = {}
        for path in {*self.entries, *self.durable_entries}:
            # A name's unsynced change (created, renamed, removed) may have reached the disk,
            # each on its own: nothing orders them but a directory fsync.
            chosen = self.entries if self.rng.random() < 0.3 else self.durable_entries
            if path in chosen:
                entries[path] = chosen[path]
        self.dirs = set(self.durable_dirs)
        self.entries = {p: i for p, i in entries.items() if p.parent in self.dirs}
        for inode in self.inodes.values():
            inode.data = bytearray(self._after_power_loss(inode))
        self.handles.clear()
        self._down, self.crash_after = False, None

    def _after_power_loss(self, inode: _Inode) -> bytes:
        if self.rng.random() < 0.5:
            return inode.durable
        if inode.data.startswith(inode.durable):  # appended to: part of the rest written
            unsynced = inode.data[len(inode.durable):]
            return inode.durable + bytes(unsynced[: self.rng.randint(0, len(unsynced))])
        # Cut or overwritten in place: the new length made it, the new bytes only in part.
        return bytes(inode.data[: self.rng.randint(0, len(inode.data))])

    # -- ingest.files.FileSystem ----------------------------------------------------------
    def open(self, path: Path, truncate: bool = False, mode: int = 0o644) -> int:
        self._call()
        if path.parent not in self.dirs:
            raise FileNotFoundError(path)
        if path not in self.entries:
            self.inodes[self._next] = _Inode()
            self.entries[path] = self._next
            self._next += 1
        if truncate:
            del self.inodes[self.entries[path]].data[:]
        fd = self._next
        self._next += 1
        self.handles[fd] = self.entries[path]
        return fd

    def pwrite(self, fd: int, data: bytes, offset: int) -> None:
        self._call()
        inode = self.inodes[self.handles[fd]]
        extends = offset + len(data) - len(inode.data)  # bytes that need new blocks
        if extends > 0 and self.rng.random() < self.write_failure_rate:
            data = data[: len(data) - extends + self.rng.randint(0, extends - 1)]
            self._put(inode, data, offset)
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        self._put(inode, data, offset)
        self._after_change()

    @staticmethod
    def _put(inode: _Inode, data: bytes, offset: int) -> None:
        if len(inode.data) < offset:
            inode.data.extend(bytes(offset - len(inode.data)))
        inode.data[offset : offset + len(data)] = data

    def fsync(self, fd: int) -> None:
        self._call()
        inode = self.inodes[self.handles[fd]]
        if self.rng.random() < self.fsync_failure_rate:
            if inode.data.startswith(inode.durable):  # part of it may be on disk anyway
                more = len(inode.data) - len(inode.durable)
                inode.durable = bytes(inode.data[: len(inode.durable)
                                                 + self.rng.randint(0, more)])
            raise OSError(errno.EIO, "Input/output error (simulated)")
        inode.durable = bytes(inode.data)
        self.fsyncs += 1
        self._after_change()

    def truncate(self, fd: int, size: int) -> None:
        self._call()
        del self.inodes[self.handles[fd]].data[size:]
        self._after_change()

    def close(self, fd: int) -> None:
        self._call()
        self.handles.pop(fd, None)

    def read(self, path: Path, offset: int = 0, size: int = -1) -> bytes:
        self._call()
        if path not in self.entries:
            raise FileNotFoundError(path)
        data = self.inodes[self.entries[path]].data
        return bytes(data[offset:] if size < 0 else data[offset : offset + size])

    def listdir(self, directory: Path) -> list[str]:
        self._call()
        prefix = f"{directory}/"
        return sorted(name for p in [*self.entries, *self.dirs]
                      if (name := str(p).removeprefix(prefix)) != str(p) and "/" not in name)

    def mkdir(self, directory: Path) -> bool:
        self._call()
        if directory in self.dirs:
            return False
        for d in [*reversed(directory.parents), directory]:
            if d.is_relative_to(self.root):
                self.dirs.add(d)
        return True

    def fsync_dir(self, directory: Path) -> None:
        self._call()
        self._sync_dir_entries(directory)

    def _sync_dir_entries(self, directory: Path) -> None:
        self.durable_entries = {p: i for p, i in self.durable_entries.items()
                                if p.parent != directory}
        self.durable_entries.update({p: i for p, i in self.entries.items()
                                     if p.parent == directory})
        self.durable_dirs = ({d for d in self.durable_dirs if d.parent != directory}
                             | {d for d in self.dirs if d.parent == directory} | {self.root})

    def replace(self, source: Path, target: Path) -> None:
        self._call()
        self.entries[target] = self.entries.pop(source)

    def unlink(self, path: Path) -> None:
        self._call()
        del self.entries[path]

    def lock(self, path: Path, holder: str) -> int:
        fd = self.open(path)
        self._put(self.inodes[self.handles[fd]], holder.encode(), 0)
        return fd
