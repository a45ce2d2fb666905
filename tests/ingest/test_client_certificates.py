"""Security profile 3: TLS client certificates whose commonName is the charge point id."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest

from canonical.enums import RecordKind
from tests.ingest.conftest import journal_records, running_server
from tests.ingest.test_auth import try_connect


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def issue(d: Path, name: str, ca: str, cn: str) -> None:
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={cn}",
            "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))
    ext = d / f"{name}.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / f"{ca}.pem"),
            "-CAkey", str(d / f"{ca}.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(ext), "-out", str(d / f"{name}.pem"))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("pki")
    for ca in ("ca", "rogue"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                f"/CN={ca}", "-keyout", str(d / f"{ca}.key"), "-out", str(d / f"{ca}.pem"))
    issue(d, "server", "ca", "127.0.0.1")
    issue(d, "cp1", "ca", "CP-1")
    issue(d, "rogue1", "rogue", "CP-1")
    return d


def client_context(pki: Path, cert: str | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if cert:
        context.load_cert_chain(pki / f"{cert}.pem", pki / f"{cert}.key")
    return context


def test_profile_3_client_certificates(pki: Path, tmp_path: Path, run: Any) -> None:
    async def attempt(cp_id: str, cert: str | None) -> int | str:
        async with running_server(tmp_path, tls_cert=pki / "server.pem", tls_key=pki / "server.key",
                                  tls_client_ca=pki / "ca.pem") as cs:
            try:
                return await try_connect(cs.port, cp_id, None, client_context(pki, cert))
            except (ssl.SSLError, OSError, EOFError) as exc:
                return f"tls refused ({type(exc).__name__})"
            except Exception as exc:  # websockets wraps some TLS failures
                return f"tls refused ({type(exc).__name__})"

    assert run(attempt("CP-1", "cp1")) == 101
    assert run(attempt("CP-2", "cp1")) == 401  # another charger's certificate
    assert str(run(attempt("CP-1", "rogue1"))).startswith("tls refused")
    assert str(run(attempt("CP-1", None))).startswith("tls refused")
    assert len(journal_records(tmp_path, RecordKind.auth_failed)) == 1
