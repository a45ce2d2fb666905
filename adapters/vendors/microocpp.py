"""MicroOcpp-based chargers (Q5, Q22, Q23): 1970 timestamps before the clock syncs (generic:
``pre_sync_1970``), Stops whose Start was lost, Starts sent twice with new message ids (the
ingest answers both with one transactionId; the flows bill once). Only its name differs."""

from adapters.base import Adapter


class MicroOcpp(Adapter):
    name = "microocpp"
    description = "MicroOcpp: 1970 pre-sync times (Q5), duplicate starts (Q23)"
    vendor = r"(?i)micro ?ocpp"
