"""The event classes are final: the folds dispatch on an event's exact type (a set lookup, where
``isinstance`` on a pydantic class is an ABC check), which is right only if no event class
subclasses another."""

from __future__ import annotations

import ast
import inspect
import textwrap
import typing
from collections.abc import Callable

from escrow import projections
from escrow.domain import events as ev
from escrow.domain import ledger
from escrow.domain.event_base import Event


def concrete_event_classes() -> list[type[Event]]:
    union = typing.get_args(ev.AnyEvent)[0]
    return list(typing.get_args(union))


def test_every_event_class_in_the_union_subclasses_event_directly() -> None:
    classes = concrete_event_classes()

    assert len(classes) == 25  # every member of AnyEvent was found
    for cls in classes:
        assert cls.__bases__ == (Event,), cls


def test_no_event_class_is_subclassed() -> None:
    for cls in concrete_event_classes():
        assert cls.__subclasses__() == [], cls
    # And nothing else derives from Event outside the union (test doubles aside).
    outside = {c for c in Event.__subclasses__() if c.__module__.startswith("escrow.")}
    assert outside == set(concrete_event_classes())


def classes_matched_in(function: Callable[..., object]) -> set[type[Event]]:
    """The event classes named in the ``case ev.X(...)`` patterns of ``function``'s source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = {
        node.cls.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.MatchClass) and isinstance(node.cls, ast.Attribute)
    }
    return {getattr(ev, name) for name in names}


def test_the_early_returns_of_the_folds_cover_every_case_they_guard() -> None:
    """transfers_of and notices_of return early for event types outside a set; every class their
    match statements handle must be in that set, or its case would never run."""
    money = classes_matched_in(ledger.transfers_of)
    noticed = classes_matched_in(projections.notices_of)
    provisional = classes_matched_in(projections._provisional_deadline)

    assert money == ledger._MONEY_EVENTS
    assert provisional == projections._PROVISIONAL_EVENTS
    assert noticed | provisional == projections._NOTICE_EVENTS
