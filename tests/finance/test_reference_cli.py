"""``chargeline tariffs`` and ``chargeline sites`` as a user runs them: bad or hostile input is
refused with a message naming the line and value, and nothing is half-written."""

from __future__ import annotations

from pathlib import Path

import pytest

from canonical.sites import SITE_FIELDS
from canonical.tariffs import TARIFF_FIELDS
from chargeline.cli import main
from tests.finance.conftest import chargeline

GOOD_TARIFF = "T1,default,,2026-01-01,,EUR,21,0.39,23:00-07:00=0.25,,,,0.35"
GOOD_SITE = ("S1,Harbour,Kaai 2,Antwerpen,2000,BEL,51.21989,4.40346,Europe/Brussels,"
             "CP1 CP2,,,,,")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The CLI in this process (the parametrized cases; one subprocess costs ~1 s)."""
    code = main(list(args))
    return code, capsys.readouterr().err


def csv_file(path: Path, header: tuple[str, ...], *lines: str) -> Path:
    path.write_text(",".join(header) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize(("bad_line", "says"), [
    ('"T2\x07",default,,2026-01-01,,EUR,21,0.39,,,,,', "tariff id must be"),
    ("T2,default,,2026-01-01,,EUR,21,NaN,,,,,", "energy_per_kwh must be"),
    ("T2,charger,../../etc,2026-01-01,,EUR,21,0.39,,,,,", "charge point id must be"),
    ("T2,site,=HYPERLINK(1),2026-01-01,,EUR,21,0.39,,,,,", "site id must be"),
    ("T2,default,,2026-01-01,,JPY,21,0.39,,,,,", "does not have the cent"),
    ("T2,default,,2026-01-01,2025-01-01,EUR,21,0.39,,,,,", "is not after valid_from"),
    ("T2,default,,2026-01-01,,EUR,21,0.39,07:00-09:00=0.3;08:00-10:00=0.4,,,,", "overlap"),
    ("T9,default,,2026-01-01,,EUR,21,0.39,,,,,", "already has tariff 'T1'"),
])
def test_a_bad_tariff_line_imports_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           bad_line: str, says: str) -> None:
    data = str(tmp_path / "data")
    good = csv_file(tmp_path / "ok.csv", TARIFF_FIELDS, GOOD_TARIFF)
    assert run(capsys, "tariffs", "import", str(good), "--data-dir", data)[0] == 0
    before = (tmp_path / "data" / "tariffs.parquet").read_bytes()
    bad = csv_file(tmp_path / "bad.csv", TARIFF_FIELDS, GOOD_TARIFF, bad_line)
    code, err = run(capsys, "tariffs", "import", str(bad), "--data-dir", data)
    assert code == 2
    assert says in err and "nothing imported" in err, err
    assert "line 3" in err or "T9" in bad_line, err
    assert (tmp_path / "data" / "tariffs.parquet").read_bytes() == before


@pytest.mark.parametrize(("bad_line", "says"), [
    ("S2,\"Evil\x1b[31m\",Kaai,Antwerpen,,BEL,51.21989,4.40346,UTC,CP9,,,,,", "printable"),
    ("S2,=cmd|' /C calc'!A0,Kaai,Antwerpen,,BEL,51.21989,4.40346,UTC,CP9,,,,,", "formula"),
    ("S2,Name," + "x" * 46 + ",Antwerpen,,BEL,51.21989,4.40346,UTC,CP9,,,,,", "at most 45"),
    ("S2,Name,Kaai,Antwerpen,,BE,51.21989,4.40346,UTC,CP9,,,,,", "alpha-3"),
    ("S2,Name,Kaai,Antwerpen,,BEL,51.2,4.40346,UTC,CP9,,,,,", "latitude"),
    ("S2,Name,Kaai,Antwerpen,,BEL,51.21989,4.40346,Mars/Olympus,CP9,,,,,", "time zone"),
    ("S2,Name,Kaai,Antwerpen,,BEL,51.21989,4.40346,UTC,CP1,,,,,", "in site 'S1' already"),
    ("S2,Name,Kaai,Antwerpen,,BEL,51.21989,4.40346,UTC,CP9,HDMI,,,,", "connector standard"),
])
def test_a_bad_site_line_imports_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                         bad_line: str, says: str) -> None:
    data = str(tmp_path / "data")
    good = csv_file(tmp_path / "ok.csv", SITE_FIELDS, GOOD_SITE)
    assert run(capsys, "sites", "import", str(good), "--data-dir", data)[0] == 0
    before = (tmp_path / "data" / "sites.parquet").read_bytes()
    bad = csv_file(tmp_path / "bad.csv", SITE_FIELDS, GOOD_SITE, bad_line)
    code, err = run(capsys, "sites", "import", str(bad), "--data-dir", data)
    assert code == 2
    assert says in err and "nothing imported" in err, err
    assert "line 3" in err or "already" in says, err
    assert (tmp_path / "data" / "sites.parquet").read_bytes() == before


def test_versions_number_up_and_the_list_imports_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = str(tmp_path / "data")
    chargeline("tariffs", "add", "T1", "--valid-from", "2026-01-01", "--vat", "21",
               "--energy", "0.39", "--band", "23:00-07:00=0.25", "--data-dir", data)
    code, err = run(capsys, "tariffs", "add", "T1", "--valid-from",
                    "2026-02-01T00:00:00+01:00", "--vat", "21", "--energy", "0.41", "--idle",
                    "6", "--idle-grace", "30", "--data-dir", data)
    assert (code, err.strip()) == (0, "tariff T1 version 2")
    listed = chargeline("tariffs", "list", "--csv", "--data-dir", data).stdout
    (tmp_path / "again.csv").write_text(listed)
    other = str(tmp_path / "other")
    assert run(capsys, "tariffs", "import", str(tmp_path / "again.csv"), "--data-dir",
               other)[0] == 0
    assert main(["tariffs", "list", "--csv", "--data-dir", other]) == 0
    assert capsys.readouterr().out == listed
    assert "2026-01-31T23:00:00+00:00" in listed and "23:00-00:00=0.2500" in listed
    code, err = run(capsys, "tariffs", "add", "T1", "--scope", "charger", "--scope-id", "CP1",
                    "--valid-from", "2026-03-01", "--vat", "21", "--data-dir", data)
    assert code == 2 and "cannot move it" in err
