"""A client of the admin API of the ``serve`` running on a data dir (found through
``<data_dir>/admin.json``, authorized by ``<data_dir>/admin.token``). Used by ``chargeline
send``, ``chargeline tokens push``, the dashboard's operator actions and the recovery agent."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from canonical.commands import CommandOrigin
from canonical.errors import ChargelineError
from ingest.admin_access import find_endpoint, read_token


class AdminUnavailable(ChargelineError):
    """The admin API cannot be reached or refused the request; the message says why."""


@dataclass(frozen=True)
class AdminClient:
    url: str
    token: str

    @classmethod
    def of(cls, data_dir: Path) -> AdminClient:
        return cls(find_endpoint(data_dir), read_token(data_dir))

    def chargers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/chargers")
        return result

    def commands(self, charge_point_id: str | None = None,
                 limit: int = 50) -> list[dict[str, Any]]:
        query = {"limit": str(limit)} | ({"charge_point_id": charge_point_id}
                                         if charge_point_id else {})
        result: list[dict[str, Any]] = self._request(
            "GET", "/commands?" + urllib.parse.urlencode(query))
        return result

    def send(self, charge_point_id: str, action: str, payload: dict[str, Any],
             timeout_s: float = 30.0, *, origin: CommandOrigin = CommandOrigin.cli,
             requested_by: str = "", session_id: str | None = None,
             transaction_id: str | None = None) -> dict[str, Any]:
        """The command's record (``canonical.commands.CommandRecord`` as JSON)."""
        body = {"action": action, "payload": payload, "timeout_s": timeout_s,
                "origin": origin.value, "requested_by": requested_by,
                "session_id": session_id, "transaction_id": transaction_id}
        path = f"/chargers/{urllib.parse.quote(charge_point_id, safe='')}/commands"
        result: dict[str, Any] = self._request("POST", path, body, timeout_s + 10)
        return result

    def upload_slot(self, charge_point_id: str) -> str:
        return str(self._request("POST", "/uploads", {"charge_point_id": charge_point_id})["url"])

    def _request(self, method: str, path: str, body: Any = None, timeout_s: float = 10) -> Any:
        data = None if body is None else orjson.dumps(body)
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout_s) as response:
                return orjson.loads(response.read())
        except urllib.error.HTTPError as exc:
            try:
                reason = orjson.loads(exc.read()).get("error", exc.reason)
            except (orjson.JSONDecodeError, AttributeError):
                reason = exc.reason
            raise AdminUnavailable(f"admin API answered {exc.code}: {reason}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise AdminUnavailable(f"admin API at {self.url} unreachable: "
                                   f"{getattr(exc, 'reason', exc)}") from None
