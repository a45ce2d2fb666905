"""The detector registry: every alert kind has one detector that raises it, a severity and a
row in the warehouse's generated alert_kinds table; a pipeline snapshot carries every
registered detector without a hand-kept list."""

from __future__ import annotations

import pickle

from canonical.enums import AlertKind
from flows.alerts import SEVERITY
from flows.charger import ChargerPipeline
from flows.config import FlowConfig
from flows.detectors import DETECTORS
from warehouse.vocabulary import vocabulary_sql

# raised by the flow around the detectors (a quarantined frame, a rollout halt record)
FLOW_ITSELF = {AlertKind.quarantined_frame, AlertKind.firmware_rollout_halted}


def test_every_alert_kind_is_raised_by_exactly_one_registered_detector() -> None:
    claimed = [kind for detector in DETECTORS for kind in detector.KINDS]
    assert len(claimed) == len(set(claimed))
    assert set(claimed) | FLOW_ITSELF == set(AlertKind)
    assert set(SEVERITY) == set(AlertKind)
    (kinds_sql,) = [sql for name, sql in vocabulary_sql() if name == "alert_kinds"]
    assert all(f"'{kind.value}'" in kinds_sql for kind in AlertKind)


def test_a_snapshot_carries_every_registered_detector() -> None:
    pipeline = ChargerPipeline("CP-1", FlowConfig())
    pipeline.drift.offsets.append(12.5)
    restored = pickle.loads(pickle.dumps(pipeline))
    assert {type(d) for d in restored.detectors.values()} == set(DETECTORS)
    assert list(restored.drift.offsets) == [12.5]


def test_the_flow_writes_the_warehouse_tables_by_their_registered_records() -> None:
    from flows.charger import OUTPUT_TABLES
    from warehouse.tables import TABLES
    assert {name: TABLES[name].record_type for name in OUTPUT_TABLES} == OUTPUT_TABLES
