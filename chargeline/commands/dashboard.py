"""``chargeline dashboard``: the Streamlit app on the warehouse, read-only."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from canonical.errors import ConfigError

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"


def register(sub: Any) -> None:
    p = sub.add_parser("dashboard", help="serve the operator dashboards (Streamlit)")
    p.add_argument("--data-dir", type=Path, default=Path("data"),
                   help="the data directory holding warehouse/ (default: ./data)")
    p.add_argument("--port", type=int, default=8501)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.set_defaults(func=run)


def streamlit_argv(data_dir: Path, port: int, host: str) -> list[str]:
    """The ``streamlit run`` command line: headless, no file watching, no telemetry."""
    return [sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", host,
            "--server.headless", "true", "--server.fileWatcherType", "none",
            "--server.runOnSave", "false", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal", "--", "--data-dir", str(data_dir)]


def run(args: argparse.Namespace) -> int:
    """Bring the catalog up to date (views only), then become the Streamlit server (exec, so
    signals reach it directly and stopping this process stops the server)."""
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port} is not a TCP port (1-65535)")
    from warehouse.catalog import ensure

    data_dir = args.data_dir.resolve()
    ensure(data_dir)
    env = {**os.environ, "CHARGELINE_DATA_DIR": str(data_dir)}
    argv = streamlit_argv(data_dir, args.port, args.host)
    os.execve(argv[0], argv, env)
