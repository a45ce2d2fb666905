"""The file layer the journal and ``chargers.json`` write through, and what it promises.

Everything that must survive a power loss goes through a ``FileSystem``: the real one
(``OS``, plain system calls) or, in the power-loss test, one that keeps only what was made
durable. The rules the callers follow (and the test holds them to):

- data written to a file is durable once that file is ``fsync``'d;
- a file's *name* (created, renamed, removed) is durable once its directory is
  ``fsync_dir``'d — a file fsync'd but never named durably can vanish whole;
- ``replace`` is atomic: a reader sees the old file or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class FileLocked(Exception):
    """Another process holds the lock; ``holder`` is what it wrote into the lock file."""

    def __init__(self, holder: str) -> None:
        super().__init__(holder)
        self.holder = holder


class FileSystem(Protocol):
    """Files by path and handle (an ``int``, an fd for the real one)."""

    def open(self, path: Path, truncate: bool = False, mode: int = 0o644) -> int:
        """Open for reading and writing, created (with ``mode``) if missing, emptied if
        ``truncate``."""

    def pwrite(self, fd: int, data: bytes, offset: int) -> None:
        """Write all of ``data`` at ``offset`` (``OSError`` if the disk refuses part)."""

    def fsync(self, fd: int) -> None: ...

    def truncate(self, fd: int, size: int) -> None: ...

    def close(self, fd: int) -> None: ...

    def read(self, path: Path, offset: int = 0, size: int = -1) -> bytes:
        """Bytes from ``offset`` (``size`` of them, or to the end); FileNotFoundError."""

    def listdir(self, directory: Path) -> list[str]:
        """Names in ``directory``; [] if it does not exist."""

    def mkdir(self, directory: Path) -> bool:
        """Create ``directory`` and its parents; True if it did not exist."""

    def fsync_dir(self, directory: Path) -> None: ...

    def replace(self, source: Path, target: Path) -> None: ...

    def unlink(self, path: Path) -> None: ...

    def lock(self, path: Path, holder: str) -> int:
        """Hold an exclusive lock on ``path`` until ``close``; ``FileLocked`` if taken."""


class OsFileSystem:
    """The real file system: each method one or two system calls."""

    def open(self, path: Path, truncate: bool = False, mode: int = 0o644) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | (os.O_TRUNC if truncate else 0)
        fd = os.open(path, flags, mode)
        if truncate:
            os.fchmod(fd, mode)  # a file left over keeps its mode otherwise
        return fd

    def pwrite(self, fd: int, data: bytes, offset: int) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(fd, view, offset)
            view, offset = view[written:], offset + written

    def fsync(self, fd: int) -> None:
        os.fsync(fd)

    def truncate(self, fd: int, size: int) -> None:
        os.ftruncate(fd, size)

    def close(self, fd: int) -> None:
        os.close(fd)

    def read(self, path: Path, offset: int = 0, size: int = -1) -> bytes:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(size)

    def listdir(self, directory: Path) -> list[str]:
        try:
            return os.listdir(directory)
        except FileNotFoundError:
            return []

    def mkdir(self, directory: Path) -> bool:
        if directory.is_dir():
            return False
        directory.mkdir(parents=True, exist_ok=True)
        return True

    def fsync_dir(self, directory: Path) -> None:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def replace(self, source: Path, target: Path) -> None:
        os.replace(source, target)

    def unlink(self, path: Path) -> None:
        os.unlink(path)

    def lock(self, path: Path, holder: str) -> int:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            held = os.pread(fd, 200, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise FileLocked(held) from None
        with contextlib.suppress(OSError):  # who holds it is a courtesy: a full disk may say no
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode(), 0)
        return fd


OS = OsFileSystem()


def make_dir(fs: FileSystem, directory: Path) -> None:
    """``directory`` exists, and so durably: a new one is named in a synced parent."""
    if fs.mkdir(directory):
        fs.fsync_dir(directory.parent)


def write_atomically(fs: FileSystem, path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` by ``data`` so that after a crash it holds the old bytes or the new,
    never neither nor a mix: a temporary file, fsync'd, renamed over, directory fsync'd.
    One writer at a time (``exclusive``): the temporary file's name is per process."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = fs.open(tmp, truncate=True, mode=mode)
    try:
        try:
            fs.pwrite(fd, data, 0)
            fs.fsync(fd)
        finally:
            fs.close(fd)
        fs.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            fs.unlink(tmp)
        raise
    fs.fsync_dir(path.parent)


@contextlib.contextmanager
def exclusive(fs: FileSystem, path: Path) -> Iterator[None]:
    """Hold ``<path>.lock`` (waiting for it) around a read-modify-write of ``path``."""
    lock = path.with_name(path.name + ".lock")
    while True:
        try:
            fd = fs.lock(lock, f"pid {os.getpid()}")
            break
        except FileLocked:
            time.sleep(0.01)  # a holder keeps it for one scrypt (~0.1 s)
    try:
        yield
    finally:
        fs.close(fd)
