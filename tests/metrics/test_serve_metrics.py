"""``GET /metrics`` on a real server's OCPP port, scraped over real HTTP while chargers talk
to it over real WebSockets on the same port."""

from __future__ import annotations

import asyncio
import base64
import random
import string
from pathlib import Path
from typing import Any

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

from canonical.enums import RecordKind
from chargeline.ports import free_port
from ingest.auth import CredentialStore
from ingest.journal import JournalReader
from ingest.metrics import NONE, OTHER, ocpp_actions
from ingest.upstream import UpstreamConfig
from tests.ingest.conftest import running_server
from tests.ingest.upstream_csms import upstream_csms
from tests.metrics.scrape import Scrape, metrics_of, scrape_async

BOOT = {"chargePointVendor": "ACME", "chargePointModel": "X1"}
BOOT_201 = {"reason": "PowerUp", "chargingStation": {"model": "X2", "vendorName": "ACME"}}


def connect(port: int, cp_id: str, protocol: str = "ocpp1.6",
            **options: Any) -> websockets.connect:
    return websockets.connect(f"ws://127.0.0.1:{port}/ocpp/{cp_id}", subprotocols=[protocol],
                              **options)


async def call(ws: ClientConnection, mid: str, action: str, payload: Any) -> list[Any]:
    await ws.send(orjson.dumps([2, mid, action, payload]).decode())
    answer: list[Any] = orjson.loads(await ws.recv())
    return answer


async def until(port: int, check: Any, timeout_s: float = 5.0) -> Scrape:
    """Scrape until ``check(scrape)`` holds (a disconnection is counted as its socket goes)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        scraped = await metrics_of(port)
        if check(scraped) or asyncio.get_running_loop().time() > deadline:
            return scraped
        await asyncio.sleep(0.02)


def test_chargers_frames_and_answers_are_counted(tmp_path: Path) -> None:
    async def scenario() -> tuple[Scrape, Scrape, Scrape]:
        async with running_server(tmp_path) as cs:
            before = await metrics_of(cs.port)
            async with connect(cs.port, "CP-16") as a, connect(cs.port, "CP-201",
                                                                "ocpp2.0.1") as b:
                assert (await call(a, "1", "BootNotification", BOOT))[0] == 3
                assert (await call(a, "2", "Heartbeat", {}))[0] == 3
                assert (await call(a, "3", "Heartbeat", {}))[0] == 3
                assert (await call(b, "1", "BootNotification", BOOT_201))[0] == 3
                assert (await call(a, "4", "NoSuchAction", {}))[0] == 4
                await a.send("not json")
                assert orjson.loads(await a.recv())[0] == 4
                await a.send(orjson.dumps([3, "never-asked", {}]).decode())  # no answer due
                during = await until(cs.port, lambda s: s.value(
                    "chargeline_frames_total", direction="in", action=NONE) == 2)
            after = await until(cs.port, lambda s: s.value(
                "chargeline_disconnections_total", code="1000") == 2)
            return before, during, after

    before, during, after = asyncio.run(scenario())
    connected = "chargeline_chargers_connected"
    assert before.value(connected, protocol="ocpp1.6") == 0
    assert during.value(connected, protocol="ocpp1.6") == 1
    assert during.value(connected, protocol="ocpp2.0.1") == 1
    assert after.value(connected, protocol="ocpp1.6") == after.value(
        connected, protocol="ocpp2.0.1") == 0
    frames = "chargeline_frames_total"
    for direction in ("in", "out"):
        assert during.value(frames, direction=direction, action="BootNotification") == 2
        assert during.value(frames, direction=direction, action="Heartbeat") == 2
        assert during.value(frames, direction=direction, action=OTHER) == 1
    assert during.value(frames, direction="in", action=NONE) == 2  # garbage, stray result
    assert during.value(frames, direction="out", action=NONE) == 1  # the garbage's CALLERROR
    flagged = "chargeline_frames_flagged_total"
    assert during.value(flagged, parse_status="invalid_json") == 1
    assert during.value(flagged, parse_status="unknown_action") == 1
    assert during.value(flagged, parse_status="unmatched_result") == 1
    # every answer timed: 4 CALLRESULTs and 2 CALLERRORs; none for the stray result
    assert during.value("chargeline_answer_latency_seconds_count") == 6
    assert during.value("chargeline_answer_latency_seconds_bucket", le="+Inf") == 6
    assert 0 < during.value("chargeline_answer_latency_seconds_sum") < 6 * 5


def test_journal_commits_are_timed_and_its_records_counted(tmp_path: Path) -> None:
    async def scenario() -> Scrape:
        async with running_server(tmp_path) as cs:
            async with connect(cs.port, "CP-J") as ws:
                for i in range(20):
                    await call(ws, str(i), "Heartbeat", {})
            # the disconnected record lands after the socket closes
            await asyncio.sleep(0.1)
            return await metrics_of(cs.port)

    scraped = asyncio.run(scenario())
    stored = sum(1 for _ in JournalReader(tmp_path).frames())
    assert stored == 20 * 2 + 2  # 20 CALLs, 20 answers, connected, disconnected
    assert scraped.value("chargeline_journal_records_total") == stored
    commits = scraped.value("chargeline_journal_commit_seconds_count")
    assert 21 <= commits <= stored  # each CALL waited for its group: ≥ one group per CALL
    assert scraped.value("chargeline_journal_up") == 1


def test_random_action_names_do_not_grow_the_label_set(tmp_path: Path) -> None:
    """A hostile charger inventing action names: each is `other`, the series stay a few."""
    names = {"".join(random.choices(string.ascii_letters, k=12)) for _ in range(300)}

    async def scenario() -> Scrape:
        async with running_server(tmp_path, rate_per_s=10_000, burst=10_000) as cs:
            async with connect(cs.port, "CP-EVIL") as ws:
                for i, name in enumerate(sorted(names)):
                    assert (await call(ws, str(i), name, {}))[0] == 4
            return await metrics_of(cs.port)

    scraped = asyncio.run(scenario())
    actions = scraped.labels("chargeline_frames_total", "action")
    assert actions == {OTHER}
    assert scraped.value("chargeline_frames_total", direction="in", action=OTHER) == len(names)
    assert actions <= ocpp_actions() | {OTHER, NONE}
    assert len(scraped.samples) < 120  # whatever the names: fixed families, fixed labels


def test_refused_connections_are_counted_by_reason(tmp_path: Path) -> None:
    CredentialStore.in_dir(tmp_path).add("CP-A", "correct-horse-battery")

    async def refused(port: int, path: str, **options: Any) -> int:
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}{path}", **options):
                return 101
        except websockets.InvalidStatus as exc:
            return exc.response.status_code

    async def scenario() -> Scrape:
        async with running_server(tmp_path, require_auth=True) as cs:
            wrong = {"Authorization": "Basic " + base64.b64encode(
                b"CP-A:wrong-password-123").decode()}
            assert await refused(cs.port, "/ocpp/CP-A", subprotocols=["ocpp1.6"],
                                 additional_headers=wrong) == 401
            assert await refused(cs.port, "/ocpp/CP-NOBODY", subprotocols=["ocpp1.6"]) == 401
            assert await refused(cs.port, "/a/b/c", subprotocols=["ocpp1.6"]) == 404
            assert await refused(cs.port, "/ocpp/CP-A", subprotocols=["ocpp9"]) == 400
            return await metrics_of(cs.port)

    scraped = asyncio.run(scenario())
    reason = "chargeline_connections_refused_total"
    assert scraped.value(reason, reason="credentials") == 2  # which part was wrong: not said
    assert scraped.value(reason, reason="path") == 1
    assert scraped.value(reason, reason="subprotocol") == 1
    assert scraped.value(reason, reason="address_cap") == 0


def test_scrapes_and_upgrades_share_the_port(tmp_path: Path) -> None:
    """Scrapes while a charger talks; a charger named ``metrics`` still upgrades at
    ``/metrics``; ``metrics=False`` answers no scrape; a token file asks for a bearer."""
    token_file = tmp_path / "metrics.token"
    token_file.write_text("s3cret-token\n")
    token_file.chmod(0o600)

    async def talk(port: int) -> int:
        answered = 0
        async with connect(port, "CP-BUSY") as ws:
            for i in range(50):
                answered += (await call(ws, str(i), "Heartbeat", {}))[0] == 3
        return answered

    async def scenario() -> tuple[int, list[int], list[Any]]:
        async with running_server(tmp_path / "a", metrics_token_file=token_file) as cs:
            talking = asyncio.create_task(talk(cs.port))
            statuses = [(await scrape_async(cs.port, headers={
                "Authorization": "Bearer s3cret-token"}))[0] for _ in range(10)]
            answered = await talking
            statuses.append((await scrape_async(cs.port))[0])
            statuses.append((await scrape_async(cs.port, headers={
                "Authorization": "Bearer wrong"}))[0])
            async with websockets.connect(f"ws://127.0.0.1:{cs.port}/metrics",
                                          subprotocols=["ocpp1.6"]) as ws:
                named_metrics = await call(ws, "1", "Heartbeat", {})
        async with running_server(tmp_path / "b", metrics=False) as cs:
            off = (await scrape_async(cs.port))[0]
        return answered, [*statuses, off], named_metrics

    answered, statuses, named_metrics = asyncio.run(scenario())
    assert answered == 50
    assert statuses == [200] * 10 + [401, 401, 426]  # off: a plain GET is no upgrade
    assert named_metrics[0] == 3
    assert [f.charge_point_id for f in JournalReader(tmp_path / "a").frames()
            if f.record_kind == RecordKind.connected] == ["CP-BUSY", "metrics"]


def test_proxied_frames_and_an_unreachable_upstream_are_counted(tmp_path: Path) -> None:
    """Proxy mode: the charger's frames and the upstream's answers forwarded to it are
    counted both ways; the upstream answers, so nothing is timed here; an upstream that
    cannot be reached refuses the charger (``upstream_unreachable``)."""
    async def scenario() -> tuple[Scrape, Scrape]:
        async with upstream_csms() as up, running_server(
                tmp_path / "a", upstream=UpstreamConfig(up.url)) as cs, \
                connect(cs.port, "CP-P") as ws:
            assert (await call(ws, "1", "BootNotification", BOOT))[0] == 3
            assert (await call(ws, "2", "Heartbeat", {}))[0] == 3
            proxied = await metrics_of(cs.port)
        dead = UpstreamConfig(f"ws://127.0.0.1:{free_port()}/csms")
        async with running_server(tmp_path / "b", upstream=dead) as cs:
            try:
                async with connect(cs.port, "CP-D"):
                    pass
            except websockets.InvalidStatus as exc:
                assert exc.response.status_code == 503
            return proxied, await metrics_of(cs.port)

    proxied, refused = asyncio.run(scenario())
    for direction in ("in", "out"):
        for action in ("BootNotification", "Heartbeat"):
            assert proxied.value("chargeline_frames_total", direction=direction,
                                 action=action) == 1
    assert proxied.value("chargeline_answer_latency_seconds_count") == 0
    assert proxied.value("chargeline_chargers_connected", protocol="ocpp1.6") == 1
    assert refused.value("chargeline_connections_refused_total",
                         reason="upstream_unreachable") == 1
