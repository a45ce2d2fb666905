"""Data quality: great-expectations suites over the warehouse views, run by ``chargeline check``.

``suites.py`` says what must hold (one suite per view); ``runner.py`` runs them with an
ephemeral great-expectations context over each view read into a dataframe, and renders a
report naming every failed expectation, its column and examples of the bad values.
"""

from warehouse.checks.runner import CheckFailure, CheckReport, run_checks

__all__ = ["CheckFailure", "CheckReport", "run_checks"]
