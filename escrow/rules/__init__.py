"""Rule packs: the regulation's parameters as data, chosen per contract by its flags and dates."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Literal

from escrow.domain.terms import ContractTerms
from escrow.errors import ContractRefused, InputError
from escrow.interest import BUILTIN_TABLES, DEFAULT_RATE_TABLE, RateTable

InterestTo = Literal["recipient", "tenant"]


@dataclasses.dataclass(frozen=True)
class RulePack:
    """Every number the rules use, so a platform can change one without touching code.

    Defaults are the `beijing-2024` pack: 京建法〔2024〕8号, in force from 2024-10-01 (Art. 22).
    """

    name: str = "beijing-2024"
    in_force_from: dt.date = dt.date(2024, 10, 1)
    opinion_working_days: int = 3
    """Art. 10 / Art. 15: the enterprise's refund opinion within 3 working days of the return."""
    answer_working_days: int = 3
    """Art. 10 / Art. 15: the tenant's 3 working days to agree or disagree."""
    reminder_working_days: int = 3
    """Art. 10 / Art. 15: after a reminder, 3 more working days."""
    authority_notice_working_days: int = 3
    """Art. 18: the new account is notified within 3 working days of the change."""
    supervision_threshold_months: int = 3
    """Art. 13: prepaid rent of MORE than this many months goes into supervision."""
    first_release_months: int = 3
    """Art. 14: the first 3 months' rent is released within 1 day of arrival."""
    day_basis: int = 360
    """docs/rules.md rule 16: annual rate / 360."""
    settle_on_working_days: bool = True
    """docs/rules.md rule 11: outgoing transfers execute on working days only."""
    deducted_interest_to: InterestTo = "recipient"
    """docs/rules.md rule 7: who receives the interest of deducted principal."""
    rate_table: RateTable = BUILTIN_TABLES[DEFAULT_RATE_TABLE]

    def check_contract(self, contract: ContractTerms) -> None:
        """Refuse a contract this pack does not govern (Art. 22: in force from 2024-10-01).

        Affordable rental housing (保障性租赁住房, Art. 21) "may carry other rules"; none is
        published for Beijing, so this pack governs it too until a platform registers another.
        """
        if contract.start < self.in_force_from:
            raise ContractRefused(
                f"contract {contract.id} starts on {contract.start}, before {self.in_force_from}"
                f" when the {self.name} rules came into force (Art. 22)"
            )

    def with_parameters(
        self,
        *,
        day_basis: int | None = None,
        settle_on_working_days: bool | None = None,
        deducted_interest_to: InterestTo | None = None,
        rate_table: RateTable | None = None,
    ) -> RulePack:
        """A copy with the given parameters changed."""
        changes: dict[str, object] = {}
        if day_basis is not None:
            if day_basis not in (360, 365):
                raise InputError(f"day_basis must be 360 or 365, not {day_basis}")
            changes["day_basis"] = day_basis
        if settle_on_working_days is not None:
            changes["settle_on_working_days"] = settle_on_working_days
        if deducted_interest_to is not None:
            changes["deducted_interest_to"] = deducted_interest_to
        if rate_table is not None:
            changes["rate_table"] = rate_table
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


BEIJING_2024 = RulePack()

RULE_PACKS: dict[str, RulePack] = {BEIJING_2024.name: BEIJING_2024}


def rule_pack(name: str) -> RulePack:
    """The rule pack called `name`."""
    try:
        return RULE_PACKS[name]
    except KeyError:
        known = ", ".join(sorted(RULE_PACKS))
        raise InputError(f"unknown rule pack {name!r} (known: {known})") from None
