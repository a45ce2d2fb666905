"""Exceptions raised by chargeline.

Tree::

    ChargelineError
    ├── ConfigError            bad option or argument, names the value
    ├── JournalError           the journal cannot be read or written
    │   └── JournalLockedError another process holds the writer lock
    ├── FrameError             an OCPP-J frame cannot be accepted (carries the RPC error code)
    └── RegistryError          an unknown name was asked of a registry (lists the valid ones)
"""

from __future__ import annotations


class ChargelineError(Exception):
    """Root of every exception chargeline raises on purpose."""


class ConfigError(ChargelineError):
    """A configuration value or command-line argument is invalid."""


class JournalError(ChargelineError):
    """The journal cannot be read or written."""


class JournalLockedError(JournalError):
    """Another process holds the journal's writer lock."""

    def __init__(self, path: str, holder: str) -> None:
        super().__init__(f"journal {path!r} is locked by another writer ({holder})")
        self.path = path
        self.holder = holder


class FrameError(ChargelineError):
    """An OCPP-J frame cannot be accepted; ``code`` is the OCPP-J RPC error code to answer."""

    def __init__(self, code: str, description: str, message_id: str | None = None) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.message_id = message_id


class RegistryError(ChargelineError):
    """An unknown name was asked of a registry; the message lists the valid choices."""

    def __init__(self, kind: str, name: str, choices: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; valid: {', '.join(sorted(choices))}")
        self.kind = kind
        self.name = name
        self.choices = choices
