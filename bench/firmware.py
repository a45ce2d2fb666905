"""Firmware rollouts on a simulated fleet: a real ``chargeline serve`` (with its rollout
agent), a real ``chargeline flow``, a simulated fleet of 3 models where one misbehaves on
the new image, its images served over HTTP here. Figures: chargers that received the bad
image (against the bad model's first wave), seconds from the first failure to the halt, the
share rolled back, and a clean rollout's total time.

    python -m bench.firmware [--chargers 200] [--effect boot_loop] [--speed 600]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import free_port, report, wait_port
from canonical.rollouts import HAS_IMAGE, ChargerState, OnFailure, Rollout, RolloutStatus
from chargeline.firmware import store
from sim.depot import FileDepot

ROOT = Path(__file__).resolve().parent.parent
VENDORS = "alfen,keba,wallbox"      # three 1.6 models
BAD_MODEL = "keba"
TO = "9.9.9"


Depot = FileDepot  # firmware images over HTTP: any GET is a small image


def chargeline(*args: str, log: Path | None = None) -> subprocess.Popen[bytes]:
    """``python -m chargeline ARGS`` from this tree; its stderr appended to ``log``."""
    err = log.open("ab") if log is not None else subprocess.DEVNULL
    return subprocess.Popen([sys.executable, "-m", "chargeline", *args], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=err)


@dataclass
class Bench:
    """Everything of one run; ``start`` brings it up, ``close`` takes it down."""

    data_dir: Path
    chargers: int
    speed: float
    bad: str | None            # --bad-firmware text, None for a clean fleet
    port: int = 0
    serve: subprocess.Popen[bytes] | None = None
    flow: subprocess.Popen[bytes] | None = None
    sim: subprocess.Popen[bytes] | None = None

    def start_serve(self) -> None:
        self.port = self.port or free_port()
        self.serve = chargeline("serve", "--data-dir", str(self.data_dir), "--port",
                                str(self.port), "--firmware-poll", "0.5",
                                log=self.data_dir / "serve.log")
        wait_port(self.port, 30)

    def start(self) -> None:
        self.start_serve()
        self.flow = chargeline("flow", "--data-dir", str(self.data_dir),
                               "--snapshot-interval", "1", log=self.data_dir / "flow.log")
        bad = ["--bad-firmware", self.bad] if self.bad else []
        self.sim = chargeline("simulate", "--url", f"ws://127.0.0.1:{self.port}/ocpp",
                              "--chargers", str(self.chargers), "--duration", "3600",
                              "--speed", f"{self.speed:g}", "--vendors", VENDORS,
                              "--faults", "none", "--profiles", "none", "--redial",
                              "--truth", str(self.data_dir / "truth.jsonl"), *bad,
                              log=self.data_dir / "sim.log")

    def kill_serve(self) -> None:
        assert self.serve is not None
        self.serve.send_signal(signal.SIGKILL)
        self.serve.wait()

    def close(self) -> None:
        for proc in (self.sim, self.serve, self.flow):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in (self.sim, self.serve, self.flow):
            if proc is not None:
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    def wait_cohort(self, timeout_s: float = 90) -> None:
        from chargeline.firmware.plan import cohort

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(Exception):
                if len(cohort(self.data_dir, TO, {"model": None, "vendor": None,
                                                  "from_version": None})) >= self.chargers:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"the cohort never reached {self.chargers} chargers")

    def plan(self, depot: Depot, *extra: str, to: str = TO) -> str:
        rollout_id = f"fw-bench-{time.time_ns()}"
        done = subprocess.run(
            [sys.executable, "-m", "chargeline", "firmware", "rollout", "--data-dir",
             str(self.data_dir), "--to", to, "--location", f"{depot.url}/fw/{to}.bin",
             "--id", rollout_id, *extra], cwd=ROOT, capture_output=True, text=True,
            check=False)
        if done.returncode != 0:
            raise RuntimeError(f"firmware rollout: {done.stderr}")
        return rollout_id

    def run_cli(self, *args: str) -> None:
        subprocess.run([sys.executable, "-m", "chargeline", *args, "--data-dir",
                        str(self.data_dir)], cwd=ROOT, check=True, capture_output=True)

    def wait(self, rollout_id: str, until: Any, timeout_s: float) -> Rollout:
        deadline = time.monotonic() + timeout_s
        while True:
            r = store.load(self.data_dir, rollout_id)
            if until(r) or time.monotonic() > deadline:
                return r
            time.sleep(0.3)


def settled(r: Rollout) -> bool:
    """Completed, aborted, or halted with every rollback settled."""
    if r.status in (RolloutStatus.completed, RolloutStatus.aborted):
        return True
    busy = HAS_IMAGE | {ChargerState.rollback_sending, ChargerState.rollback_sent}
    return r.status == RolloutStatus.halted and (
        r.on_failure == OnFailure.halt or not any(t.state in busy for t in r.in_wave(r.wave)))


@contextlib.contextmanager
def bench(chargers: int, speed: float, bad: str | None,
          keep: Path | None = None) -> Iterator[tuple[Bench, Depot]]:
    """A running bench in a temporary data dir (``keep``: in that one, left behind)."""
    data_dir = keep or Path(tempfile.mkdtemp(prefix="chargeline-fw-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    depot, b = Depot(), Bench(data_dir, chargers, speed, bad)
    try:
        b.start()
        b.wait_cohort()
        yield b, depot
    finally:
        b.close()
        depot.close()
        if keep is None:
            shutil.rmtree(data_dir, ignore_errors=True)


def figures(r: Rollout, bad_model: str) -> dict[str, Any]:
    bad = [t for t in r.chargers if bad_model.lower() in t.model.lower()
           or bad_model.lower() in (t.vendor or "").lower()]
    received = [t for t in bad if t.sent_at is not None]
    first_wave = [t for t in bad if t.wave == 0]
    targets = [t for t in r.chargers if t.rollback_step is not None]
    back = [t for t in targets if t.state == ChargerState.rolled_back]
    return {
        "status": r.status.value, "halt_gate": r.halt.gate.value if r.halt else None,
        "halt_wave": r.wave + 1 if r.halt else None,
        "bad_image_received": len(received), "bad_model_first_wave": len(first_wave),
        "first_failure_to_halt_s": round((r.halted_at - r.first_failure_at) / 1e9, 2)
        if r.halted_at and r.first_failure_at else None,
        "rollback_targets": len(targets),
        "rolled_back_share": round(len(back) / len(targets), 3) if targets else None,
        "chargers": len(r.chargers)}


def run(chargers: int, speed: float, effect: str, soak_s: float) -> dict[str, Any]:
    gates = ["--soak", f"{soak_s:g}", "--install-timeout", "120", "--silent-after", "10",
             "--waves", "5%,25%,100%"]
    with bench(chargers, speed, f"{TO}:{effect}@{BAD_MODEL}") as (b, depot):
        started = time.monotonic()
        rid = b.plan(depot, *gates, "--on-failure", "rollback")
        bad = figures(b.wait(rid, settled, 600), BAD_MODEL)
        bad["wall_s"] = round(time.monotonic() - started, 1)
    with bench(chargers, speed, None) as (b, depot):
        rid = b.plan(depot, *gates)
        r = b.wait(rid, settled, 900)
        clean = {"status": r.status.value, "chargers": len(r.chargers),
                 "updated": sum(t.state == ChargerState.updated for t in r.chargers),
                 "total_s": round(((r.finished_at or 0) - r.created_at) / 1e9, 1)}
    return {"bad": bad, "clean": clean}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--chargers", type=int, default=200)
    ap.add_argument("--speed", type=float, default=600.0)
    ap.add_argument("--effect", default="boot_loop")
    ap.add_argument("--soak", type=float, default=10.0)
    args = ap.parse_args()
    result = run(args.chargers, args.speed, args.effect, args.soak)
    result |= {"chargers": args.chargers, "speed": args.speed, "effect": args.effect,
               "soak_s": args.soak, "bad_model": BAD_MODEL, "waves": "5%,25%,100%"}
    bad, clean = result["bad"], result["clean"]
    report(f"firmware_{args.effect}", result, [
        ("halted in wave / gate", f"{bad['halt_wave']} / {bad['halt_gate']}"),
        ("bad image received", f"{bad['bad_image_received']} (first wave of the bad model: "
                               f"{bad['bad_model_first_wave']})"),
        ("first failure -> halt, s", bad["first_failure_to_halt_s"]),
        ("rolled back share", bad["rolled_back_share"]),
        ("clean rollout total, s", f"{clean['total_s']} ({clean['updated']}/"
                                   f"{clean['chargers']} updated)")])


if __name__ == "__main__":
    main()
