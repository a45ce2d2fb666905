"""Derive expected.json from frames.jsonl (run once by hand; the JSON is committed).

Per transaction, its own register delta:
- 1.6: meterStop of the FIRST StopTransaction (journal order) minus the meterStart of the
  StartTransaction whose CSMS answer assigned that transactionId;
- 2.0.1: the Transaction.End register of the first Ended minus the Transaction.Begin register
  of the Started event.
Usage: python tests/data/frames/real_client_sample/derive_expected.py > expected.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
REGISTER = "Energy.Active.Import.Register"


def register(payload: dict[str, Any], context: str) -> float:
    """The first register sample of ``context`` in a TransactionEvent (KeyError if none)."""
    for element in payload.get("meterValue", []):
        for sampled in element["sampledValue"]:
            if sampled.get("context") == context and sampled.get("measurand", REGISTER) == REGISTER:
                return float(sampled["value"])
    raise KeyError(context)


def derive(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    calls: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    begin: dict[tuple[str, str], float] = {}
    end: dict[tuple[str, str], float] = {}
    for row in rows:
        frame, cp = row["frame"], row["charge_point_id"]
        if row["direction"] == "in" and frame[0] == 2:
            calls[(cp, frame[1])] = (frame[2], frame[3])
            if frame[2] == "StopTransaction":
                end.setdefault((cp, str(frame[3]["transactionId"])), float(frame[3]["meterStop"]))
            elif frame[2] == "TransactionEvent":
                key = (cp, frame[3]["transactionInfo"]["transactionId"])
                if frame[3]["eventType"] == "Started":
                    begin[key] = register(frame[3], "Transaction.Begin")
                elif frame[3]["eventType"] == "Ended" and key not in end:
                    end[key] = register(frame[3], "Transaction.End")
        elif row["direction"] == "out" and frame[0] == 3:
            action, payload = calls[(cp, frame[1])]
            if action == "StartTransaction":
                begin[(cp, str(frame[2]["transactionId"]))] = float(payload["meterStart"])
    return [{"charge_point_id": cp, "transaction_id": tx, "status": "completed",
             "energy_wh": round(end[(cp, tx)] - begin[(cp, tx)], 3), "billable": True,
             "flags_absent": ["meter_reset"], "flags_present": []}
            for cp, tx in sorted(begin, key=lambda k: (k[0], k[1].zfill(12)))]


def main() -> None:
    rows = [json.loads(line) for line in (HERE / "frames.jsonl").read_text().splitlines()]
    expected = {
        "sessions": derive(rows),
        "alerts_present": [],
        "alerts_absent": ["meter_reset"],
        "note": ("Recorded traffic of 12 chargers (7 OCPP 1.6, 5 OCPP 2.0.1) whose meters start "
                 "every transaction at 0 Wh; each session's energy is its own register delta "
                 "(1.6: first StopTransaction meterStop - meterStart; 2.0.1: Transaction.End - "
                 "Transaction.Begin), a repeated Stop or Ended changes nothing, and a register "
                 "starting again at 0 for the next transaction is no meter reset."),
    }
    sys.stdout.write(table_json(expected))


def table_json(expected: dict[str, Any]) -> str:
    """JSON with one session a line, so the file reads as a table."""
    rows = ",\n  ".join(json.dumps(s) for s in expected["sessions"])
    rest = ",\n ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in expected.items()
                       if k != "sessions")
    return f'{{"sessions": [\n  {rows}\n ],\n {rest}\n}}\n'


if __name__ == "__main__":
    main()
