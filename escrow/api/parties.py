"""The parties of the supervision system (Art. 7) and who each one is."""

from __future__ import annotations

import dataclasses
import enum

from escrow.errors import InputError
from escrow.identifiers import check_id
from escrow.notify import parties


class Role(enum.StrEnum):
    """Who uses the supervision system (Art. 7)."""

    FUND_CENTRE = "fund_centre"
    """The housing fund management centre: bank notices, account changes, the clock."""
    ENTERPRISE = "enterprise"
    """A rental enterprise: opens its contracts, gives refund opinions."""
    TENANT = "tenant"
    """A tenant: sees their own contracts, answers refund opinions."""
    ASSOCIATION = "association"
    """The mediation association (the rental association): records resolutions."""
    DISTRICT = "district"
    """A district housing authority: suspends and resumes releases to an enterprise (Art. 20)."""
    AUDITOR = "auditor"
    """Reads everything, writes nothing."""


# One set of rules for party keys: the webhooks' (escrow.notify.parties) and the tokens'.
SUBJECT_REQUIRED = frozenset(Role(role) for role in parties.SUBJECT_REQUIRED)
SUBJECT_ALLOWED = frozenset(Role(role) for role in parties.SUBJECT_ALLOWED)


@dataclasses.dataclass(frozen=True, slots=True)
class Party:
    """One user of the system: a role and, for an enterprise or a tenant, whose id it is."""

    role: Role
    subject: str | None = None

    @property
    def key(self) -> str:
        """``role`` or ``role:subject``: how the party is named in stored rows."""
        return self.role.value if self.subject is None else f"{self.role.value}:{self.subject}"


def party(role: str, subject: str | None) -> Party:
    """The party ``role`` (a :class:`Role` value) ``subject``, checked (InputError naming it)."""
    try:
        chosen = Role(role)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InputError(f"role: {role!r} is not one of {names}") from None
    if chosen in SUBJECT_REQUIRED:
        if subject is None:
            raise InputError(f"role {chosen.value} needs a subject (the {chosen.value}'s id)")
        subject = check_id(subject, "subject")
    elif subject is not None:
        if chosen not in SUBJECT_ALLOWED:
            raise InputError(f"role {chosen.value} is one party: give no subject")
        subject = check_id(subject, "subject")  # a district's name
    return Party(chosen, subject)
