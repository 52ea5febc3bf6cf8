"""Shared helpers of the reliability suite (issue 6): invariants, figures, a TOML writer and a
generator of large scenarios.

Imported by the test modules of this directory as ``reliability_support`` (pytest puts the
directory on ``sys.path``), and by the worker processes of the concurrency test, which are
started with ``spawn`` and so import it afresh.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import sqlite3
import sys
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from typing import Any

from escrow import merkle
from escrow.domain import events as ev
from escrow.domain.ledger import postings_of
from escrow.projector import CONTRACT, drift
from escrow.service import Ledger
from escrow.store import TREE_LEVEL, StoredRow, row_hash

ZERO = Decimal("0.00")
OUT_OF_ESCROW = ("release", "refund", "deduction")
ESCROW_PREFIXES = ("custody@", "supervision@")

# What ``escrow`` is on the command line, without relying on a script on PATH: the console entry
# point ``escrow.__main__:main``, as ``python -m escrow`` runs it.
ESCROW = [sys.executable, "-m", "escrow"]


# --- the money invariants -----------------------------------------------------------------------


def check_read_models(ledger: Ledger) -> None:
    """Replay equals live: every read model (transfers, notices, held, deadlines, schedule, the
    contracts, the clock…) equals a rebuild from the stored events alone, row for row
    (:func:`escrow.projector.drift`, which rebuilds in a private database)."""
    found = drift(ledger.store)
    assert found == [], found


def check_invariants(ledger: Ledger) -> None:
    """Postings sum to zero, no escrow account below zero, money in = money out + held.

    Computed from the ledger's transfers (in the order executed) and their postings, and compared
    with ``ledger.held()``: per contract and fund, what the postings leave in the escrow accounts
    is exactly what is held.
    """
    transfers = ledger.transfers()
    balances: dict[str, Decimal] = defaultdict(lambda: ZERO)
    total = ZERO
    money_in: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    money_out: dict[tuple[str, str], Decimal] = defaultdict(lambda: ZERO)
    for t in transfers:
        postings = postings_of(t)
        step = sum((p.amount for p in postings), ZERO)
        assert step == ZERO, f"unbalanced transfer {t}"
        total += step
        for p in postings:
            balances[p.account] += p.amount
            if p.account.startswith(ESCROW_PREFIXES):
                assert balances[p.account] >= ZERO, (
                    f"{p.account} went below zero ({balances[p.account]}) at {t}"
                )
        assert t.principal >= ZERO and t.interest >= ZERO, f"negative amount in {t}"
        if t.kind == "payment_in":
            money_in[(t.contract, t.fund)] += t.principal
        elif t.kind in OUT_OF_ESCROW:
            money_out[(t.contract, t.fund)] += t.principal
    assert total == ZERO, f"postings sum to {total}, not zero"
    held = ledger.held()
    for contract, funds in held.items():
        for fund, amount in funds.items():
            assert amount >= ZERO, f"{contract} {fund}: held {amount} is below zero"
            key = (contract, fund)
            assert money_in[key] == money_out[key] + amount, (
                f"{contract} {fund}: in {money_in[key]} != out {money_out[key]} + held {amount}"
            )
            prefix = "custody@" if fund == "deposit" else "supervision@"
            left = sum(
                (
                    v
                    for account, v in balances.items()
                    if account.startswith(prefix) and account.endswith(f":{contract}")
                ),
                ZERO,
            )
            assert left == amount, (
                f"{contract} {fund}: postings leave {left} in {prefix}…, held() says {amount}"
            )
    stray = {c for c, _ in money_in} - set(held)
    assert not stray, f"money paid in for contracts the ledger does not hold: {stray}"
    for contract in held:
        check_nothing_stuck(ledger, contract)


def check_nothing_stuck(ledger: Ledger, contract: str) -> None:
    """Money in escrow always has a way out to the party the rules name: nothing is held for
    ever, and no rent held at the return reaches the enterprise.

    - A payout held by a suspension (rule 13) exists only while the enterprise is suspended, and
      only from supervision to the enterprise: otherwise nothing would ever free it.
    - No release is instructed after the return (rules 12 and 13: later releases do not happen;
      releases held at the return are cancelled and none is instructed again).
    - After the return, a fund without a refund workflow holds nothing unreserved (rule 8); one
      whose workflow has closed holds nothing unreserved either; a disputed one holds exactly the
      disputed deductions, which await a resolution.
    """
    state = ledger.state_as_of(contract)
    for payout in state.payouts:
        if payout.execute_on is None:
            assert state.suspended, f"{contract}: payout {payout.no} is held with no suspension"
            assert (payout.fund, payout.to) == ("rent", "enterprise"), (
                f"{contract}: payout {payout.no} ({payout.fund} to {payout.to}) is held"
            )
    if state.returned_on is None:
        return
    returned = False
    for stored in ledger.store.load(CONTRACT + contract):
        event = stored.event
        returned = returned or isinstance(event, ev.HomeReturned)
        if returned and isinstance(event, ev.PayoutInstructed):
            assert event.kind != "release", (
                f"{contract}: release {event.payout} ({event.on}) instructed after the return on"
                f" {state.returned_on}"
            )
    for fund in ("deposit", "rent"):
        wf = state.workflow(fund)
        left = state.unreserved(fund)
        if wf is None or wf.stage == "closed":
            outcome = "no workflow" if wf is None else wf.outcome
            assert left == ZERO, f"{contract} {fund}: {left} stays after the return ({outcome})"
        elif wf.stage == "disputed":
            assert left == wf.deducted, (
                f"{contract} {fund}: {left} held in dispute, the deductions are {wf.deducted}"
            )


# --- reading a SQLite ledger file directly ------------------------------------------------------

ROW = (
    "position, stream, version, type, effective_date, recorded_at, data, idempotency_key,"
    " prev_hash, hash"
)


def rows(con: sqlite3.Connection) -> list[StoredRow]:
    return [StoredRow(*r) for r in con.execute(f"SELECT {ROW} FROM events ORDER BY position")]


def recompute(con: sqlite3.Connection) -> None:
    """What a careful attacker does after an edit: every hash from position 1 on, the chain head
    and the Merkle tree's kept nodes, with escrow's own hashing."""
    prev = "0" * 64
    tree = merkle.CompactRange()
    nodes = []
    recorded = None
    for row in rows(con):
        recorded = row.recorded_at
        fixed = row._replace(prev_hash=prev)
        digest = row_hash(fixed)
        con.execute(
            "UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?",
            (prev, digest, row.position),
        )
        for (level, index), node in tree.append(merkle.leaf_hash(bytes.fromhex(digest))):
            if level >= TREE_LEVEL:
                nodes.append((level, index, node.hex()))
        prev = digest
    peaks = ",".join(peak.hex() for peak in tree.peaks)
    con.execute(
        "UPDATE chain_head SET position = ?, hash = ?, recorded_at = ?, peaks = ?",
        (tree.size, prev, recorded, peaks),
    )
    con.execute("DELETE FROM merkle_nodes")
    con.executemany("INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)", nodes)





def event_count(path: str | Path) -> int:
    """Rows in the events table (0 when the file or the table does not exist yet)."""
    if not Path(path).exists():
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def key_spans_complete(path: str | Path) -> list[str]:
    """Problems with the idempotency keys: every key's span of rows must be wholly present.

    An act is appended in one transaction with its key; a key whose rows are missing (or rows of
    an append without their key row) would be a half-applied command.
    """
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        problems = []
        positions = {p for (p,) in con.execute("SELECT position FROM events")}
        for key, first, last in con.execute(
            "SELECT key, first_position, last_position FROM idempotency_keys"
        ):
            missing = [p for p in range(first, last + 1) if p not in positions]
            if missing:
                problems.append(f"key {key}: rows {missing} missing")
            row = con.execute(
                "SELECT idempotency_key FROM events WHERE position = ?", (first,)
            ).fetchone()
            if row is None or row[0] != key:
                problems.append(f"key {key}: not on its first row {first}")
        keyed = con.execute(
            "SELECT count(*) FROM events e WHERE e.idempotency_key IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM idempotency_keys k WHERE k.key = e.idempotency_key)"
        ).fetchone()[0]
        if keyed:
            problems.append(f"{keyed} keyed rows without their idempotency_keys entry")
        return problems
    finally:
        con.close()


def copy_db(source: str | Path, target: str | Path) -> None:
    """A consistent copy of a SQLite file (WAL included) through the backup API."""
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


# --- figures --------------------------------------------------------------------------------------

FIGURES: dict[str, Any] = {}
"""What this run of the suite measured; printed at the end of the session (conftest.py) and
written as JSON to ``$RELIABILITY_FIGURES`` when that is set."""


def record(name: str, value: Any) -> None:
    FIGURES[name] = value


def add(name: str, amount: int = 1) -> None:
    FIGURES[name] = FIGURES.get(name, 0) + amount


def dump_figures() -> None:
    target = os.environ.get("RELIABILITY_FIGURES")
    if target and FIGURES:
        Path(target).write_text(json.dumps(FIGURES, indent=2, sort_keys=True) + "\n")


# --- a large scenario -----------------------------------------------------------------------------


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def large_scenario(contracts: int = 200, seed: int = 6) -> dict[str, Any]:
    """A scenario of ``contracts`` tenancies with every kind of action, seeded (deterministic).

    Each contract: a deposit (sometimes in two lots, sometimes short or late), rent (direct or
    supervised, up to 12 months), a return, refund opinions for both funds (in time, late, with
    deductions up to what is held), answers (agree, disagree, silent) and resolutions; plus
    suspensions of enterprises and account changes. Dates run from 2024-10 into 2026.
    """
    rng = random.Random(seed)
    d0 = dt.date(2024, 10, 8)
    day = dt.timedelta(days=1)
    specs: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    enterprises = [f"E{i}" for i in range(1, 6)]
    for i in range(1, contracts + 1):
        cid = f"C{i:03d}"
        start = d0 + rng.randrange(0, 540) * day
        months = rng.choice([3, 6, 6, 12, 12, 12])
        end = start + dt.timedelta(days=30 * months - 1)
        rent = rng.choice([150000, 280000, 350000, 500000, 650000, 1234567])
        deposit = rent * rng.choice([0, 1, 1, 2])
        enterprise = rng.choice(enterprises)
        specs.append(
            {
                "id": cid,
                "filing_no": f"JZ-{i:06d}",
                "tenant": f"T{i}",
                "enterprise": enterprise,
                "start": start,
                "end": end,
                "monthly_rent": _money(rent),
                "deposit": _money(deposit),
            }
        )
        pay_day = start - rng.randrange(0, 5) * day
        if deposit:
            if rng.random() < 0.2:
                first = deposit // 2
                lots = [(pay_day, first), (pay_day + rng.randrange(1, 20) * day, deposit - first)]
            else:
                short = rng.random() < 0.1
                lots = [(pay_day + rng.choice([0, 0, 0, 3]) * day, deposit - 10000 * short)]
            for when, cents in lots:
                actions.append(
                    {
                        "date": when,
                        "action": "pay_deposit",
                        "contract": cid,
                        "amount": _money(cents),
                        "channel": rng.choice(["bank", "ecny"]),
                    }
                )
        prepaid = rng.choice([1, 3, 4, 6, 12, 12])
        actions.append(
            {
                "date": pay_day,
                "action": "pay_rent",
                "contract": cid,
                "amount": _money(rent * min(prepaid, months)),
            }
        )
        returned = start + rng.randrange(20, 30 * min(prepaid, months) + 10) * day
        actions.append(
            {"date": returned, "action": "return_home", "contract": cid, "reason": "expiry"}
        )
        for fund in ("deposit", "rent"):
            if fund == "rent" and prepaid <= 3:
                continue  # nothing in supervision: no rent refund workflow
            if rng.random() < 0.15:
                continue  # no opinion: the enterprise misses its deadline
            opinion = returned + rng.choice([0, 1, 2, 3, 4, 9]) * day
            held = deposit if fund == "deposit" else rent // 2
            deductions = []
            if rng.random() < 0.6 and held:
                deductions.append({"item": "cleaning", "amount": _money(rng.randrange(1, held))})
            actions.append(
                {
                    "date": opinion,
                    "action": "propose_refund",
                    "contract": cid,
                    "fund": fund,
                    "deductions": deductions,
                }
            )
            answer = rng.choice(["tenant_agree", "tenant_disagree", "silent", "silent"])
            if answer == "silent":
                continue
            answered = opinion + rng.choice([1, 2, 6, 8, 15]) * day
            actions.append({"date": answered, "action": answer, "contract": cid, "fund": fund})
            if answer == "tenant_disagree" and deductions:
                disputed = int(Decimal(deductions[0]["amount"]) * 100)
                to_tenant = rng.randrange(0, disputed + 1)
                actions.append(
                    {
                        "date": answered + rng.randrange(5, 60) * day,
                        "action": "resolve",
                        "contract": cid,
                        "fund": fund,
                        "via": rng.choice(["negotiation", "mediation", "arbitration", "court"]),
                        "to_tenant": _money(to_tenant),
                        "to_enterprise": _money(disputed - to_tenant),
                    }
                )
    used = sorted({spec["enterprise"] for spec in specs})
    for k in range(8):
        enterprise = used[k % len(used)]
        when = d0 + rng.randrange(30, 500) * day
        actions.append({"date": when, "action": "suspend_releases", "enterprise": enterprise})
        actions.append(
            {
                "date": when + rng.randrange(5, 60) * day,
                "action": "resume_releases",
                "enterprise": enterprise,
            }
        )
    for k, account in enumerate(["custody", "supervision", "custody"]):
        actions.append(
            {
                "date": d0 + (150 + 170 * k) * day,
                "action": "change_account",
                "account": account,
                "bank": f"Bank-{k + 2}",
            }
        )
    actions.sort(key=lambda a: a["date"])
    return {
        "name": f"Large scenario: {contracts} contracts (seed {seed})",
        "description": "Generated for the crash test of the reliability suite.",
        "contracts": specs,
        "actions": actions,
    }
