"""Dashboard operators: who may act on chargers from the dashboards (remote stop, reset,
unlock, trigger), each with a password.

Kept in ``<data_dir>/operators.json`` as salted scrypt hashes, saved atomically and 0600 by
the charger credential store's own helpers (``ingest.auth``). Managed by ``chargeline
operators``; read by the dashboards' sign-in. A name that is not registered is checked
against a dummy hash, so a refusal takes as long, and says as little, whichever part was
wrong.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from canonical.errors import ConfigError
from ingest.auth import entry_matches, hashed_entry, saved_entries

OPERATORS_FILE = "operators.json"
MIN_PASSWORD, MAX_PASSWORD = 12, 128
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


def check_name(name: str) -> None:
    """Raise ConfigError unless ``name`` is 1-64 letters, digits, '.', '_', '@', '-'."""
    if not _NAME.fullmatch(name):
        raise ConfigError(f"operator name {name!r}: 1-64 letters, digits, '.', '_', '@', '-', "
                          "starting with a letter or digit")


def check_password(password: str) -> None:
    """Raise ConfigError unless ``password`` is 12-128 printable characters."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters, "
                          f"got {len(password)}")
    if not password.isprintable():
        raise ConfigError("password must be printable characters")


@dataclass
class OperatorStore:
    """The operators of one data dir. Every call reads the file as it is now (it is small,
    and a removal must take effect at the next sign-in)."""

    path: Path
    _dummy: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._dummy = hashed_entry(os.urandom(16).hex())

    @classmethod
    def in_dir(cls, data_dir: str | os.PathLike[str]) -> OperatorStore:
        return cls(Path(data_dir) / OPERATORS_FILE)

    def _entries(self) -> dict[str, dict[str, str]]:
        try:
            entries: dict[str, dict[str, str]] = orjson.loads(self.path.read_bytes())
        except FileNotFoundError:
            return {}
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{self.path} is not valid JSON: {exc}") from None
        return entries

    def names(self) -> list[str]:
        return sorted(self._entries())

    def has(self, name: str) -> bool:
        """True if ``name`` is registered now; False too when the store cannot be read."""
        try:
            return name in self._entries()
        except (OSError, ConfigError):
            return False

    def add(self, name: str, password: str) -> None:
        """Register ``name`` (or change its password)."""
        check_name(name)
        check_password(password)
        entry = hashed_entry(password)
        with saved_entries(self.path) as entries:
            entries[name] = entry

    def remove(self, name: str) -> bool:
        """Forget ``name``; False if it was not registered."""
        with saved_entries(self.path) as entries:
            return entries.pop(name, None) is not None

    def verify(self, name: str, password: str) -> bool:
        """True if ``password`` is ``name``'s. One scrypt whether or not ``name`` exists; an
        unreadable store refuses everyone."""
        try:
            entry = self._entries().get(name)
        except (OSError, ConfigError):
            entry = None
        matches = entry_matches(entry or self._dummy, password)
        return matches and entry is not None
