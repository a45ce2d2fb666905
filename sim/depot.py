"""A file depot on 127.0.0.1 for simulated chargers (tests and benchmarks): ``GET`` any path
is a small firmware image (404 for a path containing ``missing``, to make a download fail);
``PUT`` keeps the body by path (the chargers' diagnostics and log uploads)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FileDepot:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                files[self.path] = self.rfile.read(int(self.headers["Content-Length"]))
                self.send_response(201)
                self.end_headers()

            def do_GET(self) -> None:
                body = b"" if "missing" in self.path else b"firmware image " + self.path.encode()
                self.send_response(404 if not body else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
