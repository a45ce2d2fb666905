"""OCPI 2.2.1 objects from chargeline's warehouse: CDRs of reconciled sessions, Sessions of
live ones, Locations with their EVSEs' status, Tariffs from the tariff data (docs/ocpi.md).

``objects`` builds them (pure functions of warehouse rows and reference data), ``schema``
validates them against the JSON Schemas in ``schemas/`` (written from the spec: no package
ships them), ``export`` queries the warehouse and writes them. Lives under ``chargeline/``,
not ``warehouse/``: it reads the warehouse and the reference data, and is a client of them
the way the finance export's CSV is, with its own vocabulary (OCPI's ids and enums).
"""
