"""Bad arguments to the library: a named EscrowError, one line, nothing written (issue 13 item 4).

Every public act and query of :class:`escrow.Ledger` and :func:`escrow.open_ledger` is called
with a table of bad arguments on a ledger in a real SQLite file that has contracts, payments and
an open refund workflow. Each call must raise exactly the expected
:class:`escrow.EscrowError` subclass (exported from ``escrow``), with a one-line message naming
the argument, and leave the events table as it was (rows counted with sqlite3 before and after).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import escrow
from escrow import (
    AmountError,
    CalendarError,
    ContractTerms,
    IdentifierError,
    InputError,
    Ledger,
    LedgerConfig,
    open_ledger,
)

D = Decimal
d = dt.date
UTC = dt.UTC


def terms(**changes: Any) -> ContractTerms:
    """C3's terms (a valid contract), with ``changes``."""
    fields: dict[str, Any] = {
        "id": "C3",
        "filing_no": "JZ-2025-000003",
        "tenant": "T3",
        "enterprise": "E1",
        "start": d(2025, 10, 1),
        "end": d(2026, 9, 30),
        "monthly_rent": D("4000.00"),
        "deposit": D("4000.00"),
    }
    return ContractTerms(**{**fields, **changes})


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ledger file: C1 returned (deposit refund open), C2 live with rent in supervision."""
    path = tmp_path_factory.mktemp("bad-arguments") / "ledger.db"
    with open_ledger(str(path)) as ledger:
        for cid in ("C1", "C2"):
            ledger.open_contract(
                terms(
                    id=cid,
                    filing_no=f"JZ-2025-00000{cid[1]}",
                    tenant=f"T{cid[1]}",
                    start=d(2025, 6, 1),
                    end=d(2026, 5, 31),
                ),
                on=d(2025, 6, 1),
            )
        ledger.pay_deposit("C1", D("4000.00"), on=d(2025, 6, 3))
        ledger.pay_rent("C2", D("24000.00"), on=d(2025, 6, 3))
        ledger.return_home("C1", on=d(2025, 9, 30))
    yield path


def event_rows(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    return int(count)


Call = Callable[[Any], object]
"""A call on the ledger; the ledger is ``Any`` so that the wrong types can be written."""
NAIVE = dt.datetime(2025, 10, 1, 12, 0)  # no tzinfo: DTZ is the point of this value  # noqa: DTZ001
AWARE = dt.datetime(2025, 10, 1, 12, 0, tzinfo=UTC)
ESC = "\x1b"
OSC_TITLE = "\x1b]0;owned\x07"  # sets the terminal's title when printed raw


def case(name: str, call: Call, error: type[escrow.EscrowError], mentions: str) -> Any:
    return pytest.param(call, error, mentions, id=name)


# (what, call on the ledger, exact error class, a word the message must contain)
# fmt: off
CASES = [
    # --- open_contract and ContractTerms
    case("terms-not-terms", lambda g: g.open_contract({"id": "C3"}), InputError, "terms"),
    case("terms-float-rent", lambda g: g.open_contract(terms(monthly_rent=1000.005)), AmountError, "monthly_rent"),
    case("terms-float-deposit", lambda g: g.open_contract(terms(deposit=0.1 + 0.2)), AmountError, "deposit"),
    case("terms-sub-fen-rent", lambda g: g.open_contract(terms(monthly_rent=D("1000.005"))), AmountError, "monthly_rent"),
    case("terms-nan-deposit", lambda g: g.open_contract(terms(deposit=D("NaN"))), AmountError, "deposit"),
    case("terms-negative-deposit", lambda g: g.open_contract(terms(deposit=D("-1"))), AmountError, "deposit"),
    case("terms-huge-rent", lambda g: g.open_contract(terms(monthly_rent=10**12)), AmountError, "too large"),
    case("terms-zero-rent", lambda g: g.open_contract(terms(monthly_rent=0)), AmountError, "monthly_rent"),
    case("terms-bool-deposit", lambda g: g.open_contract(terms(deposit=True)), AmountError, "deposit"),
    case("terms-empty-id", lambda g: g.open_contract(terms(id="")), IdentifierError, "id"),
    case("terms-esc-id", lambda g: g.open_contract(terms(id="C3" + ESC + "[31m")), IdentifierError, "control"),
    case("terms-osc-tenant", lambda g: g.open_contract(terms(tenant="T" + OSC_TITLE)), IdentifierError, "tenant"),
    case("terms-c1-filing", lambda g: g.open_contract(terms(filing_no="JZ\x9b2J")), IdentifierError, "filing_no"),
    case("terms-del-enterprise", lambda g: g.open_contract(terms(enterprise="E\x7f")), IdentifierError, "enterprise"),
    case("terms-newline-id", lambda g: g.open_contract(terms(id="C3\nC4")), IdentifierError, "id"),
    case("terms-long-tenant", lambda g: g.open_contract(terms(tenant="T" * 101)), IdentifierError, "100"),
    case("terms-int-id", lambda g: g.open_contract(terms(id=3)), IdentifierError, "id"),
    case("terms-datetime-start", lambda g: g.open_contract(terms(start=AWARE)), InputError, "start"),
    case("terms-end-before-start", lambda g: g.open_contract(terms(end=d(2025, 9, 1))), InputError, "end"),
    case("terms-yes-affordable", lambda g: g.open_contract(terms(affordable="yes")), InputError, "affordable"),
    case("terms-unknown-field", lambda g: g.open_contract(terms(rooms=2)), InputError, "rooms"),
    case("terms-start-1999", lambda g: g.open_contract(terms(start=d(1999, 12, 31))), CalendarError, "start"),
    case("open-on-datetime", lambda g: g.open_contract(terms(), on=AWARE), InputError, "on"),
    case("open-key-int", lambda g: g.open_contract(terms(), idempotency_key=7), IdentifierError, "idempotency_key"),
    case("open-key-empty", lambda g: g.open_contract(terms(), idempotency_key=""), IdentifierError, "idempotency_key"),
    case("open-key-newline", lambda g: g.open_contract(terms(), idempotency_key="k\n1"), IdentifierError, "idempotency_key"),
    case("open-key-huge", lambda g: g.open_contract(terms(), idempotency_key="k" * 501), IdentifierError, "500"),
    # --- pay_deposit / pay_rent
    case("deposit-float", lambda g: g.pay_deposit("C2", 100.5), AmountError, "float"),
    case("deposit-float-sum", lambda g: g.pay_deposit("C2", 0.1 + 0.2), AmountError, "float"),
    case("deposit-sub-fen", lambda g: g.pay_deposit("C2", D("100.001")), AmountError, "two decimals"),
    case("deposit-text-sub-fen", lambda g: g.pay_deposit("C2", "12.345"), AmountError, "two decimals"),
    case("deposit-exponent-text", lambda g: g.pay_deposit("C2", "1e3"), AmountError, "exponent"),
    case("deposit-negative", lambda g: g.pay_deposit("C2", D("-5.00")), AmountError, "negative"),
    case("deposit-negative-int", lambda g: g.pay_deposit("C2", -5), AmountError, "negative"),
    case("deposit-infinite", lambda g: g.pay_deposit("C2", D("Infinity")), AmountError, "finite"),
    case("deposit-huge-int", lambda g: g.pay_deposit("C2", 10**5000), AmountError, "too large"),
    case("deposit-huge-decimal", lambda g: g.pay_deposit("C2", D("1E+100")), AmountError, "too large"),
    case("deposit-none", lambda g: g.pay_deposit("C2", None), AmountError, "amount"),
    case("deposit-bool", lambda g: g.pay_deposit("C2", True), AmountError, "bool"),
    case("deposit-contract-none", lambda g: g.pay_deposit(None, D("1.00")), IdentifierError, "contract"),
    case("deposit-contract-esc", lambda g: g.pay_deposit("C2" + ESC, D("1.00")), IdentifierError, "contract"),
    case("deposit-channel-cash", lambda g: g.pay_deposit("C2", D("1.00"), channel="cash"), InputError, "channel"),
    case("deposit-on-datetime", lambda g: g.pay_deposit("C2", D("1.00"), on=AWARE), InputError, "datetime"),
    case("deposit-on-text", lambda g: g.pay_deposit("C2", D("1.00"), on="2025-10-01"), InputError, "on"),
    case("deposit-on-2100", lambda g: g.pay_deposit("C2", D("1.00"), on=d(2100, 1, 1)), CalendarError, "on"),
    case("deposit-key-bytes", lambda g: g.pay_deposit("C2", D("1.00"), idempotency_key=b"k"), IdentifierError, "bytes"),
    case("rent-float", lambda g: g.pay_rent("C2", 5000.0), AmountError, "float"),
    case("rent-list", lambda g: g.pay_rent("C2", [D("1.00")]), AmountError, "list"),
    case("rent-contract-empty", lambda g: g.pay_rent("", D("1.00")), IdentifierError, "empty"),
    case("rent-channel-upper", lambda g: g.pay_rent("C2", D("1.00"), channel="BANK"), InputError, "did you mean 'bank'"),
    case("rent-on-naive", lambda g: g.pay_rent("C2", D("1.00"), on=NAIVE), InputError, "datetime"),
    # --- return_home
    case("return-bored", lambda g: g.return_home("C2", reason="bored"), InputError, "reason"),
    case("return-contract-int", lambda g: g.return_home(2), IdentifierError, "contract"),
    case("return-on-datetime", lambda g: g.return_home("C2", on=AWARE), InputError, "on"),
    # --- propose_refund
    case("refund-fund-typo", lambda g: g.propose_refund("C1", "Deposit"), InputError, "did you mean 'deposit'"),
    case("refund-fund-none", lambda g: g.propose_refund("C1", None), InputError, "fund"),
    case("refund-deductions-text", lambda g: g.propose_refund("C1", "deposit", "cleaning"), InputError, "deductions"),
    case("refund-deduction-single", lambda g: g.propose_refund("C1", "deposit", [("cleaning",)]), InputError, "deductions[0]"),
    case("refund-deduction-float", lambda g: g.propose_refund("C1", "deposit", [("cleaning", 300.0)]), AmountError, "deductions[0].amount"),
    case("refund-deduction-negative", lambda g: g.propose_refund("C1", "deposit", [("credit", D("-1"))]), AmountError, "negative"),
    case("refund-deduction-sub-fen", lambda g: g.propose_refund("C1", "deposit", [("cleaning", D("0.001"))]), AmountError, "two decimals"),
    case("refund-item-empty", lambda g: g.propose_refund("C1", "deposit", [(" ", D("1.00"))]), IdentifierError, "item"),
    case("refund-item-esc", lambda g: g.propose_refund("C1", "deposit", [("clean" + OSC_TITLE, D("1.00"))]), IdentifierError, "item"),
    case("refund-item-int", lambda g: g.propose_refund("C1", "deposit", [(5, D("1.00"))]), IdentifierError, "item"),
    case("refund-on-datetime", lambda g: g.propose_refund("C1", "deposit", on=AWARE), InputError, "on"),
    # --- tenant_agree / tenant_disagree
    case("agree-fund-money", lambda g: g.tenant_agree("C1", "money"), InputError, "fund"),
    case("agree-contract-empty", lambda g: g.tenant_agree("", "deposit"), IdentifierError, "contract"),
    case("disagree-fund-none", lambda g: g.tenant_disagree("C1", None), InputError, "fund"),
    case("disagree-key-c1", lambda g: g.tenant_disagree("C1", "deposit", idempotency_key="k\x85"), IdentifierError, "idempotency_key"),
    # --- resolve
    case("resolve-coinflip", lambda g: g.resolve("C1", "deposit", via="coinflip", to_tenant=D(1), to_enterprise=D(1)), InputError, "via"),
    case("resolve-float", lambda g: g.resolve("C1", "deposit", via="court", to_tenant=150.0, to_enterprise=D(1)), AmountError, "to_tenant"),
    case("resolve-text", lambda g: g.resolve("C1", "deposit", via="court", to_tenant=D(1), to_enterprise="abc"), AmountError, "to_enterprise"),
    case("resolve-negative", lambda g: g.resolve("C1", "deposit", via="court", to_tenant=D(1), to_enterprise=D(-1)), AmountError, "to_enterprise"),
    case("resolve-fund-space", lambda g: g.resolve("C1", "rent ", via="court", to_tenant=D(1), to_enterprise=D(1)), InputError, "fund"),
    # --- suspend_releases / resume_releases
    case("suspend-empty", lambda g: g.suspend_releases(""), IdentifierError, "enterprise"),
    case("suspend-bell", lambda g: g.suspend_releases("E1\x07"), IdentifierError, "enterprise"),
    case("suspend-none", lambda g: g.suspend_releases(None), IdentifierError, "enterprise"),
    case("suspend-on-datetime", lambda g: g.suspend_releases("E1", on=AWARE), InputError, "on"),
    case("resume-list", lambda g: g.resume_releases(["E1"]), IdentifierError, "enterprise"),
    # --- change_account
    case("account-savings", lambda g: g.change_account("savings", "ICBC"), InputError, "account"),
    case("account-bank-empty", lambda g: g.change_account("custody", ""), IdentifierError, "bank"),
    case("account-bank-newline", lambda g: g.change_account("custody", "ICBC\nCCB"), IdentifierError, "bank"),
    case("account-bank-spaces", lambda g: g.change_account("custody", " ICBC"), IdentifierError, "bank"),
    case("account-bank-osc", lambda g: g.change_account("custody", "ICBC" + OSC_TITLE), IdentifierError, "bank"),
    case("account-on-datetime", lambda g: g.change_account("custody", "ICBC", on=AWARE), InputError, "on"),
    # --- the clock
    case("advance-text", lambda g: g.advance_to("2025-12-01"), InputError, "day"),
    case("advance-datetime", lambda g: g.advance_to(AWARE), InputError, "datetime"),
    case("advance-none", lambda g: g.advance_to(None), InputError, "day"),
    case("advance-2100", lambda g: g.advance_to(d(2100, 1, 1)), CalendarError, "day"),
    case("idle-limit-text", lambda g: g.run_until_idle("2026-01-01"), InputError, "limit"),
    case("idle-limit-datetime", lambda g: g.run_until_idle(AWARE), InputError, "limit"),
    # --- record_refusal
    case("refusal-plain-error", lambda g: g.record_refusal(on=d(2025, 10, 1), action="pay_rent", error=ValueError("x")), InputError, "error"),
    case("refusal-on-none", lambda g: g.record_refusal(on=None, action="pay_rent", error=InputError("x")), InputError, "on"),
    case("refusal-action-empty", lambda g: g.record_refusal(on=d(2025, 10, 1), action="", error=InputError("x")), IdentifierError, "action"),
    case("refusal-contract-esc", lambda g: g.record_refusal(on=d(2025, 10, 1), action="pay_rent", error=InputError("x"), contract="C" + ESC), IdentifierError, "contract"),
    # --- queries
    case("filing-none", lambda g: g.contract_for_filing(None), IdentifierError, "filing_no"),
    case("filing-nul", lambda g: g.contract_for_filing("JZ\x00"), IdentifierError, "filing_no"),
    case("state-contract-int", lambda g: g.state_as_of(1), IdentifierError, "contract"),
    case("state-as-of-datetime", lambda g: g.state_as_of("C1", as_of=AWARE), InputError, "as_of"),
    case("state-known-at-naive", lambda g: g.state_as_of("C1", known_at=NAIVE), InputError, "timezone"),
    case("state-known-at-date", lambda g: g.state_as_of("C1", known_at=d(2025, 10, 1)), InputError, "known_at"),
    case("balances-known-at-naive", lambda g: g.balances("C1", known_at=NAIVE), InputError, "timezone"),
    case("balances-filing-int", lambda g: g.balances(filing_no=5), IdentifierError, "filing_no"),
    case("balances-as-of-text", lambda g: g.balances("C1", as_of="2025-10-01"), InputError, "as_of"),
    case("balances-as-of-1999", lambda g: g.balances("C1", as_of=d(1999, 1, 1)), CalendarError, "as_of"),
    case("transfers-as-of-datetime", lambda g: g.transfers(as_of=AWARE), InputError, "as_of"),
    case("transfers-contract-esc", lambda g: g.transfers("C1" + ESC), IdentifierError, "contract"),
    case("notices-known-at-naive", lambda g: g.notices(known_at=NAIVE), InputError, "timezone"),
    case("deadlines-contract-int", lambda g: g.deadlines(1), IdentifierError, "contract"),
    case("deadlines-known-at-text", lambda g: g.deadlines(known_at="now"), InputError, "known_at"),
]
# fmt: on


@pytest.mark.parametrize(("call", "error", "mentions"), CASES)
def test_a_bad_argument_raises_a_named_one_line_error_and_writes_nothing(
    db: Path, call: Call, error: type[escrow.EscrowError], mentions: str
) -> None:
    before = event_rows(db)
    with open_ledger(db) as ledger, pytest.raises(escrow.EscrowError) as caught:
        call(ledger)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert type(caught.value).__name__ in escrow.__all__
    message = str(caught.value)
    assert message and "\n" not in message and "\r" not in message
    assert message.isprintable(), repr(message)  # no raw ESC from the input reaches a terminal
    assert mentions in message
    assert "pydantic" not in message and "ValidationError" not in message
    assert event_rows(db) == before


open_any: Any = open_ledger  # called with wrong types on purpose
config_any: Any = LedgerConfig

OPEN_CASES = [
    pytest.param(lambda p: open_any(123), InputError, "url", id="url-int"),
    pytest.param(lambda p: open_ledger(""), InputError, "url", id="url-empty"),
    pytest.param(lambda p: open_ledger(str(p) + "\x00x"), InputError, "url", id="url-nul"),
    pytest.param(lambda p: open_any(p, "360"), InputError, "config", id="config-text"),
    pytest.param(lambda p: open_any(p, clock="now"), InputError, "clock", id="clock-text"),
    pytest.param(
        lambda p: open_ledger(p, LedgerConfig(day_basis=365)),
        InputError,
        "day_basis = 360, not 365",
        id="other-config",
    ),
    pytest.param(
        lambda p: open_ledger(p, LedgerConfig(deducted_interest_to="me")),
        InputError,
        "deducted_interest_to",
        id="config-field",
    ),
    pytest.param(
        lambda p: open_any(p, config_any(bogus=1)), InputError, "bogus", id="config-unknown"
    ),
    pytest.param(
        lambda p: open_ledger(p, LedgerConfig(label="run\x1b]0;owned\x07")),
        IdentifierError,
        "label",
        id="config-label-osc",
    ),
]


@pytest.mark.parametrize(("call", "error", "mentions"), OPEN_CASES)
def test_open_ledger_refuses_bad_arguments_with_a_named_one_line_error(
    db: Path, call: Callable[[Path], Ledger], error: type[escrow.EscrowError], mentions: str
) -> None:
    before = event_rows(db)
    with pytest.raises(escrow.EscrowError) as caught:
        call(db).close()
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    message = str(caught.value)
    assert "\n" not in message and mentions in message
    assert event_rows(db) == before


def test_open_ledger_takes_a_path(db: Path) -> None:
    # The same ledger through a Path as through its str: C1 and C2, nothing new written.
    before = event_rows(db)
    with open_ledger(db) as by_path, open_ledger(str(db)) as by_text:
        assert by_path.contract_ids() == by_text.contract_ids() == ["C1", "C2"]
    assert event_rows(db) == before


def test_every_error_class_is_exported_from_escrow() -> None:
    # A caller catches what escrow raises by importing it from the package.
    import escrow.errors
    import escrow.scenario

    defined = {
        name
        for module in (escrow.errors, escrow.scenario)
        for name, value in vars(module).items()
        if isinstance(value, type) and issubclass(value, escrow.EscrowError)
    }
    assert defined <= set(escrow.__all__), sorted(defined - set(escrow.__all__))
    for name in defined:
        assert (
            getattr(escrow, name) is getattr(escrow.errors, name, None) or name == "ScenarioError"
        )
