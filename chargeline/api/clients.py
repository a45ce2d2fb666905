"""The driver API's clients (a driver app's backend, a partner): one bearer token each.

Kept in ``<data_dir>/api_clients.json`` (0600, saved atomically by ``ingest.auth``'s store
helpers) as the SHA-256 of each token: a token is 32 random bytes, so a plain hash is safe
to keep and cheap to check on every request (a password hash such as scrypt is for secrets
people choose). The file is read again when it changes, so ``chargeline api clients
remove`` takes effect at the next request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from canonical.errors import ConfigError
from ingest.auth import saved_entries

CLIENTS_FILE = "api_clients.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class ClientStore:
    path: Path
    _seen: tuple[int, int] = (0, 0)
    _digests: dict[str, str] = field(default_factory=dict)   # digest -> client name

    @classmethod
    def in_dir(cls, data_dir: Path) -> ClientStore:
        return cls(data_dir / CLIENTS_FILE)

    def add(self, name: str) -> str:
        """A new client; its token (shown once, never stored)."""
        if not _NAME.fullmatch(name):
            raise ConfigError(f"client name {name!r}: 1-64 letters, digits, '.', '_', '@', "
                              "'-', starting with a letter or digit")
        token = secrets.token_urlsafe(32)
        with saved_entries(self.path) as entries:
            if name in entries:
                raise ConfigError(f"client {name!r} exists: remove it first to issue a new "
                                  "token")
            entries[name] = {"algo": "sha256", "hash": _digest(token)}
        return token

    def remove(self, name: str) -> bool:
        with saved_entries(self.path) as entries:
            return entries.pop(name, None) is not None

    def names(self) -> list[str]:
        try:
            return sorted(orjson.loads(self.path.read_bytes()))
        except FileNotFoundError:
            return []

    def client_of(self, token: str) -> str | None:
        """The client a token belongs to, None when it is nobody's."""
        self._refresh()
        digest = _digest(token)
        for known, name in self._digests.items():
            if hmac.compare_digest(known, digest):
                return name
        return None

    def _refresh(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._digests, self._seen = {}, (0, 0)
            return
        if (st.st_mtime_ns, st.st_size) != self._seen:
            entries = orjson.loads(self.path.read_bytes())
            self._digests = {e["hash"]: name for name, e in entries.items()}
            self._seen = (st.st_mtime_ns, st.st_size)
