"""Which adapter serves which charger: one registry, matched from the BootNotification.

An adapter class declares what it serves (``vendor``/``model`` regexes, firmware range
``[firmware_min, firmware_max)``); the most specific match wins (model and firmware
conditions count), ties going to the first registered. Unknown chargers get ``generic``.

Data-only adapters (unit overrides, time-zone fix, scale factor) come from a TOML file
(``adapters/vendors.toml`` by default)::

    [keba-p40-early]            # a new adapter name
    parent = "keba"             # built on this one (default: the same name, i.e. an override)
    vendor = "(?i)keba"
    model = "(?i)p40"
    firmware_max = "1.2.1"
    energy_scale = 0.1
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from adapters.base import Adapter
from adapters.vendors import ADAPTERS
from canonical.errors import ConfigError, RegistryError

DEFAULT_CONFIG = Path(__file__).with_name("vendors.toml")
_KNOBS = {"utc_offset_minutes", "unit_overrides", "energy_scale", "begin_zero_is_placeholder",
          "session_energy_register", "description", "vendor", "model", "firmware_min",
          "firmware_max"}
_DIGITS = re.compile(r"\d+")


def version_key(text: str | None) -> tuple[int, ...]:
    """``"4.2.2-rc1"`` → (4, 2, 2, 1): numbers compared as numbers."""
    return tuple(int(d) for d in _DIGITS.findall(text or "")[:6])


class Registry:
    """A plain dict of adapters by name, plus matching rules read from their classes."""

    def __init__(self, adapters: dict[str, type[Adapter]]) -> None:
        self.adapters: dict[str, Adapter] = {"generic": Adapter()}
        self.adapters.update({name: cls() for name, cls in adapters.items()})
        self._rules = sorted((a for a in self.adapters.values() if a.vendor),
                             key=lambda a: -_specificity(a))

    @classmethod
    def default(cls, config: str | Path | None = DEFAULT_CONFIG) -> Registry:
        """The built-in vendor adapters, plus the data-only ones of ``config``."""
        classes = dict(ADAPTERS)
        if config is not None:
            classes.update(load_config(config, classes))
        return cls(classes)

    def names(self) -> list[str]:
        return list(self.adapters)

    def resolve(self, name: str) -> Adapter:
        try:
            return self.adapters[name]
        except KeyError:
            raise RegistryError("adapter", name, self.names()) from None

    def match(self, vendor: str | None, model: str | None, firmware: str | None) -> Adapter:
        """The adapter for a charger as its BootNotification describes it."""
        fw = version_key(firmware)
        for adapter in self._rules:
            if _matches(adapter, vendor or "", model or "", fw):
                return adapter
        return self.adapters["generic"]


def _specificity(adapter: Adapter) -> int:
    return bool(adapter.model) + bool(adapter.firmware_min) + bool(adapter.firmware_max)


def _matches(adapter: Adapter, vendor: str, model: str, fw: tuple[int, ...]) -> bool:
    if adapter.vendor_re is None or not adapter.vendor_re.search(vendor):
        return False
    if adapter.model_re is not None and not adapter.model_re.search(model):
        return False
    if adapter.firmware_min and fw < version_key(adapter.firmware_min):
        return False
    return not (adapter.firmware_max and fw >= version_key(adapter.firmware_max))


def load_config(path: str | Path, known: dict[str, type[Adapter]]) -> dict[str, type[Adapter]]:
    """Adapter classes declared in a TOML file, each a subclass of its ``parent``."""
    path = Path(path)
    try:
        tables = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read adapter config {str(path)!r}: {exc}") from None
    built: dict[str, type[Adapter]] = {}
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{name}] must be a table")
        built[name] = _declared(path, name, table, {**known, **built})
    return built


def _declared(path: Path, name: str, table: dict[str, Any],
              known: dict[str, type[Adapter]]) -> type[Adapter]:
    parent_name = str(table.get("parent", name))
    parent = Adapter if parent_name == "generic" else known.get(parent_name)
    if parent is None:
        raise ConfigError(f"{path}: [{name}] parent {parent_name!r} is not an adapter; "
                          f"valid: {', '.join(sorted([*known, 'generic']))}")
    unknown = set(table) - _KNOBS - {"parent"}
    if unknown:
        raise ConfigError(f"{path}: [{name}] unknown keys {sorted(unknown)}; "
                          f"valid: {', '.join(sorted(_KNOBS | {'parent'}))}")
    attrs = {k: v for k, v in table.items() if k != "parent"}
    attrs["name"] = name
    for key in ("vendor", "model"):
        try:
            re.compile(str(attrs.get(key) or ""))
        except re.error as exc:
            raise ConfigError(f"{path}: [{name}] bad regex in {key}: {exc}") from None
    return type(f"Declared_{name}", (parent,), attrs)
