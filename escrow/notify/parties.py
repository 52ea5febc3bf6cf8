"""Parties and who receives a message: the recipients of each kind of notice.

A **party key** names a user of the supervision system (Art. 7): ``fund_centre``, ``auditor``,
``association``, ``district`` (every district authority) or ``district:<name>`` (one),
``enterprise:<enterprise id>`` and ``tenant:<tenant id>`` (the ``tenant`` of a contract's
terms). A webhook is registered for one party key and gets the messages whose recipients
include it (:func:`receives`).

Who receives what (:func:`recipients`):

- a message about a contract (``reminder``, ``enterprise_deadline_missed``, ``deemed_agreed``,
  ``releases_held``) goes to the contract's enterprise and tenant, to the fund centre that keeps
  the accounts (Art. 7) and to the auditor, who reads everything;
- ``releases_held`` (Art. 20: releases to the enterprise suspended by the authorities) also goes
  to ``district``: the district authorities that suspend and resume releases see what their
  suspension holds;
- ``authority_notice_due`` (Art. 18: a moved account must be notified to the housing authority
  by this day) concerns no contract: it goes to the fund centre, whose duty it is, and the
  auditor.
"""

from __future__ import annotations

from escrow.errors import InputError
from escrow.identifiers import id_problem

ROLES = ("fund_centre", "enterprise", "tenant", "association", "district", "auditor")
"""The parties' roles (Art. 7: the fund centre, rental enterprises, tenants, the mediation
association, the district authorities; and an auditor who reads everything)."""

SUBJECT_REQUIRED = frozenset({"enterprise", "tenant"})
"""Roles whose party is one of many: an enterprise by its id, a tenant by theirs."""
SUBJECT_ALLOWED = frozenset({"enterprise", "tenant", "district"})
"""Roles whose party may be named: also a district authority (by its district's name)."""

FUND_CENTRE = "fund_centre"
AUDITOR = "auditor"
DISTRICT = "district"

CONTRACT_KINDS = frozenset(
    {"reminder", "enterprise_deadline_missed", "deemed_agreed", "releases_held"}
)
"""Kinds of message about one contract."""
LEDGER_KINDS = frozenset({"authority_notice_due"})
"""Kinds of message about the ledger as a whole (no contract)."""


def recipients(kind: str, enterprise: str | None, tenant: str | None) -> tuple[str, ...]:
    """The party keys a message of ``kind`` about a contract of ``enterprise`` and ``tenant``
    goes to (see the module's docstring); a pure function of the three."""
    out: list[str] = []
    if enterprise is not None:
        out.append(f"enterprise:{enterprise}")
    if tenant is not None:
        out.append(f"tenant:{tenant}")
    out += [FUND_CENTRE, AUDITOR]
    if kind == "releases_held":
        out.append(DISTRICT)
    return tuple(out)


def receives(party: str, recipient: str) -> bool:
    """Whether a webhook of ``party`` gets a message for ``recipient``: the same key, or a
    role-wide recipient (``district``) and a party of that role (``district:Haidian``)."""
    if party == recipient:
        return True
    return ":" not in recipient and party.startswith(recipient + ":")


def check_party(value: object, where: str = "party") -> str:
    """``value`` if it is a party key (``role`` or ``role:subject``); a one-line
    :class:`~escrow.errors.InputError` naming ``where`` if not."""
    if not isinstance(value, str):
        raise InputError(f"{where}: must be a string, got {type(value).__name__}")
    role, colon, subject = value.partition(":")
    if role not in ROLES:
        raise InputError(
            f"{where}: {value[:40]!r} is not a party: give one of {', '.join(ROLES)}"
            " (enterprise:ID, tenant:ID, district or district:NAME)"
        )
    if not colon and role in SUBJECT_REQUIRED:
        raise InputError(f"{where}: say which {role}: {role}:ID")
    if colon and role not in SUBJECT_ALLOWED:
        raise InputError(f"{where}: {role} is one party, without ':…'")
    if colon:
        problem = id_problem(subject)
        if problem is not None:
            raise InputError(f"{where}: the {role}'s id {problem}")
    return value
