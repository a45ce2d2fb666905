"""A simulated charger's firmware update, and the bad images (``--bad-firmware``) that
make a model misbehave once it installs them.

UpdateFirmware: Downloading, an HTTP GET of the location (DownloadFailed when it cannot be
fetched), Downloaded, (once no transaction runs) Installing, then by the image:

- no effect: Installed, a reboot whose boot carries the new version;
- ``boot_loop``: Installed, then a reboot every ``LOOP_S`` simulated s, each boot on the new
  version, until another image is being installed;
- ``fail_install``: InstallationFailed; it stays on the old version, no reboot;
- ``no_heartbeat``: Installed, a reboot and its boot, then silence: no heartbeat, no answer,
  no session, the socket left open;
- ``register_scale``: Installed, a reboot, then the register reads x10 while power stays
  physical (as the ``register_scale_after_firmware`` fault).

The version is the location's file name without extension (``.../5.9.0.bin`` -> ``5.9.0``),
or ``<old>.1`` when it names none.
"""

from __future__ import annotations

import asyncio
import re
import urllib.error
import urllib.request
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from sim.charger import SimCharger

V16 = "ocpp1.6"
STEP_S = 30.0       # simulated seconds between firmware steps
LOOP_S = 60.0       # simulated seconds a boot-looping charger stays up
LOOP_ROUNDS = 40    # then it stays down on its last boot (a real one would go on)


class BadEffect(StrEnum):
    boot_loop = "boot_loop"
    fail_install = "fail_install"
    no_heartbeat = "no_heartbeat"
    register_scale = "register_scale"


@dataclass(frozen=True, slots=True)
class BadFirmware:
    """``VERSION[:effect][@MODEL]``: chargers (of ``model``: its model or vendor name, any
    when None) that install ``version`` misbehave with ``effect`` (default boot_loop)."""

    version: str
    effect: BadEffect = BadEffect.boot_loop
    model: str | None = None

    @classmethod
    def parse(cls, text: str) -> BadFirmware:
        head, _, model = text.partition("@")
        version, _, effect = head.partition(":")
        if not version:
            raise ValueError(f"--bad-firmware {text!r}: VERSION[:effect][@MODEL]")
        try:
            return cls(version, BadEffect(effect or BadEffect.boot_loop), model or None)
        except ValueError:
            raise ValueError(f"--bad-firmware {text!r}: effect one of "
                             f"{', '.join(BadEffect)}") from None

    def hits(self, c: SimCharger, version: str) -> bool:
        return version == self.version and self.model in (None, c.p.model, c.p.name)


def firmware_version(location: str, old: str) -> str:
    """The version a firmware at ``location`` installs: its file name without extension
    (``.../5.9.0.bin`` -> ``5.9.0``), or ``<old>.1`` when the location names none."""
    segment = urlsplit(location).path.rsplit("/", 1)[-1]
    return re.sub(r"(\.[A-Za-z][A-Za-z0-9]*)+$", "", segment) or f"{old}.1"


def fetch(url: str, timeout_s: float = 10.0) -> bool:
    """GET ``url`` (http:// only) to its end; True on a 2xx. Blocking: run in a thread."""
    if not url.startswith("http://"):
        return False
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            response.read()
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False


def effect_of(c: SimCharger, version: str) -> BadEffect | None:
    return next((b.effect for b in c.bad_firmware if b.hits(c, version)), None)


async def update_firmware(c: SimCharger, location: str, request_id: int | None) -> None:
    """The whole update as the module docstring tells it."""
    from sim.faults import FIRMWARE_SCALE  # sim.faults needs sim.charger, which needs us

    c.cmd.firmware_request_id = request_id
    c.firmware_job += 1
    job = c.firmware_job
    await status(c, "Downloading")
    if not await asyncio.to_thread(fetch, location):
        await status(c, "DownloadFailed")
        c.cmd.firmware_status = "Idle"
        return
    await status(c, "Downloaded")
    await c.sleep_sim(STEP_S)
    await c.connector.idle.wait()
    await status(c, "Installing")
    await c.sleep_sim(STEP_S)
    version = firmware_version(location, c.firmware)
    effect = effect_of(c, version)
    if effect == BadEffect.fail_install:
        await status(c, "InstallationFailed")
        c.cmd.firmware_status = "Idle"
        return
    c.firmware, c.meter.scale = version, FIRMWARE_SCALE if effect == BadEffect.register_scale \
        else 1.0
    await status(c, "Installed")
    c.cmd.firmware_status = "Idle"
    await c.reboot("FirmwareUpdate")
    if effect == BadEffect.no_heartbeat:
        c.mute()
    elif effect == BadEffect.boot_loop:
        await boot_loop(c, job)


async def boot_loop(c: SimCharger, job: int) -> None:
    """Reboot every ``LOOP_S`` on the bad image until another update starts."""
    for _ in range(LOOP_ROUNDS):
        await c.sleep_sim(LOOP_S)
        if c.firmware_job != job:
            return
        await c.reboot("Watchdog")


async def status(c: SimCharger, value: str) -> None:
    c.cmd.firmware_status = value
    await c.call("FirmwareStatusNotification", status_payload(c))


def status_payload(c: SimCharger) -> dict[str, Any]:
    out: dict[str, Any] = {"status": c.cmd.firmware_status}
    if c.p.protocol != V16 and c.cmd.firmware_request_id is not None:
        out["requestId"] = c.cmd.firmware_request_id
    return out
