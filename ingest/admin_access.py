"""Who may use the admin API: the bearer token in ``<data_dir>/admin.token`` (0600), and
where the running API is found: ``<data_dir>/admin.json`` (its URL, the server's pid).

The token is made on the first start; ``chargeline admin rotate-token`` replaces it and the
running server takes the new one at its next request (it rereads the file when it changes).
A token file that group or others may read is refused: the API does not start on it.
"""

from __future__ import annotations

import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from canonical.errors import ConfigError
from ingest.files import OS, make_dir, write_atomically

TOKEN_FILE = "admin.token"
ENDPOINT_FILE = "admin.json"


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / TOKEN_FILE


def endpoint_path(data_dir: Path) -> Path:
    return Path(data_dir) / ENDPOINT_FILE


def rotate_token(data_dir: Path) -> str:
    """A new token, saved (0600, atomically) over the old one."""
    token = secrets.token_urlsafe(32)
    make_dir(OS, Path(data_dir))
    write_atomically(OS, token_path(data_dir), (token + "\n").encode(), mode=0o600)
    return token


def read_token(data_dir: Path) -> str:
    """The token, after checking that only its owner may read it."""
    path = token_path(data_dir)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(f"{path} does not exist: start `chargeline serve` once, or "
                          "`chargeline admin rotate-token`") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"{path} may be read by others (mode {stat.S_IMODE(mode):04o}): "
                          f"chmod 600 it, or `chargeline admin rotate-token`")
    token = path.read_text().strip()
    if not token:
        raise ConfigError(f"{path} is empty: `chargeline admin rotate-token`")
    return token


@dataclass
class TokenCheck:
    """Compares presented bearer tokens with the file's, rereading it when it changes."""

    data_dir: Path
    _version: tuple[int, int, int] | None = None
    _token: bytes = field(default=b"", repr=False)

    def __post_init__(self) -> None:
        if not token_path(self.data_dir).exists():
            rotate_token(self.data_dir)
        self.current()

    def current(self) -> bytes:
        st = token_path(self.data_dir).stat()
        version = (st.st_ino, st.st_mtime_ns, st.st_size)
        if version != self._version:
            self._token = read_token(self.data_dir).encode()
            self._version = version
        return self._token

    def accepts(self, authorization: str | None) -> bool:
        if not authorization or authorization[:7].lower() != "bearer ":
            return False
        try:
            expected = self.current()
        except (OSError, ConfigError):
            return False  # a token file made unreadable or public locks everyone out
        return hmac.compare_digest(authorization[7:].strip().encode(), expected)


def publish_endpoint(data_dir: Path, url: str) -> None:
    data = orjson.dumps({"url": url, "pid": os.getpid()})
    write_atomically(OS, endpoint_path(data_dir), data, mode=0o600)


def withdraw_endpoint(data_dir: Path) -> None:
    path = endpoint_path(data_dir)
    try:
        if orjson.loads(path.read_bytes()).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def find_endpoint(data_dir: Path) -> str:
    """The URL of the admin API of the ``serve`` running on ``data_dir``."""
    path = endpoint_path(data_dir)
    try:
        info = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise ConfigError(f"no admin API found in {data_dir} (is `chargeline serve` "
                          "running on it, with its admin API on?)") from None
    except orjson.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON: {exc}") from None
    pid = info.get("pid")
    if isinstance(pid, int) and not _alive(pid):
        raise ConfigError(f"the serve that wrote {path} (pid {pid}) is not running")
    return str(info["url"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
