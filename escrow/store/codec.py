"""The codec: how an event becomes the type and JSON text an ``events`` row keeps, and back."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import TypeAdapter, ValidationError

from escrow.domain.event_base import Event
from escrow.errors import IntegrityError, StoreError


class EventCodec(Protocol):
    """Turns events into (type, JSON text) and back."""

    def encode(self, event: Event) -> tuple[str, str]:
        """The event's type and its JSON text."""
        ...

    def decode(self, type_: str, data: str) -> Event:
        """The event stored as ``data``; raises IntegrityError when it cannot be read."""
        ...


class PydanticCodec:
    """An :class:`EventCodec` over a TypeAdapter of a discriminated union of Event subclasses.

    The first event of each class is round-tripped on encode, so an event the adapter cannot
    read back is refused before anything is written.
    """

    def __init__(self, adapter: TypeAdapter[Any]) -> None:
        self._adapter = adapter
        self._checked: set[type[Event]] = set()

    def encode(self, event: Event) -> tuple[str, str]:
        # The event's own serializer writes what the union's would (checked below per class),
        # without the union's dispatch.
        data = event.__pydantic_serializer__.to_json(event, warnings=False).decode()
        cls = type(event)
        if cls not in self._checked:
            try:
                back = self._adapter.validate_json(data)
            except ValidationError as exc:
                raise StoreError(
                    f"event type {event.type!r} ({cls.__name__}) is not one this codec can"
                    f" read back: {_first_error(exc)}"
                ) from None
            if type(back) is not cls or back != event:
                raise StoreError(f"event type {event.type!r} does not survive a round trip")
            self._checked.add(cls)
        return event.type, data

    def decode(self, type_: str, data: str) -> Event:
        try:
            # The adapter's own validator: TypeAdapter.validate_json adds a call layer per row.
            event = self._adapter.validator.validate_json(data)
        except ValidationError as exc:
            raise IntegrityError(
                f"cannot decode event of type {type_!r}: {_first_error(exc)}"
            ) from None
        if not isinstance(event, Event) or event.type != type_:
            raise IntegrityError(f"stored type {type_!r} does not match the decoded event")
        return event


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    return str(errors[0]["msg"]) if errors else str(exc)
