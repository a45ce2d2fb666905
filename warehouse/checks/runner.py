"""Run the suites with great-expectations 1.x (ephemeral context, pandas dataframes)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.catalog import connect, query
from warehouse.checks.suites import COLUMNS, SUITES


@dataclass(frozen=True, slots=True)
class CheckFailure:
    """One failed expectation: which view, which rule, on which column(s), and examples."""

    view: str
    expectation: str
    columns: str
    unexpected_count: int
    examples: list[Any]

    def line(self) -> str:
        shown = ", ".join(_plain(v) for v in self.examples[:5])
        return (f"FAIL {self.view}: {self.expectation} on {self.columns}: "
                f"{self.unexpected_count} bad rows, e.g. {shown}")


def _plain(value: Any) -> str:
    if isinstance(value, tuple):
        return "(" + ", ".join(_plain(v) for v in value) + ")"
    return repr(value) if isinstance(value, str | int | float) else str(value)


@dataclass(slots=True)
class CheckReport:
    """Every expectation's outcome; ``ok`` when none failed."""

    checked: dict[str, tuple[int, int]] = field(default_factory=dict)  # view -> (rows, rules)
    failures: list[CheckFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def render(self) -> str:
        lines = [f"{view}: {rows} rows, {rules} expectations"
                 for view, (rows, rules) in self.checked.items()]
        lines += [f.line() for f in self.failures]
        total = sum(rules for _, rules in self.checked.values())
        verdict = "all passed" if self.ok else f"{len(self.failures)} failed"
        return "\n".join([*lines, f"{total} expectations, {verdict}"])


def run_checks(data_dir: Path, views: list[str] | None = None) -> CheckReport:
    """Validate each view (default: every suite) and return the report. Reads under the
    readers' lock, so it may run while the pipeline writes and compaction runs."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("warehouse")
    report = CheckReport()
    con = connect(data_dir)
    try:
        for view in views or list(SUITES):
            frame = query(con, data_dir,
                          f"select {COLUMNS.get(view, '*')} from {view}").to_pandas()
            report.checked[view] = (len(frame), len(SUITES[view]))
            report.failures += _validate(context, source, view, frame)
    finally:
        con.close()
    return report


def _validate(context: Any, source: Any, view: str, frame: Any) -> list[CheckFailure]:
    import great_expectations as gx

    if frame.empty:
        return []
    batch = (source.add_dataframe_asset(view).add_batch_definition_whole_dataframe("all")
             .get_batch(batch_parameters={"dataframe": frame}))
    suite = context.suites.add(gx.ExpectationSuite(name=view))
    for class_name, kwargs in SUITES[view]:
        suite.add_expectation(getattr(gx.expectations, class_name)(**kwargs))
    return [_failure(view, r) for r in batch.validate(suite).results if not r.success]


def _failure(view: str, result: Any) -> CheckFailure:
    config = result.expectation_config
    kwargs = config.kwargs
    columns = kwargs.get("column") or f"{kwargs.get('column_A')} >= {kwargs.get('column_B')}"
    outcome = result.result or {}
    examples = outcome.get("partial_unexpected_list") or []
    if result.exception_info and result.exception_info.get("raised_exception"):
        examples = [result.exception_info.get("exception_message")]
    return CheckFailure(view, config.type, str(columns),
                        int(outcome.get("unexpected_count") or 0), list(examples))
