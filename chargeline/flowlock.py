"""The data dir's flow lock: one ``chargeline flow`` or ``chargeline replay`` per data dir.

Both write the warehouse and the flow's recovery store, and a replay swaps the warehouse's
generation when it finishes: a live flow writing meanwhile would write into the generation
being replaced, or resume from a recovery store the replay is rebuilding. So each holds an
exclusive ``flock`` on ``<data_dir>/flow.lock`` for its whole run, its pid and command
written in the file, and a second one is refused at once, naming the holder. The kernel drops
the lock with the process (``kill -9`` included): there is never a stale lock to remove.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from canonical.errors import ConfigError

LOCK_NAME = "flow.lock"


class FlowLockedError(ConfigError):
    """Another flow or replay holds the data dir; ``pid`` is its process id (None if it has
    not written it yet), ``holder`` what it wrote (``<pid> chargeline <command>``)."""

    def __init__(self, path: Path, holder: str) -> None:
        pid_text = holder.split(" ", 1)[0]
        self.path = path
        self.holder = holder
        self.pid = int(pid_text) if pid_text.isdigit() else None
        who = f"{holder.split(' ', 1)[1]} (pid {self.pid})" if self.pid else "another process"
        super().__init__(f"data dir {str(path.parent)!r} is in use by {who}: one flow or "
                         f"replay at a time per data dir (lock {str(path)!r})")


@contextmanager
def hold(data_dir: Path, command: str) -> Iterator[None]:
    """Hold the data dir's flow lock while the block runs, as ``chargeline <command>``;
    FlowLockedError at once if another process holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise FlowLockedError(path, holder(path)) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} chargeline {command}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def holder(path: Path) -> str:
    """What the lock's holder wrote in it: ``<pid> chargeline <command>``, or empty."""
    try:
        return path.read_text().strip()
    except OSError:
        return ""
