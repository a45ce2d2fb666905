"""Reading an operator's CSV file for a ``… import FILE.csv`` command: all or nothing, and a
clear error naming the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from canonical.errors import ConfigError

T = TypeVar("T")


def import_csv(path: Path, load: Callable[[IO[str]], T]) -> T:
    """``load`` over ``path`` (UTF-8, a BOM allowed). A missing file, other bytes than UTF-8
    or a ConfigError of ``load`` (which must write nothing when it raises) is a ConfigError
    naming the file and saying nothing was imported."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            return load(f)
    except FileNotFoundError:
        raise ConfigError(f"no such file: {str(path)!r}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 (byte {exc.start})") from None
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}; nothing imported") from None
