"""The reliability suite (issue 6): hypothesis profiles and the figures of the run.

Profiles, chosen by ``HYPOTHESIS_PROFILE`` (default ``ci``) and applied to this suite's property
tests only (the rest of the test suite keeps its own settings):

- ``ci``: 500 generated scenarios for the main property, derandomized (the same examples on
  every run, so CI is reproducible), no per-example deadline;
- ``deep``: 5,000 scenarios, randomized, for a longer run on a workstation::

      HYPOTHESIS_PROFILE=deep pytest -q tests/reliability -k property

The figures the suite measured (examples run, kills survived, conflicts retried, inputs
refused…) are printed at the end of the session with ``pytest -v``, or with
``RELIABILITY_FIGURES=path``, which also writes them there as JSON (docs/reliability.md quotes
them); ``pytest -q`` prints its result and nothing more.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from reliability_support import FIGURES, dump_figures

settings.register_profile(
    "ci",
    max_examples=500,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "deep",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "deep"):
    PROFILE = "ci"


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    if not FIGURES:
        return
    wanted = config.get_verbosity() > 0 or bool(os.environ.get("RELIABILITY_FIGURES"))
    if not wanted:
        return
    terminalreporter.section("reliability figures")
    for name in sorted(FIGURES):
        terminalreporter.write_line(f"{name}: {FIGURES[name]}")
    dump_figures()
