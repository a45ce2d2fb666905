"""``chargeline dashboard``: the Streamlit app on the warehouse, read-only."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    p = sub.add_parser("dashboard", help="serve the operator dashboards")
    p.add_argument("--data-dir", type=Path, default=Path("data"))
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    app = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
    env = {**os.environ, "CHARGELINE_DATA_DIR": str(args.data_dir.resolve())}
    argv = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
            "--server.address", args.host, "--server.headless", "true",
            "--browser.gatherUsageStats", "false"]
    return subprocess.call(argv, env=env)
