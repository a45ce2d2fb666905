"""Real ``chargeline`` processes on 127.0.0.1 for the reliability tests, killed in teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chargeline.ports import free_port, wait_port
from tests.broker import broker  # noqa: F401  (the Kafka tests' broker fixture)

CLI = [sys.executable, "-m", "chargeline"]


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a live process (``VmHWM`` for its peak), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no {field} for pid {pid}")


class Process:
    """One ``chargeline <verb>`` subprocess that can be killed -9 and started again.

    stderr goes to ``<log>`` (appended across restarts), never to an unread pipe.
    """

    def __init__(self, args: list[str], log: Path, port: int | None = None) -> None:
        self.args, self.log, self.port = args, log, port
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> Process:
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen([*CLI, *self.args], stdout=subprocess.DEVNULL,
                                         stderr=err, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.starts += 1
        if self.port is not None:
            # 60 s, not wait_port's 20: a restart mid-fleet on a box loaded by a second
            # suite took longer than 20 s to listen (test_kafka_scale)
            wait_port(self.port, 60)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not go within 20 s."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill9()


ProcessFactory = Callable[..., Process]


@pytest.fixture
def process_factory(tmp_path: Path) -> Iterator[ProcessFactory]:
    """``process_factory(args, port=None)``: a started-on-demand process, stopped at teardown."""
    made: list[Process] = []

    def factory(args: list[str], port: int | None = None) -> Process:
        process = Process(args, tmp_path / f"{args[0]}-{len(made)}.log", port)
        made.append(process)
        return process

    try:
        yield factory
    finally:
        for process in made:
            process.stop()


@pytest.fixture
def server_factory(process_factory: ProcessFactory) -> Callable[..., Process]:
    """``server_factory(data_dir, *options)``: ``chargeline serve`` on a free port, started."""
    def factory(data_dir: Path, *options: str) -> Process:
        port = free_port()
        return process_factory(["serve", "--data-dir", str(data_dir), "--port", str(port),
                                *options], port=port).start()

    return factory
