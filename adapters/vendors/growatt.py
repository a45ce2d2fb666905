"""Growatt THOR (Q1, Q4, Q12, Q26): timestamps without offset (read as UTC and flagged; a
site's zone goes in ``vendors.toml`` as ``utc_offset_minutes``; the flows' drift estimate
catches whole-hour errors), mixed offsets, ``Transaction.Begin`` of 0 as a placeholder mixed
with ``Sample.Periodic`` values, DataTransfer ``data`` as an object (generic reader)."""

from adapters.base import Adapter


class Growatt(Adapter):
    name = "growatt"
    description = "Growatt THOR: Begin=0 placeholder (Q12), offset-less local times (Q1)"
    vendor = r"(?i)growatt"
    begin_zero_is_placeholder = True
