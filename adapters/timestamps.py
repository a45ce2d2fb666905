"""Charger timestamps → UTC nanoseconds, parsed faithfully, every repair named.

``parse_charger_time(value, local_offset_min)`` returns ``(charger_at, issue)``:

=================================  ===================  ==================================
sent                               charger_at           timestamp_issues
=================================  ===================  ==================================
``2024-04-26T14:35:02Z``           as sent              None
``2024-04-26T14:35:02+10:00``      converted to UTC     ``non_utc_offset`` (Q4)
``2024-04-26T14:35:02+02``         converted to UTC     ``short_offset`` (Q2)
``2023-10-19T15:28:07`` (Q1)       read as UTC          ``no_offset_assumed_utc``
 … with an adapter zone            read in that zone    ``no_offset_assumed_local``
``1970-01-01T00:00:00.740Z`` (Q5)  None                 ``pre_sync_1970``
year before 2000, after 2100       None                 ``implausible_year``
absent / not a time                None                 ``missing`` / ``unparseable``
=================================  ===================  ==================================

A 1970 time is a clock that never synced (uptime counted from the epoch), not a time: the
flows fall back to the server receive time. Drift is not judged here (the flows do that).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from canonical.enums import TimestampIssue

_TIME = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})[Tt ](\d{1,2}):(\d{2})(?::(\d{2}))?(?:[.,](\d+))?"
    r"\s*(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?\s*"
)
_EPOCH_ORDINAL = datetime(1970, 1, 1).toordinal()  # noqa: DTZ001 - a date, not a moment
_NS = 1_000_000_000


def parse_charger_time(value: Any, local_offset_min: int | None = None
                       ) -> tuple[int | None, TimestampIssue | None]:
    """(UTC ns or None, issue or None) for a charger's timestamp field."""
    if value is None:
        return None, TimestampIssue.missing
    if not isinstance(value, str):
        return None, TimestampIssue.unparseable
    match = _TIME.fullmatch(value)
    if match is None:
        return None, TimestampIssue.unparseable
    year = int(match[1])
    if year == 1970:
        return None, TimestampIssue.pre_sync_1970
    if not 2000 <= year <= 2100:
        return None, TimestampIssue.implausible_year
    local_ns = _local_ns(match)
    if local_ns is None:
        return None, TimestampIssue.unparseable
    offset_s, issue = _offset(match, local_offset_min)
    return local_ns - offset_s * _NS, issue


def _local_ns(match: re.Match[str]) -> int | None:
    """The wall-clock time as if it were UTC; None for impossible dates."""
    second = int(match[6] or 0)
    try:
        day = datetime(int(match[1]), int(match[2]), int(match[3]),  # noqa: DTZ001
                       int(match[4]), int(match[5]), min(second, 59))
    except ValueError:
        return None
    days = day.toordinal() - _EPOCH_ORDINAL
    seconds = days * 86_400 + day.hour * 3600 + day.minute * 60 + second
    frac = match[7]
    nanos = int((frac + "000000000")[:9]) if frac else 0
    return seconds * _NS + nanos


def _offset(match: re.Match[str], local_offset_min: int | None
            ) -> tuple[int, TimestampIssue | None]:
    """(offset east of UTC in seconds, issue) from the zone designator."""
    if match[8]:
        return 0, None
    if not match[9]:
        if local_offset_min is None:
            return 0, TimestampIssue.no_offset_assumed_utc
        return local_offset_min * 60, TimestampIssue.no_offset_assumed_local
    sign = -1 if match[9] == "-" else 1
    seconds = sign * (int(match[10]) * 3600 + int(match[11] or 0) * 60)
    if match[11] is None:
        return seconds, TimestampIssue.short_offset
    return seconds, None if seconds == 0 else TimestampIssue.non_utc_offset
