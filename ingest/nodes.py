"""Newest connection wins across ingest nodes sharing a Kafka journal.

A charger that reconnects to another node (its node died, the balancer moved it, its old
socket here is half-open) leaves its old socket here open: this node learns of the new one
only from the journal, as the other node's ``connected`` record of that charge point
(``ingest.journal.kafka_follow``). Later in the partition than this node's own ``connected``
record means newer, whatever the clocks say; then the socket here is closed and ``replaced``
journaled. A record read before this node's own write returned (so before it knows where its
own landed) is kept until it does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from canonical.errors import JournalError
from canonical.kafka import later_in_partition

if TYPE_CHECKING:
    from ingest.connection import ChargerConnection
    from ingest.journal.kafka_follow import Connected

REASON = "replaced by a newer connection"
#: Journals the ``replaced`` record of a connection closed for a newer one on another node.
NoteReplaced = Callable[["ChargerConnection", str], Awaitable[object]]


class CrossNodeTakeover:
    def __init__(self, live: dict[str, ChargerConnection], note: NoteReplaced,
                 spawn: Callable[[Coroutine[Any, Any, None]], object]) -> None:
        self.live, self.note, self.spawn = live, note, spawn
        self._early: dict[str, Connected] = {}

    def seen(self, other: Connected) -> None:
        """A ``connected`` record read from the journal (any node's, this one's too)."""
        conn = self.live.get(other.charge_point_id)
        if conn is None or conn.connection_id == other.connection_id:
            return
        if conn.connected_frame_id is None:  # its own record still on its way
            self._early[other.charge_point_id] = other
        elif later_in_partition(other.frame_id, conn.connected_frame_id):
            del self.live[other.charge_point_id]
            conn.cut_off = f"{REASON} on another node"
            self.spawn(self._close(conn, other.connection_id))

    def admitted(self, conn: ChargerConnection) -> None:
        """``conn``'s own ``connected`` record landed: judge what was read meanwhile."""
        early = self._early.pop(conn.charge_point_id, None)
        if early is not None:
            self.seen(early)

    async def _close(self, conn: ChargerConnection, newer_connection_id: str) -> None:
        with contextlib.suppress(JournalError):
            await self.note(conn, newer_connection_id)
        await conn.ws.close(1000, REASON)
