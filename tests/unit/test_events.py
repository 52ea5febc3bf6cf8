"""The event classes are final: the folds dispatch on an event's exact type (a set lookup, where
``isinstance`` on a pydantic class is an ABC check), which is right only if no event class
subclasses another."""

from __future__ import annotations

import typing

from escrow.domain import events as ev
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
