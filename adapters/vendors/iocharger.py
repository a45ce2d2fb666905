"""Iocharger IOCAW (Q11, OCPP 2.0.1): an offline ``Transaction.Begin`` register of 0 is a
placeholder, then the real register arrives. Billing from 0 would charge the lifetime odometer
(910 kWh instead of 0.083 kWh): the placeholder is flagged and never used as the start."""

from adapters.base import Adapter


class Iocharger(Adapter):
    name = "iocharger"
    description = "Iocharger: offline Transaction.Begin=0 is a placeholder (Q11)"
    vendor = r"(?i)iocharger"
    begin_zero_is_placeholder = True
