"""Client profiles: habits of well-behaved foreign firmware, seen in real traffic, that a
correct central system bills right with no alert and no hold. Not faults: a session they shape
is labelled with them in the truth (``profiles``) so the scorer can report per profile.

A charger may carry several; ``assign_profiles`` gives each charger its share, deterministic
from the plan's random source. Each profile names the QUIRKS.md row or public issue whose wire
shape it reproduces.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.plan import Vendor

V16, V201, V21 = "ocpp1.6", "ocpp2.0.1", "ocpp2.1"
BOTH = frozenset({V16, V201, V21})
TX_EVENT = frozenset({V201, V21})  # 2.0.1 and 2.1: the TransactionEvent habits


@dataclass(frozen=True, slots=True)
class ClientProfile:
    name: str
    protocols: frozenset[str]
    source: str
    summary: str


_ALL = (
    ClientProfile("repeat_begin_in_ended", TX_EVENT, "Q29",
                  "Ended repeats the Transaction.Begin sample beside Transaction.End"),
    ClientProfile("ended_twice", TX_EVENT, "real-client-sample.jsonl",
                  "Ended sent twice: next seqNo, same meter values, timestamp 1 ms later"),
    ClientProfile("transaction_data_in_stop", frozenset({V16}), "Q32",
                  "StopTransaction carries transactionData (Begin, Periodic, End)"),
    ClientProfile("stop_retried_new_id", frozenset({V16}), "Q32, Q24",
                  "StopTransaction sent again, identical, under a new message id"),
    ClientProfile("offline_queue_late", TX_EVENT, "Q30, lbbrhzn/ocpp#2141",
                  "Updated events queued offline arrive after the Ended, offline: true"),
    ClientProfile("retransmit_new_id", BOTH, "Q23",
                  "a MeterValues / Updated CALL sent again, identical, under a new id"),
    ClientProfile("per_transaction_meter", frozenset({V16}), "Q15",
                  "the register restarts at 0 for every transaction"),
    ClientProfile("dc_phase_l1_totals", BOTH, "Q28",
                  "DC charger: register, power, voltage, current tagged phase L1, L1 only"),
    ClientProfile("per_station_tx_ids", TX_EVENT, "real stations",
                  "transactionIds \"1\", \"2\", ... per station"),
    ClientProfile("backfill_weeks", BOTH, "Q33, steve#1693",
                  "offline for weeks: back-fills finished transactions weeks old"),
    ClientProfile("honest_dst_offsets", BOTH, "Q4 (done right)",
                  "local time with its true offset (+01:00 winter, +02:00 summer)"),
)

CLIENT_PROFILES: dict[str, ClientProfile] = {p.name: p for p in _ALL}
PROFILE_NAMES = tuple(CLIENT_PROFILES)

(REPEAT_BEGIN, ENDED_TWICE, TX_DATA, STOP_RETRIED, OFFLINE_QUEUE, RETRANSMIT, PER_TX_METER,
 DC_PHASE_L1, STATION_TX_IDS, BACKFILL, HONEST_DST) = PROFILE_NAMES

#: One profiled charger in ``PLAIN_EVERY`` of a protocol carries none (the baseline).
PLAIN_EVERY = 5
#: Each profiled charger takes this many profiles in rotation, then each other with ``EXTRA_P``.
PER_CHARGER, EXTRA_P = 2, 0.15


def parse_profiles(text: str) -> tuple[str, ...]:
    """``all``, ``none`` or a comma list of profile names."""
    if text == "none":
        return ()
    if text == "all":
        return PROFILE_NAMES
    chosen = tuple(p.strip() for p in text.split(",") if p.strip())
    unknown = [p for p in chosen if p not in CLIENT_PROFILES]
    if unknown:
        raise ValueError(f"unknown profile {unknown}; valid: all, none, "
                         f"{', '.join(PROFILE_NAMES)}")
    return chosen


def fits(name: str, vendor: Vendor) -> bool:
    """Whether a profile can be this vendor's habit without blurring its own quirk."""
    if vendor.protocol not in CLIENT_PROFILES[name].protocols:
        return False
    if name == HONEST_DST:    # Growatt sends local time with no offset (Q1): its own quirk
        return vendor.local_offset_min is None
    if name in (PER_TX_METER, TX_DATA):  # ABB's session register (Q10): its own meter habit
        return not vendor.session_register
    if name == DC_PHASE_L1:   # a plain Wh register, so the L1 tag is the only oddity
        return vendor.plain_meter
    return True


def assign_profiles(vendor: Vendor, slot: int, rng: random.Random,
                    chosen: tuple[str, ...]) -> tuple[str, ...]:
    """The profiles of the ``slot``-th charger of its protocol: every ``PLAIN_EVERY``-th none;
    the others the next ``PER_CHARGER`` of the protocol's rotation that fit the vendor (so a
    small fleet covers them all), and each other fitting profile with ``EXTRA_P``."""
    rotation = [p for p in chosen if vendor.protocol in CLIENT_PROFILES[p].protocols]
    if not rotation or slot % PLAIN_EVERY == PLAIN_EVERY - 1:
        return ()
    profiled = slot - slot // PLAIN_EVERY
    picked: list[str] = []
    for step in range(len(rotation)):
        name = rotation[(profiled * PER_CHARGER + step) % len(rotation)]
        if len(picked) < PER_CHARGER and fits(name, vendor):
            picked.append(name)
    extra = [p for p in rotation if p not in picked and fits(p, vendor) and rng.random() < EXTRA_P]
    return tuple(p for p in chosen if p in picked or p in extra)


# -- command traits -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CommandTrait:
    """How a vendor's firmware answers central-system commands, where it departs from the
    plain behaviour of ``sim.responder``. Not a client profile: the fleet plan never draws
    one (so ``--profiles`` fleets run as before); a test or a plan gives it to a charger."""

    name: str
    protocols: frozenset[str]
    source: str
    summary: str


_TRAITS = (
    CommandTrait("no_local_auth_list", frozenset({V16}),
                 "mobilityhouse/ocpp#265; EVerest/libocpp#679",
                 "no LocalAuthListManagement profile: SendLocalList NotSupported, "
                 "GetLocalListVersion -1, its keys unknown"),
    CommandTrait("trigger_meter_values_not_implemented", BOTH,
                 "mobilityhouse/ocpp#241 (Chargedot); evcc-io/evcc#15022 (eProWallbox Move)",
                 "TriggerMessage MeterValues answered NotImplemented, nothing sent"),
    CommandTrait("remote_start_needs_plug", BOTH,
                 "matth-x/MicroOcpp#149, #89; steve-community/steve#1211",
                 "RemoteStart / RequestStart Rejected unless the connector is Preparing "
                 "(a car plugged in)"),
    CommandTrait("remote_authorize_local_list", frozenset({V16}),
                 "ConnectorIO/connectorio-addons#144 (Phoenix Contact CHARX SEC-3xxx 1.9.0)",
                 "AuthorizeRemoteTxRequests true: RemoteStart Rejected for an idTag not on "
                 "its local list, until ChangeConfiguration sets it false"),
)

COMMAND_TRAITS: dict[str, CommandTrait] = {t.name: t for t in _TRAITS}
NO_LOCAL_LIST, TRIGGER_METER_NOT_IMPLEMENTED, REMOTE_START_NEEDS_PLUG, REMOTE_AUTHORIZE = (
    COMMAND_TRAITS)
