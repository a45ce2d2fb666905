"""Proxy mode in front of a packaged central system from PyPI that nobody here wrote
(``ocpp-csms``, aiohttp + the ``ocpp`` library): it issues the transaction ids, its own API
stops the session, and the real flow builds the session from the proxied journal under the
upstream's transactionId."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action, RemoteStartStopStatus
from ocpp_csms import CentralSystem as PackagedCsms

from ingest.upstream import UpstreamConfig
from tests.ingest.conftest import journal_frames, ocpp_client, running_server
from warehouse import catalog

T0 = "2026-12-01T10:00:00Z"


class Charger(ChargePoint16):
    """Accepts a remote stop and then really stops, as a charger does."""

    transaction_id = 0

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> result16.RemoteStopTransaction:
        return result16.RemoteStopTransaction(status=RemoteStartStopStatus.accepted)


def test_packaged_upstream_through_the_proxy_and_the_flow(tmp_path: Path, run: Any) -> None:
    async def scenario() -> tuple[int, str]:
        async with PackagedCsms(host="127.0.0.1", port=0, ping_interval=None) as upstream, \
                running_server(tmp_path, upstream=UpstreamConfig(
                    f"ws://127.0.0.1:{upstream.port}/ocpp")) as cs, \
                ocpp_client(Charger, cs, "CP-PKG", "ocpp1.6") as (cp, _):
            boot = await cp.call(call16.BootNotification(charge_point_model="M",
                                                         charge_point_vendor="V"))
            assert boot.status == "Accepted"
            started = await cp.call(call16.StartTransaction(
                connector_id=1, id_tag="TAG", meter_start=10_000, timestamp=T0))
            await cp.call(call16.MeterValues(
                connector_id=1, transaction_id=started.transaction_id, meter_value=[{
                    "timestamp": T0, "sampledValue": [{
                        "value": "12000", "measurand": "Energy.Active.Import.Register",
                        "unit": "Wh"}]}]))
            status = await upstream.charge_points["CP-PKG"].async_remote_stop_transaction(
                started.transaction_id)
            await cp.call(call16.StopTransaction(meter_stop=13_500, timestamp=T0,
                                                 transaction_id=started.transaction_id,
                                                 reason="Remote"))
            await asyncio.sleep(0.2)
            return started.transaction_id, str(status)

    tx_id, status = run(scenario())
    assert "Accepted" in status
    frames = journal_frames(tmp_path, "CP-PKG")
    assert [(f.direction, f.action) for f in frames if f.message_type == 2] == [
        ("in", "BootNotification"), ("in", "StartTransaction"), ("in", "MeterValues"),
        ("out", "RemoteStopTransaction"), ("in", "StopTransaction")]
    subprocess.run([sys.executable, "-m", "chargeline", "replay", "--data-dir", str(tmp_path)],
                   check=True, capture_output=True)
    catalog.ensure(tmp_path)
    rows = catalog.query(catalog.connect(tmp_path), tmp_path,
                         "select * from sessions where charge_point_id = 'CP-PKG'").to_pylist()
    assert [(r["transaction_id"], r["status"], r["energy_wh"], r["stop_reason"])
            for r in rows] == [(str(tx_id), "completed", 3500.0, "Remote")]
