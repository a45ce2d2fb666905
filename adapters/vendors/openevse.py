"""OpenEVSE (Q6, Q26): numbers where strings belong (generic reader). The 4.2.2 firmware's
register labelled ``Wh`` but sent in kWh is declared in ``vendors.toml`` (data only)."""

from adapters.base import Adapter


class OpenEVSE(Adapter):
    name = "openevse"
    description = "OpenEVSE ESP32 firmware"
    vendor = r"(?i)open ?evse"
