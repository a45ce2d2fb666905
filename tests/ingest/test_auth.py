"""Security profiles 1 and 2: HTTP Basic per charge point, over TLS too."""

from __future__ import annotations

import base64
import ssl
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from canonical.enums import RecordKind
from canonical.errors import ConfigError
from ingest.auth import CredentialStore
from tests.ingest.conftest import journal_records, running_server

PASSWORD = "correct-horse-battery"


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def try_connect(port: int, cp_id: str, headers: dict[str, str] | None,
                      ssl_ctx: ssl.SSLContext | None = None) -> int:
    scheme = "wss" if ssl_ctx else "ws"
    try:
        async with websockets.connect(f"{scheme}://127.0.0.1:{port}/ocpp/{cp_id}",
                                      subprotocols=["ocpp1.6"], additional_headers=headers,
                                      ssl=ssl_ctx) as ws:
            await ws.send('[2,"1","Heartbeat",{}]')
            await ws.recv()
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.fixture
def registered(tmp_path: Path) -> Path:
    CredentialStore.in_dir(tmp_path).add("CP-A", PASSWORD)
    CredentialStore.in_dir(tmp_path).add("CP-B", "another-password-123")
    return tmp_path


@pytest.mark.parametrize("cp_id, headers, require, accept_unknown, status", [
    ("CP-A", basic("CP-A", PASSWORD), False, False, 101),
    ("CP-A", basic("CP-A", "wrong-password-000"), False, False, 401),
    ("CP-A", None, False, False, 401),
    ("CP-A", {"Authorization": "Basic !!notbase64"}, True, False, 401),
    ("CP-A", basic("CP-B", "another-password-123"), True, False, 401),  # another charger's
    ("CP-Z", basic("CP-Z", PASSWORD), True, False, 401),
    ("CP-Z", None, True, True, 101),
    ("CP-Z", None, False, False, 101),
])
def test_basic_auth_verdicts(registered: Path, run: Any, cp_id: str,
                             headers: dict[str, str] | None, require: bool,
                             accept_unknown: bool, status: int) -> None:
    async def scenario() -> int:
        async with running_server(registered, require_auth=require,
                                  accept_unknown=accept_unknown) as cs:
            return await try_connect(cs.port, cp_id, headers)

    assert run(scenario()) == status
    failures = journal_records(registered, RecordKind.auth_failed)
    assert len(failures) == (1 if status == 401 else 0)


def test_refusal_gives_no_hint_which_part_was_wrong(registered: Path, run: Any) -> None:
    async def scenario() -> list[bytes]:
        async with running_server(registered, require_auth=True) as cs:
            bodies = []
            for cp_id, headers in [("CP-A", basic("CP-A", "wrong-password-000")),
                                   ("CP-Q", basic("CP-Q", PASSWORD)), ("CP-A", None)]:
                with pytest.raises(InvalidStatus) as info:
                    async with websockets.connect(f"ws://127.0.0.1:{cs.port}/ocpp/{cp_id}",
                                                  additional_headers=headers):
                        pass
                bodies.append(bytes(info.value.response.body or b""))
            return bodies

    assert len(set(run(scenario()))) == 1


def test_passwords_are_stored_only_as_salted_hashes(registered: Path) -> None:
    text = (registered / "chargers.json").read_text()
    assert PASSWORD not in text
    entries = orjson.loads(text)
    assert entries["CP-A"]["salt"] != entries["CP-B"]["salt"]
    with pytest.raises(ConfigError, match="16-40"):
        CredentialStore.in_dir(registered).add("CP-C", "short")


def test_a_password_ending_in_a_newline_is_refused(tmp_path: Path) -> None:
    """``^...$`` with ``match`` let a final newline through (``$`` matches before it)."""
    with pytest.raises(ConfigError, match="printable"):
        CredentialStore.in_dir(tmp_path).add("CP-C", "correct-horse-battery\n")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
                   check=True, capture_output=True)
    return d / "cert.pem", d / "key.pem"


def test_profile_2_basic_auth_over_tls(registered: Path, run: Any,
                                       certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    trusted = ssl.create_default_context(cafile=str(cert))
    untrusting = ssl.create_default_context()

    async def scenario() -> tuple[int, int, str]:
        async with running_server(registered, require_auth=True, tls_cert=cert,
                                  tls_key=key) as cs:
            ok = await try_connect(cs.port, "CP-A", basic("CP-A", PASSWORD), trusted)
            bad = await try_connect(cs.port, "CP-A", basic("CP-A", "wrong-password-000"), trusted)
            try:
                await try_connect(cs.port, "CP-A", basic("CP-A", PASSWORD), untrusting)
                verdict = "connected"
            except ssl.SSLCertVerificationError:
                verdict = "certificate refused"
            return ok, bad, verdict

    assert run(scenario()) == (101, 401, "certificate refused")
