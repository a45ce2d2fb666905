"""What an OCPP 2.1 station sends beyond a 2.0.1 one (its transactions are 2.0.1's:
``sim.transaction`` shapes both alike, the client profiles included).

- At boot: a NotifyMonitoringReport naming its power monitor (EVSE 1, variable ``Power``, type
  ``PeriodicEventStream``) and an OpenPeriodicEventStream for it (the CSMS answers Accepted).
- While it charges: after each periodic sample a NotifyPeriodicEventStream (a SEND, never
  answered) with ``STREAM_VALUES`` power values, one per simulated ``STREAM_STEP_S``: the
  high-rate meter data 2.1 batches into one frame.
- A V2X station (``Vendor.v2x``): every reading also carries ``Energy.Active.Export.Register``,
  which counts ``EXPORT_SHARE`` Wh fed back per Wh drawn (from ``EXPORT_BASE_WH``). The truth
  stays what was drawn: billing export as import would show as energy error.
- After each Ended: a NotifySettlement for the transaction (ad-hoc payment, ``PRICE_PER_KWH``
  of the energy drawn, ``Settled``).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sim.charger import SimCharger
    from sim.messages import Reading

V21 = "ocpp2.1"
MONITOR_ID, STREAM_ID = 1, 1
STREAM_VALUES, STREAM_STEP_S = 20, 3.0
EXPORT_BASE_WH, EXPORT_SHARE = 250_000.0, 0.5
PRICE_PER_KWH = 0.45
S = 1_000_000_000


def speaks_21(c: SimCharger) -> bool:
    return c.p.protocol == V21


def export_register(c: SimCharger, import_wh: float) -> str | None:
    """The export register beside an import reading of ``import_wh``, on a V2X station."""
    if not c.p.v2x:
        return None
    return f"{EXPORT_BASE_WH + EXPORT_SHARE * import_wh:.0f}"


async def after_boot(c: SimCharger) -> None:
    await c.call("NotifyMonitoringReport", {
        "requestId": 0, "seqNo": 0, "generatedAt": c.stamp(), "monitor": [{
            "component": {"name": "EVSE", "evse": {"id": 1}}, "variable": {"name": "Power"},
            "variableMonitoring": [{"id": MONITOR_ID, "transaction": True, "value": 0,
                                    "type": "PeriodicEventStream", "severity": 8}]}]})
    await c.call("OpenPeriodicEventStream", {"constantStreamData": {
        "id": STREAM_ID, "variableMonitoringId": MONITOR_ID,
        "params": {"interval": int(STREAM_STEP_S * STREAM_VALUES), "values": STREAM_VALUES}}})


def stream_payload(c: SimCharger, power_w: float, now_ns: int) -> dict[str, Any]:
    """The last ``STREAM_VALUES`` power readings up to ``now_ns`` (offsets in wall seconds,
    as the charger's clock runs)."""
    step_s = STREAM_STEP_S / c.speed
    base_ns = now_ns - int(step_s * (STREAM_VALUES - 1) * S)
    return {"id": STREAM_ID, "pending": 0, "basetime": c.stamp(base_ns),
            "data": [{"t": round(i * step_s, 3), "v": f"{power_w:.0f}"}
                     for i in range(STREAM_VALUES)]}


async def stream(c: SimCharger, reading: Reading) -> None:
    """The power stream of the interval a periodic sample closes (only while it charges)."""
    wire = c.wire
    if reading.power_w and wire is not None:
        await wire.send("NotifyPeriodicEventStream",
                        stream_payload(c, reading.power_w, time.time_ns()))


async def settle(c: SimCharger, tx_id: str, drawn_wh: float) -> None:
    await c.call("NotifySettlement", {
        "transactionId": tx_id, "pspRef": f"PSP-{tx_id}"[:255], "status": "Settled",
        "settlementAmount": round(drawn_wh / 1000 * PRICE_PER_KWH, 2),
        "settlementTime": c.stamp()})
