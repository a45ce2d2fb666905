"""``chargers.json``: registrations made at once all land, and each save is durable and
atomic (issue 15, item 7). Its power-loss rounds are in tests/reliability/test_power_loss.py."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from ingest.auth import CredentialStore

PASSWORD = "correct-horse-battery"


def test_registrations_made_at_once_are_all_kept(tmp_path: Path) -> None:
    ids = [f"CP-{n}" for n in range(8)]
    threads = [threading.Thread(target=CredentialStore.in_dir(tmp_path).add, args=(i, PASSWORD))
               for i in ids]  # a store each, as eight `chargeline chargers add` would have
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    store = CredentialStore.in_dir(tmp_path)
    assert store.ids() == sorted(ids)
    assert all(store.verify(i, PASSWORD) for i in ids)


def test_a_save_is_fsynced_renamed_and_named_durably(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: str, target: str) -> None:
        calls.append(("replace", f"{Path(source).name} -> {Path(target).name}"))
        real_replace(source, target)

    CredentialStore.in_dir(tmp_path).add("CP-0", PASSWORD)  # the file exists before
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    CredentialStore.in_dir(tmp_path).add("CP-1", PASSWORD)
    kinds = [kind for kind, _ in calls]
    assert kinds == ["fsync", "replace", "fsync"], calls
    tmp = calls[1][1].split(" -> ")[0]
    assert calls[0][1] == str(tmp_path / tmp)  # the new bytes are on disk before the rename
    assert calls[1][1].endswith("-> chargers.json")
    assert calls[2][1] == str(tmp_path)  # and the rename is, before add returns
    assert stat.S_IMODE((tmp_path / "chargers.json").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
