"""escrow.scenario: the TOML scenario file of docs/scenario-format.md, read strictly, refused in one line.

Each test writes a real ``demo.toml`` (built from a dict by the small TOML writer below) and
reads it with :func:`load_scenario`; refusals are checked word for word, entry path included.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from toml_writer import to_toml

from escrow.calendar import FIRST_DATE, LAST_DATE, WorkdayCalendar
from escrow.domain.terms import ContractTerms
from escrow.errors import InputError
from escrow.interest import rate_table
from escrow.scenario import (
    ACTION_KINDS,
    ChangeAccountAction,
    ContractSpec,
    Deduction,
    PayDepositAction,
    PayRentAction,
    ProposeRefundAction,
    ResolveAction,
    ResumeReleasesAction,
    ReturnHomeAction,
    Scenario,
    ScenarioError,
    SuspendReleasesAction,
    TenantAgreeAction,
    TenantDisagreeAction,
    load_scenario,
    parse_scenario,
)


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def full_scenario() -> dict[str, Any]:
    """Every table and every action kind, actions deliberately not in date order."""
    return {
        "name": "Deposit refund across the National Day holiday",
        "description": "Every action kind once.\nFree text may span lines.",
        "rules": "beijing-2024",
        "rate_table": "big-bank-listed",
        "until": d("2026-06-30"),
        "parameters": {
            "day_basis": 365,
            "settle_on_working_days": False,
            "deducted_interest_to": "tenant",
        },
        "rates": [
            {"from": d("2012-06-08"), "annual_percent": "0.40"},
            {"from": d("2012-07-06"), "annual_percent": "0.35"},
        ],
        "calendar": {"extra_holidays": [d("2025-12-24")], "extra_workdays": [d("2025-12-27")]},
        "contracts": [
            {
                "id": "C1",
                "filing_no": "JZ-2025-000001",
                "tenant": "T1",
                "enterprise": "E1",
                "start": d("2025-06-01"),
                "end": d("2026-05-31"),
                "monthly_rent": "5000.00",
                "deposit": "5000.00",
                "affordable": False,
            },
            {
                "id": "C2",
                "tenant": "T2",
                "enterprise": "E2",
                "start": d("2025-07-01"),
                "end": d("2025-09-30"),
                "monthly_rent": "3000",
                "deposit": "0",
                "affordable": True,
            },
        ],
        "actions": [
            {
                "date": d("2025-06-03"),
                "action": "pay_deposit",
                "contract": "C1",
                "amount": "5000.00",
                "channel": "bank",
            },
            {
                "date": d("2025-06-03"),
                "action": "pay_rent",
                "contract": "C1",
                "amount": "20000",
                "channel": "ecny",
            },
            {"date": d("2025-08-01"), "action": "suspend_releases", "enterprise": "E1"},
            {"date": d("2025-08-15"), "action": "resume_releases", "enterprise": "E1"},
            {
                "date": d("2025-09-01"),
                "action": "change_account",
                "account": "custody",
                "bank": "北京银行",
            },
            {
                "date": d("2025-09-30"),
                "action": "return_home",
                "contract": "C1",
                "reason": "termination",
            },
            {
                "date": d("2025-10-10"),
                "action": "propose_refund",
                "contract": "C1",
                "fund": "deposit",
                "deductions": [
                    {"item": "cleaning 保洁", "amount": "300.00"},
                    {"item": "keys", "amount": "0"},
                ],
            },
            {
                "date": d("2025-10-13"),
                "action": "tenant_disagree",
                "contract": "C1",
                "fund": "deposit",
            },
            {
                "date": d("2025-11-01"),
                "action": "resolve",
                "contract": "C1",
                "fund": "deposit",
                "via": "mediation",
                "to_tenant": "100.00",
                "to_enterprise": "200",
            },
            {"date": d("2025-10-09"), "action": "propose_refund", "contract": "C1", "fund": "rent"},
            {"date": d("2025-10-10"), "action": "tenant_agree", "contract": "C1", "fund": "rent"},
            {"date": d("2025-07-01"), "action": "pay_rent", "contract": "C2", "amount": "9000"},
            {"date": d("2025-09-30"), "action": "return_home", "contract": "C2"},
        ],
    }


def minimal_scenario() -> dict[str, Any]:
    return {
        "name": "One contract, nothing happens",
        "contracts": [
            {
                "id": "C1",
                "tenant": "T1",
                "enterprise": "E1",
                "start": d("2025-06-01"),
                "end": d("2026-05-31"),
                "monthly_rent": "5000.00",
                "deposit": "5000.00",
            }
        ],
    }


@pytest.fixture
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[dict[str, Any]], Scenario]:
    """Write the dict as ``demo.toml`` in a fresh directory and load it by that name."""
    monkeypatch.chdir(tmp_path)

    def _load(data: dict[str, Any]) -> Scenario:
        Path("demo.toml").write_text(to_toml(data), encoding="utf-8")
        return load_scenario(Path("demo.toml"))

    return _load


@pytest.fixture
def refusal(load: Callable[[dict[str, Any]], Scenario]) -> Callable[[dict[str, Any]], str]:
    """The one-line message load_scenario refuses the dict with."""

    def _refusal(data: dict[str, Any]) -> str:
        with pytest.raises(ScenarioError) as caught:
            load(data)
        message = str(caught.value)
        assert len(message.splitlines()) == 1
        return message

    return _refusal


def mutate(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = full_scenario()
    change(data)
    return data


# --- a valid file ------------------------------------------------------------------------------


def test_a_full_scenario_with_every_action_kind_parses(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    scenario = load(full_scenario())

    assert scenario.name == "Deposit refund across the National Day holiday"
    assert scenario.description.endswith("may span lines.")
    assert scenario.rules == "beijing-2024"
    assert scenario.rate_table == "big-bank-listed"
    assert scenario.until == d("2026-06-30")
    assert scenario.parameters.day_basis == 365
    assert scenario.parameters.settle_on_working_days is False
    assert scenario.parameters.deducted_interest_to == "tenant"
    assert [(r.effective, r.annual_percent) for r in scenario.rates] == [
        (d("2012-06-08"), Decimal("0.40")),
        (d("2012-07-06"), Decimal("0.35")),
    ]
    assert scenario.calendar.extra_holidays == (d("2025-12-24"),)
    assert scenario.calendar.extra_workdays == (d("2025-12-27"),)

    c1, c2 = scenario.contracts
    assert c1 == ContractSpec(
        id="C1",
        filing_no="JZ-2025-000001",
        tenant="T1",
        enterprise="E1",
        start=d("2025-06-01"),
        end=d("2026-05-31"),
        monthly_rent=Decimal("5000.00"),
        deposit=Decimal("5000.00"),
        affordable=False,
    )
    assert c2.filing_no == "C2"  # defaults to the id
    assert c2.monthly_rent == Decimal("3000.00")
    assert c2.deposit == Decimal("0.00")
    assert c2.affordable is True

    kinds = [type(action) for action in scenario.actions]
    assert kinds == [
        PayDepositAction,
        PayRentAction,
        SuspendReleasesAction,
        ResumeReleasesAction,
        ChangeAccountAction,
        ReturnHomeAction,
        ProposeRefundAction,
        TenantDisagreeAction,
        ResolveAction,
        ProposeRefundAction,
        TenantAgreeAction,
        PayRentAction,
        ReturnHomeAction,
    ]
    assert {action.action for action in scenario.actions} == set(ACTION_KINDS)


def test_amounts_are_exact_two_place_decimals_in_the_model(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    actions = load(full_scenario()).actions

    rent = actions[1]
    assert isinstance(rent, PayRentAction)
    assert rent.amount == Decimal("20000.00")
    assert str(rent.amount) == "20000.00"
    assert rent.channel == "ecny"

    opinion = actions[6]
    assert isinstance(opinion, ProposeRefundAction)
    assert opinion.deductions == (
        Deduction(item="cleaning 保洁", amount=Decimal("300.00")),
        Deduction(item="keys", amount=Decimal("0.00")),
    )

    resolution = actions[8]
    assert isinstance(resolution, ResolveAction)
    assert (resolution.via, resolution.to_tenant, resolution.to_enterprise) == (
        "mediation",
        Decimal("100.00"),
        Decimal("200.00"),
    )


def test_optional_action_fields_take_their_defaults(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    actions = load(full_scenario()).actions

    no_deductions = actions[9]
    assert isinstance(no_deductions, ProposeRefundAction)
    assert no_deductions.deductions == ()
    c2_rent = actions[11]
    assert isinstance(c2_rent, PayRentAction)
    assert c2_rent.channel == "bank"
    c2_return = actions[12]
    assert isinstance(c2_return, ReturnHomeAction)
    assert c2_return.reason is None


def test_a_minimal_scenario_takes_every_default(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    scenario = load(minimal_scenario())

    assert scenario.description == ""
    assert scenario.rules == "beijing-2024"
    assert scenario.rate_table == "pboc-benchmark"
    assert scenario.until is None
    assert (
        scenario.parameters.day_basis,
        scenario.parameters.settle_on_working_days,
        scenario.parameters.deducted_interest_to,
    ) == (None, None, None)  # None: the rule pack's own value
    assert scenario.rates == ()
    assert scenario.calendar.extra_holidays == scenario.calendar.extra_workdays == ()
    assert scenario.actions == ()
    assert scenario.contracts[0].affordable is False


def test_actions_keep_file_order_and_the_timeline_sorts_them_stably_by_date(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    scenario = load(full_scenario())

    assert scenario.actions[9].date == d("2025-10-09")  # file order kept in .actions
    timeline = scenario.timeline()
    assert [index for index, _ in timeline] == [0, 1, 11, 2, 3, 4, 5, 12, 9, 6, 10, 7, 8]
    assert all(scenario.actions[index] is action for index, action in timeline)


def test_the_contract_helper_finds_a_contract_by_id(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    scenario = load(full_scenario())

    assert scenario.contract("C2").tenant == "T2"
    with pytest.raises(KeyError):
        scenario.contract("C9")


def test_the_scenario_rates_replace_the_named_table(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    own = load(full_scenario()).effective_rate_table()
    assert own.rate_on(d("2025-10-10")) == Decimal("0.35")

    builtin = load(minimal_scenario()).effective_rate_table()
    assert builtin == rate_table("pboc-benchmark")


def test_the_calendar_overrides_build_a_workday_calendar(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    calendar = load(full_scenario()).workday_calendar()

    assert isinstance(calendar, WorkdayCalendar)
    assert not calendar.is_working_day(d("2025-12-24"))  # a Wednesday made a holiday
    assert calendar.is_working_day(d("2025-12-27"))  # a Saturday made a workday


def test_the_model_is_frozen(load: Callable[[dict[str, Any]], Scenario]) -> None:
    scenario = load(minimal_scenario())

    with pytest.raises(ValueError, match="frozen"):
        scenario.name = "changed"  # type: ignore[misc]


def test_a_leading_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + to_toml(minimal_scenario()).encode())

    assert load_scenario(path).name == "One contract, nothing happens"


# --- refusals: the file as a whole -----------------------------------------------------------------


def test_a_missing_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(Path("demo.toml"))
    assert str(caught.value) == "demo.toml: no such file"


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r": is a directory, not a file$"):
        load_scenario(tmp_path)


def test_an_empty_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("demo.toml").write_text(" \n\t\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(Path("demo.toml"))
    assert str(caught.value) == "demo.toml: the file is empty"


def test_a_file_that_is_not_utf8_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("demo.toml").write_bytes('name = "押金"\n'.encode("gbk"))
    with pytest.raises(ScenarioError) as caught:
        load_scenario("demo.toml")
    assert str(caught.value) == "demo.toml: not a UTF-8 text file"


def test_invalid_toml_is_refused_with_tomllibs_reason_on_one_line() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario('name = "unterminated\n', "demo.toml")
    assert str(caught.value) == (
        "demo.toml: not valid TOML: Illegal character '\\n' (at line 1, column 21)"
    )


def test_deep_nesting_is_refused_in_one_line() -> None:
    text = to_toml(minimal_scenario()) + "junk = " + "[" * 1000 + "]" * 1000 + "\n"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "demo.toml")
    assert str(caught.value) == "demo.toml: not valid TOML: nested too deeply"


def test_a_scenario_error_is_an_input_error_that_names_file_entry_and_problem() -> None:
    with pytest.raises(InputError) as caught:
        parse_scenario('description = "no name"\n', "demo.toml")
    error = caught.value
    assert isinstance(error, ScenarioError)
    assert (error.source, error.entry, error.problem) == ("demo.toml", "name", "required")
    assert str(error) == "demo.toml: name: required"


# --- refusals: one entry ------------------------------------------------------------------------------


def _set(path: str, value: object) -> Callable[[dict[str, Any]], object]:
    """A change that sets ``a.b[0].c`` to value."""

    def change(data: dict[str, Any]) -> object:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value
        return None

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], object]:
    def change(data: dict[str, Any]) -> object:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        return node.pop(last)

    return change


def _rename(path: str, new_key: str) -> Callable[[dict[str, Any]], object]:
    def change(data: dict[str, Any]) -> object:
        *parents, last = re.findall(r"[^.\[\]]+", path)
        node: Any = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[new_key] = node.pop(last)
        return None

    return change


REFUSALS: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    # top level
    ("name is required", _drop("name"), "name: required"),
    ("name must not be empty", _set("name", "  "), "name: must not be empty"),
    (
        "name is one line",
        _set("name", "two\nlines"),
        "name: must be one line (no line breaks or control characters)",
    ),
    ("name is a string", _set("name", 42), "name: expected a string, got an integer"),
    (
        "description is a string",
        _set("description", ["x"]),
        "description: expected a string, got an array",
    ),
    (
        "rules name a known rule pack",
        _set("rules", "shanghai-2025"),
        "rules: unknown rule pack 'shanghai-2025' (expected one of beijing-2024)",
    ),
    (
        "rate_table names a built-in table",
        _set("rate_table", "libor"),
        "rate_table: unknown rate table 'libor' (expected one of pboc-benchmark, big-bank-listed)",
    ),
    (
        "until is a TOML date, not a string",
        _set("until", "2026-06-30"),
        "until: expected a TOML date (YYYY-MM-DD), got a string (write the date without quotes)",
    ),
    (
        "an unknown top-level key is refused",
        _set("colour", "blue"),
        "colour: unknown field",
    ),
    (
        "a misspelt key is named with a hint",
        _rename("name", "nmae"),
        "nmae: unknown field (did you mean 'name'?)",
    ),
    # parameters
    (
        "day_basis is 360 or 365",
        _set("parameters.day_basis", 300),
        "parameters.day_basis: expected 360 or 365, got 300",
    ),
    (
        "day_basis is an integer, not a string",
        _set("parameters.day_basis", "360"),
        "parameters.day_basis: expected 360 or 365, got '360'",
    ),
    (
        "settle_on_working_days is a boolean",
        _set("parameters.settle_on_working_days", "yes"),
        "parameters.settle_on_working_days: expected true or false, got a string",
    ),
    (
        "deducted_interest_to is recipient or tenant",
        _set("parameters.deducted_interest_to", "enterprise"),
        "parameters.deducted_interest_to: expected 'recipient' or 'tenant', got 'enterprise'",
    ),
    (
        "parameters is a table",
        _set("parameters", 5),
        "parameters: expected a table, got an integer",
    ),
    # rates
    (
        "a rate's from is a TOML date",
        _set("rates[0].from", "2012-06-08"),
        "rates[0].from: expected a TOML date (YYYY-MM-DD), got a string (write the date without quotes)",
    ),
    (
        "a rate is a string",
        _set("rates[1].annual_percent", 0.35),
        'rates[1].annual_percent: must be a string like "0.35", got a float',
    ),
    (
        "a rate is not negative",
        _set("rates[1].annual_percent", "-0.35"),
        "rates[1].annual_percent: '-0.35' is negative",
    ),
    (
        "a rate is a plain decimal",
        _set("rates[1].annual_percent", "0.35%"),
        "rates[1].annual_percent: '0.35%' is not an annual percentage (write it like \"0.35\", at most 6 decimals)",
    ),
    (
        "rates are listed in date order",
        _set("rates[1].from", d("2012-06-01")),
        "rates[1].from: 2012-06-01 is not after rates[0].from (2012-06-08): list the rates in date order",
    ),
    (
        "a rate row's key is spelt from",
        _rename("rates[0].from", "form"),
        "rates[0].form: unknown field (did you mean 'from'?)",
    ),
    (
        "a missing key unlike any unknown one is reported as missing",
        _rename("rates[0].from", "since"),
        "rates[0].from: required",
    ),
    # calendar
    (
        "extra holidays are TOML dates",
        _set("calendar.extra_holidays", ["2025-12-24"]),
        "calendar.extra_holidays[0]: expected a TOML date (YYYY-MM-DD), got a string (write the date without quotes)",
    ),
    (
        "extra workdays are an array",
        _set("calendar.extra_workdays", d("2025-12-27")),
        "calendar.extra_workdays: expected an array, got a date",
    ),
    (
        "a day is not both an extra holiday and an extra workday",
        _set("calendar.extra_workdays", [d("2025-12-24")]),
        "calendar: 2025-12-24 listed both as an extra holiday and an extra workday",
    ),
    # contracts
    ("contracts are required", _drop("contracts"), "contracts: required"),
    (
        "at least one contract",
        _set("contracts", []),
        "contracts: needs at least one [[contracts]] entry",
    ),
    ("a contract id is required", _drop("contracts[0].id"), "contracts[0].id: required"),
    (
        "a contract id is not empty",
        _set("contracts[0].id", ""),
        "contracts[0].id: must not be empty",
    ),
    (
        "a contract id has no outer spaces",
        _set("contracts[0].id", "C1 "),
        "contracts[0].id: 'C1 ' has spaces at either end",
    ),
    ("the tenant is required", _drop("contracts[1].tenant"), "contracts[1].tenant: required"),
    (
        "start is a TOML date, not a string",
        _set("contracts[0].start", "2025-06-01"),
        "contracts[0].start: expected a TOML date (YYYY-MM-DD), got a string (write the date without quotes)",
    ),
    (
        "start is a date, not a date-time",
        _set("contracts[0].start", dt.datetime.fromisoformat("2025-06-01T09:30")),
        "contracts[0].start: expected a TOML date (YYYY-MM-DD), got a date-time (drop the time of day)",
    ),
    (
        "end is not before start",
        _set("contracts[1].end", d("2025-06-30")),
        "contracts[1].end: 2025-06-30 is before the start 2025-07-01",
    ),
    (
        "monthly rent is more than zero",
        _set("contracts[0].monthly_rent", "0.00"),
        "contracts[0].monthly_rent: '0.00' must be more than zero",
    ),
    (
        "a deposit is a string",
        _set("contracts[0].deposit", 5000),
        'contracts[0].deposit: must be a string like "1234.50", got an integer',
    ),
    (
        "affordable is a boolean",
        _set("contracts[0].affordable", "no"),
        "contracts[0].affordable: expected true or false, got a string",
    ),
    (
        "contract ids are unique",
        _set("contracts[1].id", "C1"),
        "contracts[1].id: duplicate contract id 'C1' (also contracts[0])",
    ),
    (
        "filing numbers are unique, the default id included",
        _set("contracts[1].id", "JZ-2025-000001"),
        "contracts[1].filing_no: duplicate filing number 'JZ-2025-000001' (also contracts[0])",
    ),
    (
        "contracts is an array of tables",
        _set("contracts", {"id": "C1"}),
        "contracts: expected an array, got a table",
    ),
    # amounts
    (
        "an amount is a string, not an integer",
        _set("actions[0].amount", 5000),
        'actions[0].amount: must be a string like "1234.50", got an integer',
    ),
    (
        "an amount is a string, not a float",
        _set("actions[0].amount", 5000.0),
        'actions[0].amount: must be a string like "1234.50", got a float',
    ),
    (
        "an amount has at most two decimals",
        _set("actions[1].amount", "12.345"),
        "actions[1].amount: '12.345' has more than two decimals",
    ),
    (
        "an amount is not negative",
        _set("actions[0].amount", "-1"),
        "actions[0].amount: '-1' is negative",
    ),
    ("an amount is not empty", _set("actions[0].amount", ""), "actions[0].amount: '' is empty"),
    (
        "an amount has no exponent",
        _set("actions[0].amount", "1e400"),
        "actions[0].amount: '1e400' is not a plain decimal amount (no exponents)",
    ),
    (
        "an amount is not absurdly large",
        _set("actions[0].amount", "1" * 30),
        "actions[0].amount: '111111111111111111111111111111' is too large (maximum 999999999999.99)",
    ),
    (
        "a payment is more than zero",
        _set("actions[0].amount", "0"),
        "actions[0].amount: '0' must be more than zero",
    ),
    # actions
    (
        "an action's date is a TOML date",
        _set("actions[2].date", "2025-08-01"),
        "actions[2].date: expected a TOML date (YYYY-MM-DD), got a string (write the date without quotes)",
    ),
    (
        "an action's date is not a date-time",
        _set("actions[2].date", dt.datetime(2025, 8, 1, 0, 0, tzinfo=dt.UTC)),
        "actions[2].date: expected a TOML date (YYYY-MM-DD), got a date-time (drop the time of day)",
    ),
    ("an action's date is required", _drop("actions[3].date"), "actions[3].date: required"),
    (
        "an unknown action is refused with the list of actions",
        _set("actions[2].action", "pay_rnet"),
        "actions[2].action: unknown action 'pay_rnet' (expected one of pay_deposit, pay_rent, "
        "return_home, propose_refund, tenant_agree, tenant_disagree, resolve, suspend_releases, "
        "resume_releases, change_account)",
    ),
    ("the action key is required", _drop("actions[4].action"), "actions[4].action: required"),
    (
        "the action is a string",
        _set("actions[4].action", 7),
        "actions[4].action: expected a string, got an integer",
    ),
    ("an action is a table", _set("actions", [1]), "actions[0]: expected a table, got an integer"),
    (
        "a misspelt action field is named with a hint",
        _rename("actions[0].amount", "amout"),
        "actions[0].amout: unknown field (did you mean 'amount'?)",
    ),
    (
        "an unknown action field is refused",
        _set("actions[5].note", "x"),
        "actions[5].note: unknown field",
    ),
    (
        "a field of another action kind is refused",
        _set("actions[0].fund", "deposit"),
        "actions[0].fund: unknown field",
    ),
    (
        "every contract an action names is declared",
        _set("actions[1].contract", "C9"),
        "actions[1].contract: unknown contract 'C9'",
    ),
    (
        "a payment names its contract",
        _drop("actions[1].contract"),
        "actions[1].contract: required",
    ),
    (
        "the channel is bank or ecny",
        _set("actions[0].channel", "cash"),
        "actions[0].channel: expected 'bank' or 'ecny', got 'cash'",
    ),
    (
        "the return reason is expiry or termination",
        _set("actions[5].reason", "eviction"),
        "actions[5].reason: expected 'expiry' or 'termination', got 'eviction'",
    ),
    (
        "the fund is deposit or rent",
        _set("actions[7].fund", "both"),
        "actions[7].fund: expected 'deposit' or 'rent', got 'both'",
    ),
    ("an opinion names its fund", _drop("actions[6].fund"), "actions[6].fund: required"),
    (
        "a deduction item is not empty",
        _set("actions[6].deductions[1].item", ""),
        "actions[6].deductions[1].item: must not be empty",
    ),
    (
        "a deduction amount is not negative",
        _set("actions[6].deductions[0].amount", "-300"),
        "actions[6].deductions[0].amount: '-300' is negative",
    ),
    (
        "a deduction has only an item and an amount",
        _set("actions[6].deductions[0].reason", "dirty"),
        "actions[6].deductions[0].reason: unknown field",
    ),
    (
        "deductions are an array",
        _set("actions[6].deductions", {"item": "x", "amount": "1"}),
        "actions[6].deductions: expected an array, got a table",
    ),
    (
        "a resolution comes by a known route",
        _set("actions[8].via", "coin toss"),
        "actions[8].via: expected 'negotiation', 'mediation', 'arbitration' or 'court', got 'coin toss'",
    ),
    (
        "a resolution's share is not negative",
        _set("actions[8].to_tenant", "-100.00"),
        "actions[8].to_tenant: '-100.00' is negative",
    ),
    (
        "a resolution gives both shares",
        _drop("actions[8].to_enterprise"),
        "actions[8].to_enterprise: required",
    ),
    (
        "a suspension names a known enterprise",
        _set("actions[2].enterprise", "E9"),
        "actions[2].enterprise: unknown enterprise 'E9' (no contract names it)",
    ),
    (
        "an account change names custody or supervision",
        _set("actions[4].account", "savings"),
        "actions[4].account: expected 'custody' or 'supervision', got 'savings'",
    ),
    (
        "an account change names the bank",
        _set("actions[4].bank", ""),
        "actions[4].bank: must not be empty",
    ),
    # unicode
    (
        "an unknown key with unusual characters is quoted",
        _set("actions[0].金额", "1"),
        "actions[0].'金额': unknown field",
    ),
    (
        "a control character in an id is refused",
        _set("actions[0].contract", "C\u00071"),
        "actions[0].contract: must not contain line breaks or control characters",
    ),
]


@pytest.mark.parametrize(
    ("change", "expected"),
    [pytest.param(change, expected, id=name) for name, change, expected in REFUSALS],
)
def test_a_malformed_entry_is_refused_naming_file_entry_and_problem(
    refusal: Callable[[dict[str, Any]], str],
    change: Callable[[dict[str, Any]], object],
    expected: str,
) -> None:
    assert refusal(mutate(change)) == f"demo.toml: {expected}"


def test_a_zero_deduction_and_a_zero_deposit_are_accepted(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    scenario = load(full_scenario())

    assert scenario.contract("C2").deposit == 0
    opinion = scenario.actions[6]
    assert isinstance(opinion, ProposeRefundAction)
    assert opinion.deductions[1].amount == 0


def test_contract_ids_and_names_may_be_chinese(load: Callable[[dict[str, Any]], Scenario]) -> None:
    data = minimal_scenario()
    data["contracts"][0].update(id="合同一", tenant="张三", enterprise="某某公寓")
    data["actions"] = [
        {"date": d("2025-06-03"), "action": "pay_deposit", "contract": "合同一", "amount": "1"},
        {"date": d("2025-06-04"), "action": "suspend_releases", "enterprise": "某某公寓"},
    ]

    scenario = load(data)

    assert scenario.contracts[0].filing_no == "合同一"
    assert len(scenario.actions) == 2


# --- building the models in Python ---------------------------------------------------------------


def test_models_built_in_python_take_decimals_and_dates() -> None:
    payment = PayDepositAction(date=d("2025-06-03"), contract="C1", amount=Decimal("5000"))

    assert payment.action == "pay_deposit"
    assert str(payment.amount) == "5000.00"
    assert payment.channel == "bank"


def test_models_built_in_python_still_refuse_sub_fen_amounts() -> None:
    with pytest.raises(ValueError, match="has more than two decimals"):
        PayRentAction(date=d("2025-06-03"), contract="C1", amount=Decimal("1.005"))


def test_a_day_basis_of_360_point_0_is_refused() -> None:
    text = to_toml({**minimal_scenario(), "parameters": {"day_basis": 360.0}})

    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "demo.toml")
    assert str(caught.value) == "demo.toml: parameters.day_basis: expected 360 or 365, got 360.0"


# --- supported dates: 2000-01-01 to 2099-12-31 (escrow.calendar.FIRST_DATE / LAST_DATE) ----------

DAY_BEFORE_FIRST = "1999-12-31"
DAY_AFTER_LAST = "2100-01-01"

# Every date field of full_scenario(), by the entry a refusal names.
DATE_FIELDS = [
    "until",
    "rates[0].from",
    "rates[1].from",
    "calendar.extra_holidays[0]",
    "calendar.extra_workdays[0]",
    "contracts[0].start",
    "contracts[0].end",
    "contracts[1].start",
    "contracts[1].end",
    *(f"actions[{i}].date" for i in range(13)),  # every action kind
]


def test_the_supported_dates_are_2000_through_2099() -> None:
    """The literal dates of the tests below are the days just outside escrow's range."""
    assert FIRST_DATE - dt.timedelta(days=1) == d(DAY_BEFORE_FIRST)
    assert LAST_DATE + dt.timedelta(days=1) == d(DAY_AFTER_LAST)


def test_every_date_field_is_listed() -> None:
    """full_scenario() has exactly these date fields (a new one must be added to DATE_FIELDS)."""
    found: list[str] = []

    def walk(node: object, at: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{at}.{key}" if at else key)
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, f"{at}[{i}]")
        elif isinstance(node, dt.date):
            found.append(at)

    walk(full_scenario(), "")
    assert sorted(found) == sorted(DATE_FIELDS)


@pytest.mark.parametrize("bad", [DAY_BEFORE_FIRST, DAY_AFTER_LAST, "0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("field", DATE_FIELDS)
def test_a_date_outside_the_supported_dates_is_refused_naming_the_field(
    refusal: Callable[[dict[str, Any]], str], field: str, bad: str
) -> None:
    message = refusal(mutate(_set(field, d(bad))))

    assert message == (
        f"demo.toml: {field}: {bad} is outside the supported dates 2000-01-01 to 2099-12-31"
    )


def test_a_refused_contract_start_reads_as_documented(
    refusal: Callable[[dict[str, Any]], str],
) -> None:
    message = refusal(mutate(_set("contracts[0].start", d("0001-01-01"))))

    assert message == (
        "demo.toml: contracts[0].start: 0001-01-01 is outside the supported dates"
        " 2000-01-01 to 2099-12-31"
    )


def _at_bound(field: str, day: dt.date) -> Callable[[dict[str, Any]], object]:
    """Set ``field`` to ``day`` and keep the file valid: contract dates in order, rates increasing,
    no day both an extra holiday and an extra workday."""

    def change(data: dict[str, Any]) -> object:
        _set(field, day)(data)
        last = day == d("2099-12-31")
        if field.startswith("contracts[") and field.endswith(".start") and last:
            _set(field.replace(".start", ".end"), day)(data)
        if field.startswith("contracts[") and field.endswith(".end") and not last:
            _set(field.replace(".end", ".start"), day)(data)
        if field == "rates[0].from" and last:
            data["rates"] = data["rates"][:1]
        if field.startswith("calendar."):
            other = "extra_workdays" if "holidays" in field else "extra_holidays"
            data["calendar"][other] = []
        return None

    return change


@pytest.mark.parametrize(
    ("field", "bound"),
    [
        (field, bound)
        for field in DATE_FIELDS
        for bound in ("2000-01-01", "2099-12-31")
        if (field, bound) != ("rates[1].from", "2000-01-01")  # must follow rates[0].from
    ],
)
def test_a_date_exactly_at_a_bound_is_accepted(
    load: Callable[[dict[str, Any]], Scenario], field: str, bound: str
) -> None:
    scenario = load(mutate(_at_bound(field, d(bound))))

    dumped = scenario.model_dump(by_alias=True)
    node: Any = dumped
    for part in re.findall(r"[^.\[\]]+", field):
        node = node[int(part)] if part.isdigit() else node[part]
    assert node == d(bound)


def test_every_date_at_a_bound_in_one_file_is_accepted(
    load: Callable[[dict[str, Any]], Scenario],
) -> None:
    first, last = d("2000-01-01"), d("2099-12-31")
    data = minimal_scenario()
    data["until"] = last
    data["rates"] = [
        {"from": first, "annual_percent": "0.35"},
        {"from": last, "annual_percent": "0.30"},
    ]
    data["calendar"] = {"extra_holidays": [last], "extra_workdays": [first]}
    data["contracts"][0].update(start=first, end=last)
    data["actions"] = [
        {"date": first, "action": "pay_deposit", "contract": "C1", "amount": "1.00"},
        {"date": last, "action": "return_home", "contract": "C1"},
    ]

    scenario = load(data)

    assert scenario.until == last
    assert (scenario.contracts[0].start, scenario.contracts[0].end) == (first, last)
    assert [a.date for a in scenario.actions] == [first, last]
    assert [r.effective for r in scenario.rates] == [first, last]


def test_models_built_in_python_refuse_unsupported_dates_too() -> None:
    with pytest.raises(ValueError, match=r"2100-01-01 is outside the supported dates"):
        PayDepositAction(date=d("2100-01-01"), contract="C1", amount=Decimal("1"))
    with pytest.raises(ValueError, match=r"1999-12-31 is outside the supported dates"):
        ContractSpec(
            id="C1",
            filing_no="C1",
            tenant="T1",
            enterprise="E1",
            start=d("1999-12-31"),
            end=d("2025-12-31"),
            monthly_rent=Decimal("1"),
            deposit=Decimal("0"),
        )


# --- the ledger's ContractTerms refuse the same dates (escrow.domain.terms) -------------------------


def _terms(start: str, end: str) -> ContractTerms:
    return ContractTerms(
        id="C7",
        filing_no="JZ-7",
        tenant="T7",
        enterprise="E7",
        start=d(start),
        end=d(end),
        monthly_rent=Decimal("100.00"),
        deposit=Decimal("0.00"),
    )


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (
            "1999-12-31",
            "2025-12-31",
            "contract C7: start 1999-12-31 is outside the supported dates 2000-01-01 to 2099-12-31",
        ),
        (
            "0001-01-01",
            "0001-12-31",
            "contract C7: start 0001-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
        ),
        (
            "2025-01-01",
            "2100-01-01",
            "contract C7: end 2100-01-01 is outside the supported dates 2000-01-01 to 2099-12-31",
        ),
        (
            "9999-12-01",
            "9999-12-31",
            "contract C7: start 9999-12-01 is outside the supported dates 2000-01-01 to 2099-12-31",
        ),
    ],
)
def test_contract_terms_refuse_unsupported_dates_naming_the_contract(
    start: str, end: str, expected: str
) -> None:
    with pytest.raises(ValueError) as caught:
        _terms(start, end)
    assert expected in str(caught.value)


def test_contract_terms_accept_the_whole_supported_range() -> None:
    terms = _terms("2000-01-01", "2099-12-31")

    assert (terms.start, terms.end) == (d("2000-01-01"), d("2099-12-31"))
