"""The authorization list: the id tokens the central system knows, in ``<data-dir>/tokens.json``.

Each token is an id (a 1.6 idTag is at most 20 characters, a 2.0.1 idToken at most 36; both are
OCPP CiStrings: printable ASCII, compared without regard to case), its 2.0.1 type, a status
(``TokenStatus``), an optional expiry (UTC: an Accepted token past it answers Expired) and an
optional parent id (1.6 parentIdTag, 2.0.1 groupIdToken). The list has a ``version``, one more
on every change, that ``SendLocalList`` hands to chargers.

The file is saved as ``chargers.json`` is (``ingest.auth``): under a lock file, atomically and
durably, mode 0600; a running server reads it again when it changes, so an edit takes effect
at the next Authorize without a restart. Everything read or written is checked here first: a
hostile or mistyped id, status, type or date is refused with a ``ConfigError`` naming it.
"""

from __future__ import annotations

import contextlib
import csv
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import orjson
from ocpp.v201.enums import IdTokenEnumType

from canonical.enums import TokenStatus
from canonical.errors import ConfigError
from ingest.files import OS, exclusive, make_dir, write_atomically

log = logging.getLogger("chargeline.ingest")
MAX_ID_16, MAX_ID = 20, 36  # CiString20Type (1.6 idTag), CiString36Type (2.0.1 idToken)
_ID = re.compile(r"[\x21-\x7e]+")  # printable ASCII; a space would hide in a CSV or a list
TokenType = IdTokenEnumType  # the 2.0.1 wire values, as the ocpp library spells them
_FIELDS = ("id_token", "status", "expiry", "parent_id", "type")
_EPOCH, _US = datetime(1970, 1, 1, tzinfo=UTC), timedelta(microseconds=1)


class UnknownTokens(StrEnum):
    """What a token not on the list gets: ``accept`` (as if the list were absent) or
    ``reject`` (1.6 ``Invalid``, 2.0.1 ``Unknown``)."""

    accept = "accept"
    reject = "reject"


@dataclass(frozen=True, slots=True)
class Token:
    """One entry of the list. ``expiry`` is UTC; build it with ``parse_token`` to check it."""

    id_token: str
    type: IdTokenEnumType = IdTokenEnumType.iso14443
    status: TokenStatus = TokenStatus.accepted
    expiry: datetime | None = None
    parent_id: str | None = None

    @property
    def key(self) -> str:
        """CiString: ``abc`` and ``ABC`` are one token."""
        return self.id_token.lower()

    def status_at(self, now_ns: int) -> TokenStatus:
        """The status now: Accepted becomes Expired once ``expiry`` has passed."""
        if self.status is TokenStatus.accepted and self.expiry is not None \
                and now_ns >= (self.expiry - _EPOCH) // _US * 1000:
            return TokenStatus.expired
        return self.status

    def to_json(self) -> dict[str, Any]:
        return {"id_token": self.id_token, "type": self.type.value, "status": self.status.value,
                "expiry": None if self.expiry is None else wire_time(self.expiry),
                "parent_id": self.parent_id}


def wire_time(at: datetime) -> str:
    """UTC in the form OCPP dateTimes take (``2026-01-01T00:00:00Z``)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def check_id(value: str, what: str = "token id") -> str:
    """``value`` if it is a valid id (1 to 36 printable ASCII characters), else ConfigError."""
    if not 1 <= len(value) <= MAX_ID:
        raise ConfigError(f"{what} must be 1-{MAX_ID} characters, got {len(value)}: "
                          f"{value[:40]!r}")
    if not _ID.fullmatch(value):
        raise ConfigError(f"{what} must be printable ASCII without spaces or control "
                          f"characters: {value[:40]!r}")
    return value


def parse_status(text: str | None) -> TokenStatus:
    if not text:
        return TokenStatus.accepted
    for status in TokenStatus:
        if text.lower() == status.value.lower():
            return status
    raise ConfigError(f"unknown status {text[:40]!r}; valid: "
                      f"{', '.join(s.value for s in TokenStatus)}")


def parse_type(text: str | None) -> IdTokenEnumType:
    if not text:
        return IdTokenEnumType.iso14443
    for kind in IdTokenEnumType:
        if text.lower() == kind.value.lower():
            return kind
    raise ConfigError(f"unknown token type {text[:40]!r}; valid: "
                      f"{', '.join(t.value for t in IdTokenEnumType)}")


def parse_expiry(text: str | None) -> datetime | None:
    """An ISO 8601 date-time with its offset (``Z`` or ``+02:00``), as UTC; None if empty."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"expiry {text[:40]!r} is not an ISO 8601 date-time "
                          "(e.g. 2026-12-31T23:59:59Z)") from None
    if at.tzinfo is None:
        raise ConfigError(f"expiry {text[:40]!r} has no UTC offset (add Z or +HH:MM)")
    return at.astimezone(UTC)


def parse_token(id_token: str, status: str | None = None, expiry: str | None = None,
                parent_id: str | None = None, token_type: str | None = None) -> Token:
    """A checked ``Token`` from text as a user or a file gives it; ConfigError names the bad
    value. Empty optional fields take their defaults (Accepted, ISO14443, no expiry)."""
    return Token(check_id(id_token), parse_type(token_type), parse_status(status),
                 parse_expiry(expiry), check_id(parent_id, "parent id") if parent_id else None)


def _token_of(entry: Any) -> Token:
    if not isinstance(entry, dict) or not isinstance(entry.get("id_token"), str) \
            or any(not isinstance(entry.get(f), str | None) for f in _FIELDS):
        raise ConfigError(f"entry {str(entry)[:80]!r} is not an object of text fields "
                          f"{', '.join(_FIELDS)}")
    return parse_token(entry["id_token"], entry.get("status"), entry.get("expiry"),
                       entry.get("parent_id"), entry.get("type"))


CSV_HEADER = ",".join(_FIELDS)


def tokens_from_csv(lines: Iterable[str]) -> list[Token]:
    """The tokens of a CSV file (header ``id_token,status,expiry,parent_id,type``; empty
    fields take their defaults), every line checked: ConfigError naming the line and its bad
    value at the first bad one, so a caller writes all or nothing."""
    rows = csv.reader(lines, strict=True)
    try:
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != list(_FIELDS):
            raise ConfigError(f"line 1: header must be {CSV_HEADER!r}, got "
                              f"{','.join(header or [])[:80]!r}")
        return _checked_rows(rows)
    except csv.Error as exc:
        raise ConfigError(f"line {rows.line_num}: {exc}") from None


def _checked_rows(rows: Any) -> list[Token]:
    seen: dict[str, int] = {}
    tokens: list[Token] = []
    for row in rows:
        if not row:
            continue
        line = rows.line_num
        if len(row) != len(_FIELDS):
            raise ConfigError(f"line {line}: expected {len(_FIELDS)} fields "
                              f"({CSV_HEADER}), got {len(row)}: {','.join(row)[:80]!r}")
        try:
            token = parse_token(row[0], row[1], row[2], row[3], row[4])
        except ConfigError as exc:
            raise ConfigError(f"line {line}: {exc}") from None
        if token.key in seen:
            raise ConfigError(f"line {line}: token {token.id_token!r} already on line "
                              f"{seen[token.key]}")
        seen[token.key] = line
        tokens.append(token)
    return tokens


@dataclass(frozen=True, slots=True)
class TokenList:
    """The list as one version of the file holds it; ``tokens`` by ``Token.key``."""

    version: int = 0
    tokens: dict[str, Token] = field(default_factory=dict)

    @classmethod
    def from_bytes(cls, data: bytes) -> TokenList:
        """The list in ``data`` (the file's JSON), every entry checked; ConfigError if not."""
        try:
            doc = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"not JSON: {exc}") from None
        if not isinstance(doc, dict) or type(doc.get("version")) is not int \
                or not isinstance(doc.get("tokens"), list) or doc["version"] < 0:
            raise ConfigError('expected {"version": <int >= 0>, "tokens": [...]}')
        tokens: dict[str, Token] = {}
        for entry in doc["tokens"]:
            token = _token_of(entry)
            if token.key in tokens:
                raise ConfigError(f"token {token.id_token!r} is listed twice")
            tokens[token.key] = token
        return cls(doc["version"], tokens)

    def parent_of(self, token: Token) -> Token | None:
        """``token``'s parent: its entry when listed, else a ``Central`` token of its id (a
        group id is usually one the CSMS made up)."""
        if token.parent_id is None:
            return None
        return self.tokens.get(token.parent_id.lower()) or Token(
            token.parent_id, IdTokenEnumType.central)

    def to_bytes(self) -> bytes:
        entries = [t.to_json() for _, t in sorted(self.tokens.items())]
        return orjson.dumps({"version": self.version, "tokens": entries},
                            option=orjson.OPT_INDENT_2)


@dataclass
class TokenStore:
    """The authorization list of one data dir. Reads the file again when it changes."""

    path: Path

    def __post_init__(self) -> None:
        self._list = TokenList()
        self._seen: tuple[int, int, int] | None = None

    @classmethod
    def in_dir(cls, data_dir: str | Path) -> TokenStore:
        return cls(Path(data_dir) / "tokens.json")

    def read(self) -> TokenList:
        """The list as on disk now; ConfigError (naming the file) if it is not valid."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._list, self._seen = TokenList(), None
            return self._list
        # Every save is a new file (renamed over): its inode changes even when two saves
        # fall within one tick of the file system's clock.
        seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._seen = seen
            try:
                self._list = TokenList.from_bytes(self.path.read_bytes())
            except ConfigError as exc:
                raise ConfigError(f"{self.path}: {exc}") from None
        return self._list

    def current(self) -> TokenList:
        """As ``read``, for a running server: a file made invalid (a hand edit half done) is
        logged once and the last valid list kept, so chargers are answered meanwhile."""
        try:
            return self.read()
        except ConfigError as exc:
            log.error("authorization list not reloaded, the previous one stays: %s", exc)
            return self._list

    def add(self, token: Token) -> None:
        """Add ``token``, or replace the one with its id."""
        self.put([token])

    def put(self, tokens: Iterable[Token]) -> int:
        """Add or replace ``tokens`` in one change (one new version); their count."""
        count = 0
        with self._saving() as entries:
            for token in tokens:
                entries[token.key] = token
                count += 1
        return count

    def remove(self, id_token: str) -> bool:
        with self._saving() as entries:
            return entries.pop(id_token.lower(), None) is not None

    @contextlib.contextmanager
    def _saving(self) -> Iterator[dict[str, Token]]:
        """The entries as on disk now, to change; saved on exit with the version one up if
        they changed. Under ``tokens.json.lock``, atomically and durably (see ``ingest.auth``)."""
        make_dir(OS, self.path.parent)
        with exclusive(OS, self.path):
            self._seen = None
            current = self.read()
            entries = dict(current.tokens)
            yield entries
            if entries == current.tokens:
                return
            saved = TokenList(current.version + 1, entries)
            write_atomically(OS, self.path, saved.to_bytes(), mode=0o600)


@dataclass(frozen=True, slots=True)
class TokenAnswer:
    """The list's word on one presented token. ``status`` None: not on the list and refused
    by the policy (each protocol names that its own way). ``parent`` is the parent's entry
    when the list holds it, else a ``Central`` token of the parent id."""

    status: TokenStatus | None
    expiry: datetime | None = None
    parent: Token | None = None


_ACCEPTED, _EMPTY = TokenAnswer(TokenStatus.accepted), TokenList()


@dataclass(frozen=True)
class TokenPolicy:
    """The list (None: no list, everything Accepted, as before lists existed) and what a
    token not on it gets."""

    store: TokenStore | None = None
    unknown: UnknownTokens = UnknownTokens.accept

    def judge(self, id_token: str, token_type: str | None, now_ns: int) -> TokenAnswer:
        """The answer for ``id_token`` at ``now_ns`` (server UTC). ``token_type`` is the 2.0.1
        type, which must match the entry's; None (1.6) matches any. A 2.0.1 token of type
        ``NoAuthorization`` names nobody: unless listed, it is Accepted whatever the policy
        (the station was set to charge without authorization)."""
        tokens = self.store.current() if self.store is not None else _EMPTY
        token = tokens.tokens.get(id_token.lower())
        if token is not None and token_type is not None and token.type.value != token_type:
            token = None
        if token is None:
            free = token_type == IdTokenEnumType.no_authorization.value
            return _ACCEPTED if self.unknown is UnknownTokens.accept or free else \
                TokenAnswer(None)
        return TokenAnswer(token.status_at(now_ns), token.expiry, tokens.parent_of(token))


ACCEPT_ALL = TokenPolicy()
