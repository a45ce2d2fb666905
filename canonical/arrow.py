"""Arrow schemas built from the record dataclasses, so each record has exactly one definition.

A field typed ``UtcNs`` is an ``int`` of nanoseconds since the epoch (UTC) in Python and an
Arrow ``timestamp[ns, tz=UTC]`` on disk. ``list[str]`` and ``tuple[X, ...]`` become
``list<...>``; a ``StrEnum`` is its string. ``X | None``
is nullable; anything else is not.
"""

from __future__ import annotations

import dataclasses
import itertools
import types
import typing
from collections.abc import Sequence
from enum import StrEnum
from functools import cache
from operator import attrgetter
from typing import Annotated, Any, TypeVar

import pyarrow as pa

SCHEMA_VERSION = 2  # 2: events.value_issue (text) became value_issues (list)

TIMESTAMP_NS = pa.timestamp("ns", tz="UTC")


class _Ns:
    """Marker for ``Annotated[int, _Ns]``."""


UtcNs = Annotated[int, _Ns]

_SCALARS: dict[Any, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
}

R = TypeVar("R")


def _arrow_type(hint: Any) -> tuple[pa.DataType, bool]:
    """Return (arrow type, nullable) for one resolved type hint."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        inner, _ = _arrow_type(args[0])
        return inner, True
    if origin is Annotated:
        return TIMESTAMP_NS, False
    if origin in (list, tuple):
        item = typing.get_args(hint)[0]
        return pa.list_(_arrow_type(item)[0]), False
    if isinstance(hint, type) and issubclass(hint, StrEnum):
        return pa.string(), False
    if hint in _SCALARS:
        return _SCALARS[hint], False
    raise TypeError(f"no Arrow mapping for type hint {hint!r}")


@cache
def schema_of(record_type: type) -> pa.Schema:
    """The Arrow schema of a record dataclass, with the schema version in its metadata."""
    hints = typing.get_type_hints(record_type, include_extras=True)
    fields = []
    for field in dataclasses.fields(record_type):
        arrow_type, nullable = _arrow_type(hints[field.name])
        fields.append(pa.field(field.name, arrow_type, nullable=nullable))
    meta = {b"chargeline.schema_version": str(SCHEMA_VERSION).encode(),
            b"chargeline.record": record_type.__name__.encode()}
    return pa.schema(fields, metadata=meta)


@cache
def _row_type(record_type: type, skip: frozenset[str]) -> tuple[pa.StructType, Any]:
    """The struct of ``record_type``'s fields but ``skip``, and a getter of their values."""
    fields = [f for f in schema_of(record_type) if f.name not in skip]
    return pa.struct(fields), attrgetter(*(f.name for f in fields))


def to_batch(record_type: type, records: Sequence[Any],
             override: dict[str, pa.Array] | None = None) -> pa.RecordBatch:
    """Pack records (instances of ``record_type``) into one record batch of its schema.

    ``override`` gives ready columns by name (e.g. ids assigned at write time), which are
    then not read from the records.

    The rows convert as one struct array, then split into its columns: one conversion call
    instead of one a column (each call has a fixed cost of ~5 µs, which made packing a
    two-frame journal group ~70 µs; now ~30). Ints convert straight to ``timestamp[ns]``
    (read as ns since the epoch): 2.5x faster than int64 and a cast.
    """
    schema = schema_of(record_type)
    override = override or {}
    if not records:
        return pa.RecordBatch.from_arrays([pa.array([], f.type) for f in schema], schema=schema)
    struct, values = _row_type(record_type, frozenset(override))
    if len(struct) == 1:  # attrgetter of one name gives the value, not a 1-tuple
        rows: list[Any] = [(v,) for v in map(values, records)]
    else:
        rows = list(map(values, records))
    columns = iter(pa.array(rows, type=struct).flatten())
    arrays = [override[f.name] if f.name in override else next(columns) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def from_table(record_type: type[R], table: pa.Table | pa.RecordBatch) -> list[R]:
    """Unpack a table or batch of ``record_type``'s schema back into records."""
    columns: dict[str, list[Any]] = {}
    for name in table.schema.names:
        col = table.column(name)
        if col.type == TIMESTAMP_NS or pa.types.is_timestamp(col.type):
            col = col.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
        columns[name] = col.to_pylist()
    names = [f.name for f in dataclasses.fields(record_type)]  # type: ignore[arg-type]
    if not len(table):
        return []
    # Positional, in field order: several times faster than a keyword dict per row.
    return list(itertools.starmap(record_type, zip(*(columns[n] for n in names), strict=True)))
