"""The operator store and ``chargeline operators``: salted scrypt, 0600, atomic; a refusal
says nothing of which part was wrong."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from canonical.errors import ConfigError
from chargeline.cli import main
from chargeline.operators import OPERATORS_FILE, OperatorStore

PASSWORD = "long-enough-secret"


def test_an_operator_signs_in_with_their_password_only(tmp_path: Path) -> None:
    store = OperatorStore.in_dir(tmp_path)
    store.add("alice", PASSWORD)
    store.add("bob", "another-long-secret")
    assert store.verify("alice", PASSWORD)
    assert not store.verify("alice", "another-long-secret")
    assert not store.verify("carol", PASSWORD)
    assert not store.verify("ALICE", PASSWORD)
    assert store.names() == ["alice", "bob"]


def test_the_file_holds_salted_hashes_only_readable_by_its_owner(tmp_path: Path) -> None:
    store = OperatorStore.in_dir(tmp_path)
    store.add("alice", PASSWORD)
    store.add("bob", PASSWORD)
    path = tmp_path / OPERATORS_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert PASSWORD not in path.read_text()
    entries = orjson.loads(path.read_bytes())
    assert entries["alice"]["algo"] == "scrypt"
    assert entries["alice"]["salt"] != entries["bob"]["salt"]
    assert entries["alice"]["hash"] != entries["bob"]["hash"]
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_a_removed_operator_can_no_longer_sign_in(tmp_path: Path) -> None:
    store = OperatorStore.in_dir(tmp_path)
    store.add("alice", PASSWORD)
    assert OperatorStore.in_dir(tmp_path).remove("alice")
    assert not store.verify("alice", PASSWORD)
    assert not store.remove("alice")


@pytest.mark.parametrize(("name", "password", "message"), [
    ("alice", "short", "12-128 characters"),
    ("alice", "long-enough\nsecret", "printable"),
    ("", PASSWORD, "operator name"),
    ("a b", PASSWORD, "operator name"),
    ("-alice", PASSWORD, "operator name")])
def test_bad_names_and_passwords_are_refused_and_nothing_changes(
        tmp_path: Path, name: str, password: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        OperatorStore.in_dir(tmp_path).add(name, password)
    assert not (tmp_path / OPERATORS_FILE).exists()


def test_no_store_and_a_broken_store_let_nobody_in(tmp_path: Path) -> None:
    store = OperatorStore.in_dir(tmp_path)
    assert not store.verify("alice", PASSWORD) and store.names() == []
    (tmp_path / OPERATORS_FILE).write_text("{not json")
    assert not store.verify("alice", PASSWORD)


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert main(["operators", "add", "alice", "--password", PASSWORD, *data]) == 0
    assert main(["operators", "add", "bob", "--password", "x", *data]) == 2
    assert main(["operators", "list", *data]) == 0
    assert capsys.readouterr().out == "alice\n"
    assert main(["operators", "remove", "alice", *data]) == 0
    assert main(["operators", "remove", "alice", *data]) == 2
    err = capsys.readouterr().err
    assert "'alice' is not registered" in err and PASSWORD not in err
    assert OperatorStore.in_dir(tmp_path).names() == []
