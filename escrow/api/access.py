"""Who may do what (Art. 7: each party of the supervision system sees what concerns it).

A role either may use an endpoint or may not (``403``, whatever the contract). A party that may
use a contract's endpoint is then checked against the contract itself: an enterprise sees only
its own contracts, a tenant only theirs; anybody else's contract, and a contract that does not
exist, answer the same ``404`` (a party never learns whether another party's contract exists).
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow.api.parties import Party, Role
from escrow.api.problems import Problem
from escrow.store.protocol import EventStoreLike
from escrow.store.readmodel import ContractRow

_CONTRACTS: sa.Table = ContractRow.__table__  # type: ignore[attr-defined]

EVERYONE = frozenset(Role)
"""Every role (reads of a contract: scoped to its own for an enterprise or a tenant)."""
OVERSIGHT = frozenset({Role.FUND_CENTRE, Role.AUDITOR})
"""Who sees the whole ledger at once (ledger-wide lists, the run report)."""


def require(party: Party, allowed: Iterable[Role], what: str) -> None:
    """``403`` unless ``party``'s role is one of ``allowed``."""
    if party.role not in allowed:
        raise Problem(403, "Forbidden", f"a {party.role.value} may not {what}")


def not_found(contract: str) -> Problem:
    return Problem(404, "UnknownContract", f"unknown contract {contract!r}")


def owns(party: Party, enterprise: str, tenant: str) -> bool:
    """Whether ``party`` may see a contract between ``tenant`` and ``enterprise``."""
    if party.role is Role.ENTERPRISE:
        return party.subject == enterprise
    if party.role is Role.TENANT:
        return party.subject == tenant
    return True


def check_contract(store: EventStoreLike, party: Party, contract: str) -> tuple[str, str]:
    """The contract's (enterprise, tenant); ``404`` when it is not there or not ``party``'s."""
    query = sa.select(_CONTRACTS.c.enterprise, _CONTRACTS.c.tenant).where(
        _CONTRACTS.c.contract == contract
    )
    with store.connection() as conn:
        row = conn.execute(query).first()
    if row is None or not owns(party, row.enterprise, row.tenant):
        raise not_found(contract)
    return row.enterprise, row.tenant


SCOPED = frozenset({Role.ENTERPRISE, Role.TENANT})
"""Roles that see only their own contracts."""


def check_scope(store: EventStoreLike, party: Party, contract: str) -> None:
    """Before an act on ``contract``: ``404`` unless it is the party's, for an enterprise or a
    tenant. A party that sees every contract acting on one that is not there is answered by the
    ledger itself: the refusal is recorded (as a scenario run records it: a bank notice for a
    contract the ledger does not hold is on the books as refused) and answered ``404``."""
    if party.role in SCOPED:
        check_contract(store, party, contract)


def contract_enterprise(conn: Connection, contract: str) -> str | None:
    """The enterprise of ``contract`` (None when there is none)."""
    query = sa.select(_CONTRACTS.c.enterprise).where(_CONTRACTS.c.contract == contract)
    return conn.execute(query).scalar()


def filing_enterprise(conn: Connection, filing_no: str) -> str | None:
    """The enterprise of the contract filed as ``filing_no`` (None when there is none)."""
    query = sa.select(_CONTRACTS.c.enterprise).where(_CONTRACTS.c.filing_no == filing_no)
    return conn.execute(query).scalar()


def visible_contracts(
    store: EventStoreLike, party: Party, *, after: str | None = None, limit: int | None = None
) -> list[str]:
    """The contracts ``party`` may see, by id: those after ``after``, at most ``limit`` (one
    page read by the table's key, whatever the size of the ledger)."""
    query = sa.select(_CONTRACTS.c.contract).order_by(_CONTRACTS.c.contract)
    if after is not None:
        query = query.where(_CONTRACTS.c.contract > after)
    if limit is not None:
        query = query.limit(limit)
    if party.role is Role.ENTERPRISE:
        query = query.where(_CONTRACTS.c.enterprise == party.subject)
    elif party.role is Role.TENANT:
        query = query.where(_CONTRACTS.c.tenant == party.subject)
    with store.connection() as conn:
        return [row[0] for row in conn.execute(query)]
