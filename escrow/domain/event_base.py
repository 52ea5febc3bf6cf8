"""The base of every event: a frozen fact with a type and an effective (business) date."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict


class Event(BaseModel):
    """A fact that happened, in the past tense.

    ``type`` is the discriminator (a ``Literal`` in each subclass); ``on`` is the effective
    (business) date the fact belongs to. The recorded time is kept by the store, not here.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    on: dt.date
