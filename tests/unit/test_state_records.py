"""``state._replace`` skips ``dataclasses.replace``'s field-name check (it is the domain's
hottest line); this test does the check instead, for every call in the module's source."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import inspect
from decimal import Decimal

from escrow.domain import state

RECORDS = (state.Lot, state.Payout, state.Workflow, state.ContractState)


def test_every_replaced_field_is_a_field_of_a_state_record() -> None:
    fields = {f.name for record in RECORDS for f in dataclasses.fields(record)}
    calls = [
        node
        for node in ast.walk(ast.parse(inspect.getsource(state)))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_replace"
    ]
    named = {keyword.arg for call in calls for keyword in call.keywords}

    assert len(calls) > 20  # the module's calls were found
    assert None not in named  # no **changes passed through
    assert named <= fields, named - fields


def test_replace_builds_an_equal_frozen_record_and_leaves_the_original() -> None:
    lot = state.Lot(no=1, arrived=dt.date(2025, 1, 1), amount=Decimal(3), remaining=Decimal(3))

    taken = state._replace(lot, remaining=Decimal(1))

    assert taken == dataclasses.replace(lot, remaining=Decimal(1))
    assert lot.remaining == Decimal(3)
    assert hash(taken) == hash(dataclasses.replace(lot, remaining=Decimal(1)))
    try:
        taken.remaining = Decimal(0)  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:  # pragma: no cover
        raise AssertionError("the copy must stay frozen")
