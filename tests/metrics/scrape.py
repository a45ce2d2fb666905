"""Scraping ``/metrics`` as Prometheus does (a plain HTTP GET) and reading the samples back
with ``prometheus_client``'s own parser."""

from __future__ import annotations

import asyncio
import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


class Scrape:
    """One scrape: its families and samples, by name."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples: list[Sample] = [s for f in self.families.values() for s in f.samples]

    def value(self, name: str, **labels: str) -> float:
        """The one sample ``name`` with exactly ``labels``; 0 if there is none (a counter
        not incremented yet)."""
        found = [s.value for s in self.samples if s.name == name and s.labels == labels]
        assert len(found) <= 1, (name, labels, found)
        return found[0] if found else 0.0

    def labels(self, name: str, label: str) -> set[str]:
        return {s.labels[label] for s in self.samples if s.name == name}


async def scrape_async(port: int, path: str = "/metrics",
                       headers: dict[str, str] | None = None) -> tuple[int, str]:
    """(status, body) of a GET on 127.0.0.1:``port``, from inside an event loop."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode()


async def metrics_of(port: int) -> Scrape:
    status, body = await scrape_async(port)
    assert status == 200, body
    return Scrape(body)


def scrape(port: int, headers: dict[str, str] | None = None) -> Scrape:
    """A scrape with a plain blocking HTTP client (for servers in other processes)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics", headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/plain")
        return Scrape(response.read().decode())
