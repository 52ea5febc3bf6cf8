"""The pytest plugin behaves in a platform's test suite: its fixture names cannot collide with a
platform's own, pytest's timing keeps the real clock, and time only goes forward.

The first two tests run pytest on a small platform project in a temporary directory, as a
platform would (the plugin comes from the installed package's ``pytest11`` entry point).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

import escrow
from escrow.errors import InputError
from escrow.testing import Travel

PLATFORM_CONFTEST = '''
import pytest


@pytest.fixture
def ledger():
    return "the platform's own ledger"


@pytest.fixture
def travel():
    return "the platform's own travel"
'''

PLATFORM_TEST = '''
import datetime as dt
import time


def test_platform_fixtures_and_escrow_fixtures_live_side_by_side(
    ledger, travel, escrow_ledger, escrow_travel
):
    assert ledger == "the platform's own ledger"
    assert travel == "the platform's own travel"
    escrow_travel.to(dt.date(2025, 6, 3))
    assert escrow_ledger.today == dt.date(2025, 6, 3)
    assert dt.date.today() == dt.date(2025, 6, 3)
    time.sleep(0.05)
'''


def run_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_plugin_fixtures_do_not_shadow_a_platforms_own(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(PLATFORM_CONFTEST)
    (tmp_path / "test_platform.py").write_text(PLATFORM_TEST)
    done = run_pytest(tmp_path, "-q")
    assert done.returncode == 0, done.stdout + done.stderr


def test_pytest_durations_are_real_under_escrow_travel(tmp_path: Path) -> None:
    # Under a frozen clock at 2025-06-03, pytest once reported 1,796,000,963 s for this test.
    (tmp_path / "conftest.py").write_text(PLATFORM_CONFTEST)
    (tmp_path / "test_platform.py").write_text(PLATFORM_TEST)
    done = run_pytest(tmp_path, "--durations=0", "-vv")
    assert done.returncode == 0, done.stdout + done.stderr
    durations = [float(s) for s in re.findall(r"^([0-9.]+)s (?:setup|call|teardown) ", done.stdout, re.M)]
    assert durations, done.stdout
    assert max(durations) < 120, done.stdout
    assert sum(durations) >= 0.05  # the test's own sleep is measured, in real time
    total = re.search(r"passed in ([0-9.]+)s", done.stdout)
    assert total is not None and float(total.group(1)) < 300, done.stdout


TERMS = escrow.ContractTerms(
    id="C1", filing_no="JZ-2025-000001", tenant="T1", enterprise="E1",
    start=dt.date(2025, 6, 3), end=dt.date(2025, 9, 30),
    monthly_rent=Decimal("5000.00"), deposit=Decimal("5000.00"),
)


def test_travel_to_an_earlier_date_is_refused_and_changes_nothing(
    escrow_ledger: escrow.Ledger, escrow_travel: Travel
) -> None:
    escrow_travel.to(dt.date(2025, 6, 3))
    escrow_ledger.open_contract(TERMS)
    escrow_ledger.pay_deposit("C1", Decimal("5000.00"))
    escrow_travel.to(dt.date(2025, 9, 30))
    with pytest.raises(InputError) as refused:
        escrow_travel.to(dt.date(2025, 9, 29))
    assert str(refused.value) == (
        "travel.to: 2025-09-29 is before 2025-09-30, where the ledger's clock already is;"
        " time travel only goes forward (use a new escrow_ledger)"
    )
    # Nothing moved: the wall clock and the ledger are still on 09-30, and acts still work.
    assert dt.date.today() == dt.date(2025, 9, 30)  # noqa: DTZ011 - the frozen wall clock
    escrow_ledger.return_home("C1")
    assert escrow_ledger.today == dt.date(2025, 9, 30)
    assert escrow_travel.to(dt.date(2025, 9, 30)) == dt.date(2025, 9, 30)  # the same day is fine
