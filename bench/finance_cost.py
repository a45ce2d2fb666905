"""What pricing costs the finance queries: ``finance_sessions`` with its cost columns beside
``finance_unpriced`` (the same rows without them: what the dashboard's totals and holds
read), same data, same run.

    python -m bench.finance_cost [DIR] [--sessions 200000] [--chargers 1000] [--sites 20]

Writes ``--sessions`` completed sessions of ``--chargers`` chargers (random energies and
durations, over 30 days) through the real ``WarehouseWriter``, puts the chargers in
``--sites`` sites (time zone Europe/Brussels) with a site tariff of two time-of-day bands, an
idle fee and a time price, and a default tariff; then times, p50 of 5 runs, the
reconciliation page's totals query (``sum`` by period) and a full read of the view, priced
and unpriced. Results in bench/results/finance_cost.json.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import report
from canonical import SessionRecord, to_batch
from canonical.sites import parse_site
from canonical.tariffs import parse_tariff
from warehouse import catalog, reference
from warehouse.writer import WarehouseWriter

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
S = 1_000_000_000
QUERIES = {"totals by period": "select period, count(*), sum(energy_kwh), {money} "
                               "from {view} group by period",
           "every row": "select * from {view}"}


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    p.add_argument("dir", nargs="?", type=Path)
    p.add_argument("--sessions", type=int, default=200_000)
    p.add_argument("--chargers", type=int, default=1000)
    p.add_argument("--sites", type=int, default=20)
    return p.parse_args(argv)


def sessions(count: int, chargers: int) -> list[SessionRecord]:
    rng = random.Random(7)
    out = []
    for i in range(count):
        cp = f"CP{i % chargers:04d}"
        start = T0 + rng.randrange(30 * 86400) * S
        duration = rng.randrange(600, 6 * 3600) * S
        energy = round(rng.uniform(0, 60000), rng.choice([0, 2]))
        out.append(SessionRecord(
            session_id=f"{cp}:{i}", version=1, charge_point_id=cp, connector_id=1, evse_id=None,
            transaction_id=str(i), id_tag="TAG", protocol="ocpp1.6", status="completed",
            started_at=start, stopped_at=start + duration, started_at_raw=None,
            stopped_at_raw=None, start_frame_id=1, stop_frame_id=2, meter_start_wh=0.0,
            meter_stop_wh=energy, energy_wh=energy, energy_rule="register_delta",
            samples_energy_wh=energy, sample_count=10, max_power_w=rng.choice([None, 11000.0]),
            stop_reason="Local", flags=[], clock_offset_s=0.0, last_event_at=start + duration,
            updated_at=start + duration))
    return out


def setup(data: Path, args: argparse.Namespace) -> None:
    writer = WarehouseWriter(data, durable=False)
    rows = sessions(args.sessions, args.chargers)
    for i in range(0, len(rows), 50_000):
        writer.write("sessions", to_batch(SessionRecord, rows[i:i + 50_000]))
    per_site = args.chargers // args.sites
    reference.put_sites(data, [parse_site({
        "site_id": f"S{s}", "name": f"Site {s}", "address": "Main 1", "city": "Gent",
        "country": "BEL", "latitude": "51.04760", "longitude": "3.72994",
        "time_zone": "Europe/Brussels", "charge_point_ids": " ".join(
            f"CP{c:04d}" for c in range(s * per_site, (s + 1) * per_site))})
        for s in range(args.sites)])
    reference.add_tariffs(data, [parse_tariff({
        "tariff_id": "D", "valid_from": "2020-01-01", "vat_pct": "21",
        "energy_per_kwh": "0.39"})] + [parse_tariff({
            "tariff_id": f"T{s}", "scope": "site", "scope_id": f"S{s}",
            "valid_from": "2020-01-01", "vat_pct": "21", "energy_per_kwh": "0.30",
            "energy_bands": "07:00-11:00=0.45;17:00-21:00=0.50", "time_per_hour": "1.2",
            "idle_per_hour": "6", "idle_grace_min": "30"}) for s in range(args.sites)])
    catalog.ensure(data)


def timed(con: Any, sql: str, runs: int = 5) -> float:
    spent = []
    for _ in range(runs):
        began = time.perf_counter()
        con.sql(sql).fetchall()
        spent.append(time.perf_counter() - began)
    return statistics.median(spent)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    data = (args.dir or Path(tempfile.mkdtemp(prefix="finance-cost-"))) / "data"
    setup(data, args)
    con = catalog.connect(data)
    result: dict[str, Any] = {"sessions": args.sessions, "chargers": args.chargers,
                              "sites": args.sites}
    for name, sql in QUERIES.items():
        result[f"{name}: priced s"] = timed(con, sql.format(
            view="finance_sessions", money="sum(cost_incl_vat)"))
        result[f"{name}: unpriced s"] = timed(con, sql.format(view="finance_unpriced",
                                                              money="sum(energy_wh)"))
    (priced,) = con.execute("select count(cost_incl_vat) from finance_sessions").fetchone() or (0,)
    result["priced sessions"] = priced
    report("finance_cost", result, list(result.items()))


if __name__ == "__main__":
    main()
