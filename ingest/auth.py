"""Charge point credentials (OCPP security profiles 1 and 2: HTTP Basic auth).

Passwords are stored only as salted scrypt hashes in ``<data-dir>/chargers.json``. OCPP's rules:
the user name is the charge point id; the password is 16 to 40 printable ASCII characters
(OCPP 1.6 security whitepaper, OCPP 2.0.1 ``BasicAuthPassword``). Where an unknown id would be
refused, it is checked against a dummy hash, so refusing it takes as long as refusing a wrong
password; where unknown ids are let in anyway (auth off, ``accept_unknown``), nothing is hashed:
the answer (101 against 401) tells more than any timing could.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import orjson

from canonical.errors import ConfigError
from ingest.files import OS, exclusive, make_dir, write_atomically

MIN_PASSWORD, MAX_PASSWORD = 16, 40
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


class Verdict(StrEnum):
    accepted = "accepted"
    unknown_accepted = "unknown_accepted"
    refused = "refused"


def check_password(password: str) -> None:
    """Raise ConfigError unless ``password`` follows OCPP's BasicAuthPassword rules."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ConfigError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters, "
                          f"got {len(password)}")
    if not _PRINTABLE.fullmatch(password):
        raise ConfigError("password must be printable ASCII without spaces")


def _hash(password: str, salt: bytes) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, maxmem=64 * 1024 * 1024, **_SCRYPT)


def hashed_entry(password: str) -> dict[str, str]:
    """What a store keeps of a password: a fresh 16-byte salt and its scrypt hash, as hex."""
    salt = os.urandom(16)
    return {"algo": "scrypt", "salt": salt.hex(), "hash": _hash(password, salt).hex()}


def entry_matches(entry: dict[str, str], password: str) -> bool:
    """True if ``password`` is the one ``entry`` (``hashed_entry``) was made from.
    Constant-time in the password; one scrypt whatever the answer."""
    return hmac.compare_digest(_hash(password, bytes.fromhex(entry["salt"])),
                               bytes.fromhex(entry["hash"]))


@contextlib.contextmanager
def saved_entries(path: Path) -> Iterator[dict[str, dict[str, str]]]:
    """The entries of the JSON store at ``path`` as on disk now (none if it does not exist),
    to change; saved on exit. Under ``<path>.lock``, so two writers at once both land (each
    reads what the other wrote); saved atomically and durably, 0600
    (``ingest.files.write_atomically``: a power loss leaves the old file or the new, never
    an empty one). Nothing is saved if the block raises."""
    make_dir(OS, path.parent)
    with exclusive(OS, path):
        try:
            entries: dict[str, dict[str, str]] = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            entries = {}
        yield entries
        data = orjson.dumps(entries, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS)
        write_atomically(OS, path, data, mode=0o600)


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` header, or None if malformed."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


@dataclass
class CredentialStore:
    """The registered charge points of one data dir. Reloads the file when it changes."""

    path: Path

    def __post_init__(self) -> None:
        self._entries: dict[str, dict[str, str]] = {}
        self._version: tuple[int, int, int] | None = None
        self._dummy_salt = os.urandom(16)
        self._dummy = _hash("x" * MIN_PASSWORD, self._dummy_salt)
        self._verified: dict[tuple[str, bytes], bool] = {}

    @classmethod
    def in_dir(cls, data_dir: str | os.PathLike[str]) -> CredentialStore:
        return cls(Path(data_dir) / "chargers.json")

    def _load(self) -> dict[str, dict[str, str]]:
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._entries, self._version = {}, None
            return self._entries
        # Every save is a new file (renamed over): its inode changes even when two saves
        # fall within one tick of the file system's clock.
        version = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if version != self._version:
            self._entries = orjson.loads(self.path.read_bytes())
            self._version = version
            self._verified.clear()
        return self._entries

    def ids(self) -> list[str]:
        return sorted(self._load())

    def is_registered(self, charge_point_id: str) -> bool:
        return charge_point_id in self._load()

    def add(self, charge_point_id: str, password: str) -> None:
        check_password(password)
        entry = hashed_entry(password)
        with self._saving() as entries:
            entries[charge_point_id] = entry

    def remove(self, charge_point_id: str) -> bool:
        with self._saving() as entries:
            return entries.pop(charge_point_id, None) is not None

    @contextlib.contextmanager
    def _saving(self) -> Iterator[dict[str, dict[str, str]]]:
        """The entries as on disk now, to change (``saved_entries``: two ``chargeline
        chargers add`` at once both land); the next read reloads them."""
        with saved_entries(self.path) as entries:
            self._version = None
            yield entries

    def verified_before(self, charge_point_id: str, password: str) -> bool:
        """True if this very password was verified for this id since the file last changed:
        a reconnecting charger is let in without scrypt (a SHA-256, microseconds)."""
        return (charge_point_id, _attempt(password)) in self._verified

    def verify(self, charge_point_id: str, password: str) -> bool:
        """True if the password is this charge point's. Constant-time; unknown ids are False."""
        entry = self._load().get(charge_point_id)
        attempt = _attempt(password)
        cached = self._verified.get((charge_point_id, attempt))
        if cached is not None:
            return cached
        if entry is None:
            hmac.compare_digest(_hash(password, self._dummy_salt), self._dummy)
            return False
        ok = entry_matches(entry, password)
        if ok:
            self._verified[(charge_point_id, attempt)] = True
        return ok


@dataclass(frozen=True)
class AuthPolicy:
    """``require_auth``: unknown charge points are refused unless ``accept_unknown``.

    A registered charge point must always present its password, whatever the policy.
    """

    require_auth: bool = False
    accept_unknown: bool = False

    @property
    def refuses_unknown(self) -> bool:
        return self.require_auth and not self.accept_unknown

    def judge_at_once(self, store: CredentialStore, charge_point_id: str,
                      authorization: str | None) -> Verdict | None:
        """The verdict when it needs no scrypt, else None (then ``judge``, off the event loop).

        No hash: no credentials; an unknown id this policy lets in; a password verified before
        under its own id. Whatever is refused here is refused as fast for a known id as for an
        unknown one, so the time of a refusal still tells nothing.
        """
        creds = parse_basic(authorization)
        if creds is None:
            return Verdict.refused if store.is_registered(charge_point_id) \
                or self.refuses_unknown else Verdict.unknown_accepted
        if not store.is_registered(charge_point_id):
            return None if self.refuses_unknown else Verdict.unknown_accepted
        if creds[0] == charge_point_id and store.verified_before(charge_point_id, creds[1]):
            return Verdict.accepted
        return None

    def judge(self, store: CredentialStore, charge_point_id: str,
              authorization: str | None) -> Verdict:
        creds = parse_basic(authorization)
        if store.is_registered(charge_point_id):
            if creds is None:
                return Verdict.refused
            # The password is hashed even under another user name: a refusal that skipped
            # scrypt would be fast only for ids that exist (an unknown id is hashed below).
            verified = store.verify(charge_point_id, creds[1])
            return Verdict.accepted if verified and creds[0] == charge_point_id \
                else Verdict.refused
        if not self.refuses_unknown:
            return Verdict.unknown_accepted  # let in whatever it sends: nothing to hide
        if creds is not None:
            store.verify(charge_point_id, creds[1])  # same cost as a registered id
        return Verdict.refused


def _attempt(password: str) -> bytes:
    return hashlib.sha256(password.encode("utf-8", "surrogatepass")).digest()
