"""ABB Terra AC (Q10, Q26): with a transactionId, ``Energy.Active.Import.Register`` is the
energy of the session restarting at 0, not the cumulative register (breaks 1.6 errata 3.9).
StatusNotification ``info: "null"`` and missing timestamps are absorbed by the generic reader.
"""

from adapters.base import Adapter


class ABB(Adapter):
    name = "abb"
    description = "ABB Terra AC: transaction-bound register is session energy (Q10)"
    vendor = r"(?i)\babb\b"
    session_energy_register = True
