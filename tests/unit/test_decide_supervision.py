"""Given/when/then on ``decide``: rent supervision's monthly releases (Art. 14, rules 10–12), their
suspension and resumption (Art. 20, rule 13), and moving an account to a new bank (Art. 18).

The tranche: 24,000.00 (6 months at 4,000.00) arrives Tuesday 2025-06-03; release 0, the first
3 months' 12,000.00, goes to the enterprise that day (0 days: interest 0.00); 12,000.00 stays,
released 4,000.00 on each monthly anniversary: Thu 07-03, Sun 08-03, Wed 09-03.
"""

from __future__ import annotations

from unit.given_when_then import given
from unit.tenancy_c1 import DEPOSIT, OPENED, START, D, d, executed, instructed

from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.errors import AlreadySuspended, NotSuspended, Overdraft

TRANCHE = (
    OPENED,
    ev.RentReceived(on=START, amount=D("24000.00"), channel="bank", supervised=True, lot=1),
    instructed(
        START, 1, "rent", "release", "enterprise", "12000.00", execute_on=START, release_no=0
    ),
    executed(START, 1, "rent", "12000.00", days=0, interest="0.00", interest_to="enterprise"),
)
SUSPENDED = (*TRANCHE, ev.ReleasesSuspended(on=d(2025, 6, 10), enterprise="E1"))
HELD = (
    *SUSPENDED,
    # Releases 1 (Thu 07-03) and 2 (Sun 08-03), instructed on their days and held: no execute_on.
    instructed(
        d(2025, 7, 3), 2, "rent", "release", "enterprise", "4000.00", execute_on=None, release_no=1
    ),
    instructed(
        d(2025, 8, 3), 3, "rent", "release", "enterprise", "4000.00", execute_on=None, release_no=2
    ),
)

# --- Tick: the monthly releases -----------------------------------------------------------------


def test_the_monthly_releases_go_out_on_their_anniversaries_or_the_next_working_day() -> None:
    # Release 1 on Thu 07-03: days 06-03 → 07-03 = 30;
    #   4,000.00 × 0.35 % × 30 / 360 = 14 × 30 / 360 = 420 / 360 = 1.1666… → 1.17.
    # Release 2 falls on Sun 08-03 and settles Mon 08-04 (rule 11): days = 30 + 31 + 1 = 62;
    #   14 × 62 / 360 = 868 / 360 = 2.4111… → 2.41.
    given(*TRANCHE).when(cmd.Tick(), on=d(2025, 8, 4)).then(
        instructed(
            d(2025, 7, 3), 2, "rent", "release", "enterprise", "4000.00",
            execute_on=d(2025, 7, 3), release_no=1,
        ),
        executed(
            d(2025, 7, 3), 2, "rent", "4000.00", days=30, interest="1.17",
            interest_to="enterprise",
        ),
        instructed(
            d(2025, 8, 3), 3, "rent", "release", "enterprise", "4000.00",
            execute_on=d(2025, 8, 4), release_no=2,
        ),
        executed(
            d(2025, 8, 4), 3, "rent", "4000.00", days=62, interest="2.41",
            interest_to="enterprise",
        ),
    )  # fmt: skip


def test_a_tick_the_day_before_an_anniversary_releases_nothing() -> None:
    given(*TRANCHE).when(cmd.Tick(), on=d(2025, 7, 2)).then()


# --- SuspendReleases ----------------------------------------------------------------------------


def test_a_suspension_with_nothing_pending_is_one_event() -> None:
    given(*TRANCHE).when(cmd.SuspendReleases("E1"), on=d(2025, 6, 10)).then(
        ev.ReleasesSuspended(on=d(2025, 6, 10), enterprise="E1")
    )


def test_a_release_instructed_but_not_yet_executed_is_held_by_the_suspension() -> None:
    # Rule 13: the tranche arrives Sat 06-07; release 0 is instructed that day to execute on
    # Mon 06-09. Suspended on Sun 06-08, before it left: it is held.
    saturday = d(2025, 6, 7)
    pending = (
        OPENED,
        ev.RentReceived(on=saturday, amount=D("24000.00"), channel="bank", supervised=True, lot=1),
        instructed(
            saturday, 1, "rent", "release", "enterprise", "12000.00",
            execute_on=d(2025, 6, 9), arrived=saturday, release_no=0,
        ),
    )  # fmt: skip
    given(*pending).when(cmd.SuspendReleases("E1"), on=d(2025, 6, 8)).then(
        ev.ReleasesSuspended(on=d(2025, 6, 8), enterprise="E1"),
        ev.PayoutsHeld(on=d(2025, 6, 8), payouts=(1,)),
    )


def test_while_suspended_the_releases_are_instructed_and_held() -> None:
    # Rule 13: releases 1 (07-03) and 2 (08-03) fall due and are held: nothing executes.
    given(*SUSPENDED).when(cmd.Tick(), on=d(2025, 8, 4)).then(*HELD[len(SUSPENDED) :])


def test_a_second_suspension_is_refused() -> None:
    given(*SUSPENDED).when(cmd.SuspendReleases("E1"), on=d(2025, 6, 11)).refused(
        AlreadySuspended, "enterprise E1 are already suspended"
    )


# --- ResumeReleases -----------------------------------------------------------------------------


def test_on_resumption_the_held_releases_go_out_at_once_with_interest_to_the_day_before() -> None:
    # Rule 13: resumed Mon 08-11, a working day: both held releases execute that day.
    # Days 06-03 → 08-11 = 30 + 31 + 8 = 69: 4,000.00 × 0.35 % × 69 / 360 = 14 × 69 / 360
    # = 966 / 360 = 2.6833… → 2.68 each (interest once per payout per lot, rule 17).
    monday = d(2025, 8, 11)
    given(*HELD).when(cmd.ResumeReleases("E1"), on=monday).then(
        ev.ReleasesResumed(on=monday, enterprise="E1"),
        ev.HeldPayoutsFreed(on=monday, payouts=(2, 3), execute_on=monday),
        executed(monday, 2, "rent", "4000.00", days=69, interest="2.68", interest_to="enterprise"),
        executed(monday, 3, "rent", "4000.00", days=69, interest="2.68", interest_to="enterprise"),
    )


def test_resumed_on_a_saturday_the_held_releases_go_out_on_monday() -> None:
    # Rule 11: resumed Sat 08-09; they settle Mon 08-11: nothing executes on the 9th.
    saturday = d(2025, 8, 9)
    given(*HELD).when(cmd.ResumeReleases("E1"), on=saturday).then(
        ev.ReleasesResumed(on=saturday, enterprise="E1"),
        ev.HeldPayoutsFreed(on=saturday, payouts=(2, 3), execute_on=d(2025, 8, 11)),
    )


def test_resuming_what_is_not_suspended_is_refused() -> None:
    given(*TRANCHE).when(cmd.ResumeReleases("E1"), on=d(2025, 6, 10)).refused(
        NotSuspended, "enterprise E1 are not suspended"
    )


# --- ReturnHome while releases are held (rule 13) -----------------------------------------------

RETURN_DAY = d(2025, 8, 11)
RETURNED_WHILE_HELD = (
    ev.HomeReturned(on=RETURN_DAY),
    ev.HeldReleasesCancelled(on=RETURN_DAY, payouts=(2, 3)),
    # All the rent still in supervision: 24,000.00 − 12,000.00 released = 12,000.00, that is
    # 4,000.00 + 4,000.00 held by the cancelled releases and the 4,000.00 not yet due.
    # Deadline: 3 working days after Mon 08-11: Tue 08-12, Wed 08-13, Thu 08-14.
    ev.RefundWorkflowOpened(
        on=RETURN_DAY, fund="rent", held=D("12000.00"), deadline=d(2025, 8, 14)
    ),
)


def test_a_return_while_releases_are_held_cancels_them_and_refunds_all_the_rent_they_held() -> None:
    given(*HELD).when(cmd.ReturnHome(), on=RETURN_DAY).then(*RETURNED_WHILE_HELD)


def test_after_that_return_a_tick_instructs_no_release_again() -> None:
    # Up to the opinion's deadline (Thu 08-14) nothing falls due: the cancelled releases of 07-03
    # and 08-03 are not instructed again, and none after the return happens (rule 12).
    given(*HELD, *RETURNED_WHILE_HELD).when(cmd.Tick(), on=d(2025, 8, 14)).then()


def test_after_that_return_the_missed_opinion_refunds_the_12000_to_the_tenant() -> None:
    # Rule 6: no opinion by Thu 08-14: missed on Fri 08-15, a working day, and the whole
    # 12,000.00 goes back to the tenant that day (a refund to the tenant is not held by the
    # suspension). No release on the 09-03 anniversary. Days 06-03 → 08-15 = 30 + 31 + 12 = 73:
    # 12,000.00 × 0.35 % × 73 / 360 = 42 × 73 / 360 = 3,066 / 360 = 8.5166… → 8.52.
    friday = d(2025, 8, 15)
    given(*HELD, *RETURNED_WHILE_HELD).when(cmd.Tick(), on=d(2025, 9, 3)).then(
        ev.EnterpriseDeadlineMissed(on=friday, fund="rent"),
        instructed(friday, 4, "rent", "refund", "tenant", "12000.00", execute_on=friday),
        executed(friday, 4, "rent", "12000.00", days=73, interest="8.52", interest_to="tenant"),
    )


# --- MigrateFunds -------------------------------------------------------------------------------


def test_the_custody_account_moves_to_a_new_bank_with_all_it_holds() -> None:
    # Art. 18: the 5,000.00 deposit moves from B1 to B3.
    given(OPENED, DEPOSIT).when(cmd.MigrateFunds("custody", "B1", "B3"), on=d(2025, 7, 1)).then(
        ev.FundsMigrated(
            on=d(2025, 7, 1), account="custody", old_bank="B1", bank="B3", principal=D("5000.00")
        )
    )


def test_the_supervision_account_moves_what_is_left_of_the_tranche() -> None:
    # 24,000.00 − 12,000.00 released on 06-03 = 12,000.00 moves from B2 to B3.
    given(*TRANCHE).when(cmd.MigrateFunds("supervision", "B2", "B3"), on=d(2025, 6, 10)).then(
        ev.FundsMigrated(
            on=d(2025, 6, 10),
            account="supervision",
            old_bank="B2",
            bank="B3",
            principal=D("12000.00"),
        )
    )


def test_a_migration_from_a_bank_that_does_not_hold_the_money_is_refused() -> None:
    # The deposit is at B1; taking 5,000.00 from B9 would overdraw custody@B9 (Art. 8).
    given(OPENED, DEPOSIT).when(cmd.MigrateFunds("custody", "B9", "B3"), on=d(2025, 7, 1)).refused(
        Overdraft, "custody@B9:C1 below zero"
    )


def test_after_that_return_the_refund_to_the_tenant_goes_out_and_a_rent_deduction_is_held() -> None:
    # Still suspended. Opinion Tue 08-12 deducting 1,000.00 of the 12,000.00: 11,000.00 back to
    # the tenant at once (not held: rule 13 holds payments to the enterprise only). Days
    # 06-03 → 08-12 = 70: 11,000.00 × 0.35 % × 70 / 360 = 38.5 × 70 / 360 = 2,695 / 360
    # = 7.486… → 7.49. Tenant's window: Wed 08-13, Thu 08-14, Fri 08-15.
    tuesday = d(2025, 8, 12)
    repairs = ev.Deduction(item="repairs", amount=D("1000.00"))
    proposed = (
        ev.RefundProposed(
            on=tuesday, fund="rent", deductions=(repairs,), answer_deadline=d(2025, 8, 15)
        ),
        instructed(tuesday, 4, "rent", "refund", "tenant", "11000.00", execute_on=tuesday),
        executed(tuesday, 4, "rent", "11000.00", days=70, interest="7.49", interest_to="tenant"),
    )
    history = (*HELD, *RETURNED_WHILE_HELD)
    given(*history).when(cmd.ProposeRefund("rent", (repairs,)), on=tuesday).then(*proposed)

    # The tenant agrees on Wed 08-13: the rent deduction to the enterprise is held (rule 13).
    wednesday = d(2025, 8, 13)
    given(*history, *proposed).when(cmd.TenantAgree("rent"), on=wednesday).then(
        ev.TenantAnswered(on=wednesday, fund="rent", agreed=True),
        instructed(wednesday, 5, "rent", "deduction", "enterprise", "1000.00", execute_on=None),
    )


def test_a_return_on_an_anniversary_while_suspended_cancels_that_days_release_too() -> None:
    # Release 1 falls due on the return day, Thu 07-03: it is instructed (held) before the return
    # is decided, then cancelled with it. Held: 24,000.00 − 12,000.00 = 12,000.00. Deadline:
    # 3 working days after Thu 07-03: Fri 07-04, Mon 07-07, Tue 07-08.
    thursday = d(2025, 7, 3)
    given(*SUSPENDED).when(cmd.ReturnHome(), on=thursday).then(
        instructed(
            thursday, 2, "rent", "release", "enterprise", "4000.00", execute_on=None, release_no=1
        ),
        ev.HomeReturned(on=thursday),
        ev.HeldReleasesCancelled(on=thursday, payouts=(2,)),
        ev.RefundWorkflowOpened(
            on=thursday, fund="rent", held=D("12000.00"), deadline=d(2025, 7, 8)
        ),
    )


def test_resuming_after_that_return_frees_nothing_the_return_cancelled() -> None:
    given(*HELD, *RETURNED_WHILE_HELD).when(cmd.ResumeReleases("E1"), on=d(2025, 8, 12)).then(
        ev.ReleasesResumed(on=d(2025, 8, 12), enterprise="E1")
    )
