"""What an unauthenticated peer can make the server do before it is known (issue 15, item 6):
no scrypt for ids let in anyway, scrypt on a bounded lane that a flood cannot clog for a good
charger, a cap on connections per remote address, the open-files limit raised at start."""

from __future__ import annotations

import asyncio
import resource
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from bench.handshake_flood import PASSWORD, handshake, under_flood, upgrade
from canonical.enums import RecordKind
from chargeline.ports import free_port, wait_port
from ingest.auth import CredentialStore
from tests.ingest.conftest import journal_records, running_server
from tests.reliability.conftest import CLI, Process
from tests.reliability.figures import report


def test_a_flood_of_bad_handshakes_does_not_hold_up_a_good_one(
        tmp_path: Path, server_factory: Callable[..., Process]) -> None:
    """200 clients loop on wrong Basic credentials (a 16 MiB scrypt each for the server)
    while a registered charger connects again and again. Before the lane, every handshake,
    the good one's too, waited for a thread of the shared executor behind the whole flood:
    seconds each (bench/handshake_flood.py)."""
    store = CredentialStore.in_dir(tmp_path)
    for cp_id in ("CP-GOOD", "CP-NEW"):
        store.add(cp_id, PASSWORD)
    server = server_factory(tmp_path, "--auth")
    figures = under_flood(server.port or 0, bad=200, tries=30, newcomers=["CP-NEW"])
    report("test_a_flood_of_bad_handshakes_does_not_hold_up_a_good_one", **figures)
    # Measured 0.4 s on the loaded 2-core box (the flood's 700 refusals a second share the
    # loop with it); before the lane, 16.8 s median. Generous, so a busy CI does not flake.
    assert figures["flood"]["p99_ms"] < 2000, figures
    # A charger whose password is not verified yet queues with the flood for the lane
    # (16 hashes deep), retrying 0.1 s after each 503.
    assert max(figures["first_contact_s"]) < 15, figures
    assert figures["bad_statuses"].get("401", 0) > 0  # the lane did hash some of them
    assert set(figures["bad_statuses"]) <= {"401", "503"}, figures


@pytest.mark.parametrize("policy", [{}, {"require_auth": True, "accept_unknown": True}])
def test_an_unknown_id_let_in_anyway_costs_no_hash(tmp_path: Path, policy: dict[str, bool]) -> None:
    """Auth off (or unknown ids accepted): a Basic header of an unknown id is not hashed (it
    was: ~50 ms of a core each, on the shared executor)."""
    async def scenario() -> tuple[float, int]:
        async with running_server(tmp_path, **policy) as cs:
            t0 = time.perf_counter()
            for n in range(40):
                status, _ = await handshake(cs.port, upgrade(f"CP-{n}", f"CP-{n}", PASSWORD))
                assert status == 101
            return time.perf_counter() - t0, cs.lane.hashed

    seconds, hashed = asyncio.run(scenario())
    assert hashed == 0
    assert seconds < 1.0  # 40 scrypts alone take ~2 s


def test_connections_per_address_are_capped(tmp_path: Path) -> None:
    """8 silent sockets from 127.0.0.1 hold its quota: the 9th is answered 503 at once (before
    sending a byte), another address still gets in, the refusals are journaled with their
    count, and the quota comes back when the sockets close."""
    async def scenario() -> tuple[bytes, float, int, int]:
        async with running_server(tmp_path, max_connections_per_address=8,
                                  uncapped_addresses=()) as cs:
            held = [await asyncio.open_connection("127.0.0.1", cs.port) for _ in range(8)]
            await asyncio.sleep(0.1)
            t0 = time.perf_counter()
            reader, writer = await asyncio.open_connection("127.0.0.1", cs.port)
            over = await asyncio.wait_for(reader.read(), 2)
            refused_s = time.perf_counter() - t0
            writer.close()
            other = await other_address_handshake(cs.port)
            for _, w in held:
                w.close()
            await asyncio.sleep(0.2)
            again, _ = await handshake(cs.port, upgrade("CP-A", "CP-A", PASSWORD))
            await asyncio.sleep(1.2)  # the refusal count is journaled within a second
            return over, refused_s, other, again

    over, refused_s, other, again = asyncio.run(scenario())
    assert over.startswith(b"HTTP/1.1 503 ") and b"too many connections" in over
    assert refused_s < 0.5 and other == 101 and again == 101
    records = [orjson.loads(r.raw) for r in journal_records(tmp_path, RecordKind.refused)]
    assert records == [{"status": 503, "reason": "too many connections from this address",
                        "remote": "127.0.0.1", "refused": 1}]


async def other_address_handshake(port: int) -> int:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=("127.0.0.2", 0))
    writer.write(upgrade("CP-B", "CP-B", PASSWORD))
    line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    return int(line.split()[1])


def test_serve_raises_the_open_files_limit_to_its_hard_limit(tmp_path: Path) -> None:
    """A soft limit of 256 would refuse the ~250th charger (accept: EMFILE)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard <= 256:
        pytest.fail(f"hard open-files limit {hard}: cannot show the soft one raised")
    port = free_port()
    proc = subprocess.Popen(  # the shell lowers the soft limit, then becomes the server
        ["sh", "-c", 'ulimit -Sn 256 && exec "$0" "$@"', *CLI, "serve", "--data-dir",
         str(tmp_path), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        limits = Path(f"/proc/{proc.pid}/limits").read_text()
    finally:
        proc.terminate()
        proc.wait(20)
    soft = next(line.split()[3] for line in limits.splitlines()
                if line.startswith("Max open files"))
    assert soft == str(hard), limits

