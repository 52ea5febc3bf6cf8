"""Given/when/then on ``decide``: the return and the refund negotiation of the deposit (Art. 10–11,
rules 2–8) and what the clock does with its deadlines (``Tick``).

The story is docs/rules.md's worked example: deposit 5,000.00 arrives Tuesday 2025-06-03; the
home is returned Tuesday 2025-09-30. National Day runs 10-01..10-08, Saturday 10-11 is a
make-up working day: working days after 09-30 are Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 (3),
so the enterprise's opinion is due by 2025-10-11.
"""

from __future__ import annotations

from unit.given_when_then import given
from unit.tenancy_c1 import DEPOSIT, OPENED, D, d, executed, instructed

from escrow.domain import commands as cmd
from escrow.domain import events as ev
from escrow.errors import (
    AlreadyAnswered,
    ClockError,
    DeadlinePassed,
    DeductionsExceedHeld,
    NoDispute,
    NoRefundWorkflow,
    NothingToAnswer,
    OpinionAlreadyGiven,
    SplitMismatch,
    TenancyEnded,
)

RETURN_DAY = d(2025, 9, 30)
OPINION_DAY = d(2025, 10, 10)
CLEANING = ev.Deduction(item="cleaning", amount=D("300.00"))

RETURNED = (
    OPENED,
    DEPOSIT,
    ev.HomeReturned(on=RETURN_DAY, reason="expiry"),
    ev.RefundWorkflowOpened(
        on=RETURN_DAY, fund="deposit", held=D("5000.00"), deadline=d(2025, 10, 11)
    ),
)
PROPOSED = (
    *RETURNED,
    # Tenant's window: 3 working days after Fri 10-10: Sat 10-11 (make-up), Mon 10-13, Tue 10-14.
    ev.RefundProposed(
        on=OPINION_DAY, fund="deposit", deductions=(CLEANING,), answer_deadline=d(2025, 10, 14)
    ),
    instructed(OPINION_DAY, 1, "deposit", "refund", "tenant", "4700.00", execute_on=OPINION_DAY),
    executed(OPINION_DAY, 1, "deposit", "4700.00", days=129, interest="5.89", interest_to="tenant"),
)
DISPUTED = (*PROPOSED, ev.TenantAnswered(on=d(2025, 10, 13), fund="deposit", agreed=False))

# --- ReturnHome ---------------------------------------------------------------------------------


def test_the_return_opens_the_deposit_refund_due_on_the_make_up_saturday() -> None:
    given(OPENED, DEPOSIT).when(cmd.ReturnHome("expiry"), on=RETURN_DAY).then(
        ev.HomeReturned(on=RETURN_DAY, reason="expiry"),
        ev.RefundWorkflowOpened(
            on=RETURN_DAY, fund="deposit", held=D("5000.00"), deadline=d(2025, 10, 11)
        ),
    )


def test_a_return_with_nothing_held_opens_no_refund_workflow() -> None:
    # Rule 8: no deposit paid, no supervised rent: nothing to refund.
    given(OPENED).when(cmd.ReturnHome(), on=RETURN_DAY).then(ev.HomeReturned(on=RETURN_DAY))


def test_a_second_return_is_refused() -> None:
    given(*RETURNED).when(cmd.ReturnHome(), on=d(2025, 10, 1)).refused(
        TenancyEnded, "already returned on 2025-09-30"
    )


# --- ProposeRefund ------------------------------------------------------------------------------


def test_the_opinion_refunds_the_undisputed_part_at_once_with_its_interest() -> None:
    # Rule 4: 5,000.00 − 300.00 = 4,700.00 back on Fri 10-10 (a working day). Days 06-03 → 10-10:
    # 30 (→07-03) + 31 (→08-03) + 31 (→09-03) + 30 (→10-03) + 7 = 129.
    # Interest 4,700.00 × 0.35 % × 129 / 360 = 16.45 × 129 / 360 = 2,122.05 / 360 = 5.894… → 5.89.
    given(*RETURNED).when(cmd.ProposeRefund("deposit", (CLEANING,)), on=OPINION_DAY).then(
        *PROPOSED[len(RETURNED) :]
    )


def test_an_opinion_without_deductions_refunds_everything_and_asks_nothing() -> None:
    # Rule 4: 5,000.00 × 0.35 % × 129 / 360 = 17.5 × 129 / 360 = 2,257.5 / 360 = 6.2708… → 6.27.
    given(*RETURNED).when(cmd.ProposeRefund("deposit"), on=OPINION_DAY).then(
        ev.RefundProposed(on=OPINION_DAY, fund="deposit", deductions=(), answer_deadline=None),
        instructed(
            OPINION_DAY, 1, "deposit", "refund", "tenant", "5000.00", execute_on=OPINION_DAY
        ),
        executed(
            OPINION_DAY, 1, "deposit", "5000.00", days=129, interest="6.27", interest_to="tenant"
        ),
    )


def test_an_opinion_on_the_sunday_after_the_deadline_is_refused() -> None:
    # Rule 6: due by Sat 10-11 end of day; on Sun 10-12 the deadline has lapsed.
    given(*RETURNED).when(cmd.ProposeRefund("deposit", (CLEANING,)), on=d(2025, 10, 12)).refused(
        DeadlinePassed, "was due by 2025-10-11"
    )


def test_deductions_of_one_fen_more_than_is_held_are_refused() -> None:
    too_much = ev.Deduction(item="repairs", amount=D("5000.01"))
    given(*RETURNED).when(cmd.ProposeRefund("deposit", (too_much,)), on=OPINION_DAY).refused(
        DeductionsExceedHeld, "deductions of 5000.01 exceed the 5000.00 held in deposit"
    )


def test_a_second_opinion_is_refused() -> None:
    given(*PROPOSED).when(cmd.ProposeRefund("deposit"), on=d(2025, 10, 13)).refused(
        OpinionAlreadyGiven, "deposit refund opinion was already given"
    )


def test_an_opinion_before_the_return_is_refused() -> None:
    given(OPENED, DEPOSIT).when(cmd.ProposeRefund("deposit"), on=d(2025, 9, 1)).refused(
        NoRefundWorkflow, "no deposit refund before the home is returned"
    )


# --- TenantAgree --------------------------------------------------------------------------------


def test_the_tenant_agrees_and_the_deduction_goes_to_the_enterprise_with_its_interest() -> None:
    # Rule 5: Mon 10-13, in the window. Days 06-03 → 10-13 = 129 + 3 = 132.
    # 300.00 × 0.35 % × 132 / 360 = 1.05 × 132 / 360 = 138.6 / 360 = 0.385 → 0.39 (half-up).
    monday = d(2025, 10, 13)
    given(*PROPOSED).when(cmd.TenantAgree("deposit"), on=monday).then(
        ev.TenantAnswered(on=monday, fund="deposit", agreed=True),
        instructed(monday, 2, "deposit", "deduction", "enterprise", "300.00", execute_on=monday),
        executed(
            monday, 2, "deposit", "300.00", days=132, interest="0.39", interest_to="enterprise"
        ),
    )


def test_agreeing_before_any_opinion_is_refused() -> None:
    given(*RETURNED).when(cmd.TenantAgree("deposit"), on=OPINION_DAY).refused(
        NothingToAnswer, "no deposit refund opinion to answer yet"
    )


def test_agreeing_after_disagreeing_is_refused() -> None:
    given(*DISPUTED).when(cmd.TenantAgree("deposit"), on=d(2025, 10, 14)).refused(
        AlreadyAnswered, "already answered"
    )


# --- TenantDisagree -----------------------------------------------------------------------------


def test_the_tenant_disagrees_and_nothing_moves() -> None:
    # Rule 5: the 300.00 stays in custody until a resolution.
    given(*PROPOSED).when(cmd.TenantDisagree("deposit"), on=d(2025, 10, 13)).then(
        ev.TenantAnswered(on=d(2025, 10, 13), fund="deposit", agreed=False)
    )


def test_the_tenant_disagrees_in_the_second_window_after_the_reminder() -> None:
    # Rule 5: silent to Tue 10-14: reminder Wed 10-15, second window 3 working days after 10-14:
    # Wed 10-15, Thu 10-16, Fri 10-17. Disagreeing on Thu 10-16 is in time.
    given(*PROPOSED).when(cmd.TenantDisagree("deposit"), on=d(2025, 10, 16)).then(
        ev.ReminderIssued(on=d(2025, 10, 15), fund="deposit", second_deadline=d(2025, 10, 17)),
        ev.TenantAnswered(on=d(2025, 10, 16), fund="deposit", agreed=False),
    )


def test_disagreeing_after_the_second_window_is_refused() -> None:
    # Second window ended Fri 10-17: deemed agreed from Sat 10-18; Mon 10-20 is too late.
    given(*PROPOSED).when(cmd.TenantDisagree("deposit"), on=d(2025, 10, 20)).refused(
        DeadlinePassed, "ended on 2025-10-17; it was deemed agreed"
    )


# --- Resolve ------------------------------------------------------------------------------------


def test_a_mediation_splits_the_disputed_deduction_with_interest_to_each_party() -> None:
    # Rule 5/7: 300.00 disputed → 100.00 to the tenant first, then 200.00 to the enterprise, both
    # from lot 1, on Mon 2025-11-03. Days 06-03 → 11-03 = 122 (→10-03) + 31 = 153.
    # Tenant: 100.00 × 0.35 % × 153 / 360 = 0.35 × 153 / 360 = 53.55 / 360 = 0.14875 → 0.15.
    # Enterprise: 200.00 × 0.35 % × 153 / 360 = 107.1 / 360 = 0.2975 → 0.30.
    day = d(2025, 11, 3)
    given(*DISPUTED).when(
        cmd.Resolve("deposit", "mediation", D("100.00"), D("200.00")), on=day
    ).then(
        ev.DisputeResolved(
            on=day,
            fund="deposit",
            via="mediation",
            to_tenant=D("100.00"),
            to_enterprise=D("200.00"),
        ),
        instructed(day, 2, "deposit", "refund", "tenant", "100.00", execute_on=day),
        instructed(day, 3, "deposit", "deduction", "enterprise", "200.00", execute_on=day),
        executed(day, 2, "deposit", "100.00", days=153, interest="0.15", interest_to="tenant"),
        executed(day, 3, "deposit", "200.00", days=153, interest="0.30", interest_to="enterprise"),
    )


def test_a_split_that_does_not_add_up_to_the_disputed_amount_is_refused() -> None:
    given(*DISPUTED).when(
        cmd.Resolve("deposit", "court", D("100.00"), D("100.00")), on=d(2025, 11, 3)
    ).refused(SplitMismatch, r"= 200\.00, but 300\.00 of deposit is in dispute")


def test_a_resolution_without_a_dispute_is_refused() -> None:
    given(*PROPOSED).when(
        cmd.Resolve("deposit", "negotiation", D("300.00"), D("0.00")), on=d(2025, 10, 13)
    ).refused(NoDispute, "deposit refund is not in dispute")


# --- Tick: the deadlines ------------------------------------------------------------------------


def test_silence_brings_a_reminder_then_the_opinion_applies_on_the_next_working_day() -> None:
    # Rule 5, the worked example: reminder Wed 10-15 (second deadline Fri 10-17); deemed agreed
    # Sat 10-18, no working day, so the 300.00 goes out Mon 10-20. Days 06-03 → 10-20 = 139:
    # 300.00 × 0.35 % × 139 / 360 = 1.05 × 139 / 360 = 145.95 / 360 = 0.4054… → 0.41.
    given(*PROPOSED).when(cmd.Tick(), on=d(2025, 10, 20)).then(
        ev.ReminderIssued(on=d(2025, 10, 15), fund="deposit", second_deadline=d(2025, 10, 17)),
        ev.DeemedAgreed(on=d(2025, 10, 18), fund="deposit"),
        instructed(
            d(2025, 10, 18),
            2,
            "deposit",
            "deduction",
            "enterprise",
            "300.00",
            execute_on=d(2025, 10, 20),
        ),
        executed(
            d(2025, 10, 20),
            2,
            "deposit",
            "300.00",
            days=139,
            interest="0.41",
            interest_to="enterprise",
        ),
    )


def test_nothing_happens_on_the_deadline_day_itself() -> None:
    # The enterprise's deadline is the end of Sat 10-11.
    given(*RETURNED).when(cmd.Tick(), on=d(2025, 10, 11)).then()


def test_a_missed_opinion_refunds_the_whole_deposit_from_the_next_day() -> None:
    # Rule 6: missed on Sun 10-12 (the day after 10-11); the refund settles Mon 10-13 (rule 11).
    # Days 06-03 → 10-13 = 132: 5,000.00 × 0.35 % × 132 / 360 = 17.5 × 132 / 360
    # = 2,310 / 360 = 6.4166… → 6.42.
    given(*RETURNED).when(cmd.Tick(), on=d(2025, 10, 13)).then(
        ev.EnterpriseDeadlineMissed(on=d(2025, 10, 12), fund="deposit"),
        instructed(
            d(2025, 10, 12),
            1,
            "deposit",
            "refund",
            "tenant",
            "5000.00",
            execute_on=d(2025, 10, 13),
        ),
        executed(
            d(2025, 10, 13),
            1,
            "deposit",
            "5000.00",
            days=132,
            interest="6.42",
            interest_to="tenant",
        ),
    )


def test_a_tick_before_the_last_recorded_day_is_refused() -> None:
    given(*RETURNED).when(cmd.Tick(), on=d(2025, 9, 29)).refused(
        ClockError, "2025-09-29 is before 2025-09-30"
    )


# --- two deposit lots: oldest first, the tenant's part first (rule 7) ---------------------------


def test_the_tenants_part_comes_from_the_oldest_lot_and_each_lot_earns_its_own_interest() -> None:
    # Lot 1: 3,000.00 on 06-03; lot 2: 2,000.00 on Tue 06-10. Opinion Fri 10-10 deducting 2,500.00:
    # the tenant's 2,500.00 comes from lot 1 (oldest), 129 days:
    #   2,500.00 × 0.35 % × 129 / 360 = 8.75 × 129 / 360 = 1,128.75 / 360 = 3.1354… → 3.14.
    # The tenant agrees Mon 10-13: the enterprise's 2,500.00 is what is left, 500.00 of lot 1
    # (132 days) and 2,000.00 of lot 2 (06-10 → 10-13 = 20 + 31 + 31 + 30 + 13 = 125 days):
    #   500.00 × 0.35 % × 132 / 360 = 1.75 × 132 / 360 = 231 / 360 = 0.6416… → 0.64;
    #   2,000.00 × 0.35 % × 125 / 360 = 7 × 125 / 360 = 875 / 360 = 2.4305… → 2.43.
    lot2_day = d(2025, 6, 10)
    monday = d(2025, 10, 13)
    damage = ev.Deduction(item="damage", amount=D("2500.00"))
    two_lots = (
        OPENED,
        ev.DepositReceived(on=d(2025, 6, 3), amount=D("3000.00"), channel="bank", lot=1),
        ev.DepositReceived(on=lot2_day, amount=D("2000.00"), channel="bank", lot=2),
        ev.HomeReturned(on=RETURN_DAY),
        ev.RefundWorkflowOpened(
            on=RETURN_DAY, fund="deposit", held=D("5000.00"), deadline=d(2025, 10, 11)
        ),
    )
    proposed = (
        ev.RefundProposed(
            on=OPINION_DAY, fund="deposit", deductions=(damage,), answer_deadline=d(2025, 10, 14)
        ),
        instructed(
            OPINION_DAY, 1, "deposit", "refund", "tenant", "2500.00", execute_on=OPINION_DAY
        ),
        executed(
            OPINION_DAY, 1, "deposit", "2500.00", days=129, interest="3.14", interest_to="tenant"
        ),
    )
    given(*two_lots).when(cmd.ProposeRefund("deposit", (damage,)), on=OPINION_DAY).then(*proposed)
    given(*two_lots, *proposed).when(cmd.TenantAgree("deposit"), on=monday).then(
        ev.TenantAnswered(on=monday, fund="deposit", agreed=True),
        ev.PayoutInstructed(
            on=monday,
            fund="deposit",
            payout=2,
            kind="deduction",
            to="enterprise",
            pieces=(
                ev.Piece(lot=1, arrived=d(2025, 6, 3), principal=D("500.00")),
                ev.Piece(lot=2, arrived=lot2_day, principal=D("2000.00")),
            ),
            execute_on=monday,
        ),
        ev.PayoutExecuted(
            on=monday,
            fund="deposit",
            payout=2,
            annual_percent=D("0.35"),
            pieces=(
                ev.PaidPiece(
                    lot=1, arrived=d(2025, 6, 3), principal=D("500.00"), days=132,
                    interest=D("0.64"),
                ),
                ev.PaidPiece(
                    lot=2, arrived=lot2_day, principal=D("2000.00"), days=125,
                    interest=D("2.43"),
                ),
            ),
            interest_to="enterprise",
        ),
    )  # fmt: skip
