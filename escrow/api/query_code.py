"""The query code printed on a contract: with the filing number, a tenant's key to their page.

Art. 19 lets a tenant look up what is held for them by the contract's filing number (备案编号).
A filing number is no secret (it is printed on the contract and known to the enterprise and the
district), so the tenant's page also asks for a **query code** (查询码): 8 decimal digits,
HMAC-SHA256 of the contract id under a secret of the ledger, printed on the contract by the
enterprise (``escrow query-code``) and returned when the contract is opened over HTTP.

The secret is 32 random bytes kept in the ``escrow_meta`` table under ``query_code_secret``,
created on first use inside a write transaction (so two processes asking at once agree on one).
A code is never stored: it is derived again when checked, and compared in constant time.
:func:`contract_for_query` answers None for an unknown filing number and for a wrong code alike,
after the same work, so the page can never tell whether a filing number exists.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import unicodedata

from escrow import arguments as arg
from escrow.errors import EscrowError, StoreError
from escrow.service import Ledger
from escrow.store import EventStoreLike

__all__ = ["CODE_DIGITS", "SECRET_KEY", "contract_for_query", "query_code"]

SECRET_KEY = "query_code_secret"
"""The ``escrow_meta`` key of the ledger's query-code secret (64 hex digits)."""
SECRET_BYTES = 32
CODE_DIGITS = 8
_DOMAIN = b"escrow query code v1\x00"
"""Prefixed to the contract id before the HMAC: this secret signs nothing else."""
_CODE = re.compile(rf"[0-9]{{{CODE_DIGITS}}}", re.ASCII)
_SEPARATORS = str.maketrans("", "", " -")
_NO_CONTRACT = "\x00no contract"
"""An id no contract can have (ids have no control characters): the HMAC an unknown filing
number still costs, so that it takes as long as a wrong code."""


def _store(store_or_ledger: EventStoreLike | Ledger) -> EventStoreLike:
    return store_or_ledger.store if isinstance(store_or_ledger, Ledger) else store_or_ledger


def _secret(store: EventStoreLike, *, create: bool) -> bytes | None:
    """The ledger's secret; created (when ``create``) in a write transaction if it is missing."""
    value = store.meta_value(SECRET_KEY)
    if value is None and create:
        if store.read_only:
            raise StoreError(
                "this ledger has no query-code secret yet and is open read-only: open it for"
                " writing to create one"
            )
        with store.transaction() as conn:
            value = store.meta_value(SECRET_KEY)  # another process may have made it meanwhile
            if value is None:
                value = secrets.token_hex(SECRET_BYTES)
                store.set_meta(conn, SECRET_KEY, value)
    return None if value is None else bytes.fromhex(value)


def _code(secret: bytes, contract: str) -> str:
    digest = hmac.new(secret, _DOMAIN + contract.encode("utf-8"), hashlib.sha256).digest()
    # 64 bits reduced mod 10^8: every code is within 2^-37 of equally likely.
    return f"{int.from_bytes(digest[:8], 'big') % 10**CODE_DIGITS:0{CODE_DIGITS}d}"


def query_code(store_or_ledger: EventStoreLike | Ledger, contract_id: str) -> str:
    """The 8-digit query code of ``contract_id`` (creating the ledger's secret on first use).

    Does not check that the ledger holds the contract (the caller may be opening it in the same
    transaction); a code for an id no contract has opens nothing.
    """
    contract = arg.contract(contract_id)
    secret = _secret(_store(store_or_ledger), create=True)
    assert secret is not None
    return _code(secret, contract)


def normalised_code(text: str) -> str | None:
    """What a tenant typed as a code, as 8 ASCII digits (full-width digits, spaces and hyphens
    allowed), or None when it cannot be a code."""
    code = unicodedata.normalize("NFKC", text).translate(_SEPARATORS)
    return code if _CODE.fullmatch(code) else None


def contract_for_query(ledger: Ledger, filing_no: str, code: str) -> str | None:
    """The contract with ``filing_no`` if ``code`` is its query code; None otherwise.

    None alike for a malformed or unknown filing number, a malformed code and a wrong code (the
    HMAC is computed and compared in every case). Never writes: a ledger whose secret was never
    created has issued no code, so every answer is None.
    """
    try:
        contract: str | None = ledger.contract_for_filing(filing_no.strip())
    except EscrowError:
        contract = None
    secret = _secret(ledger.store, create=False)
    expected = _code(secret or b"\x00" * SECRET_BYTES, contract or _NO_CONTRACT)
    given = normalised_code(code) or ""
    matches = hmac.compare_digest(expected.encode("ascii"), given.encode("ascii"))
    return contract if matches and secret is not None else None
