"""The scenario file: a TOML description of contracts and of what the parties do, by date.

The format is a public contract (docs/scenario-format.md): platforms and regulators write these
files by hand. This module only *reads* them: it turns the bytes of a file into a frozen,
validated :class:`Scenario`, or refuses them with a :class:`ScenarioError` whose message is one
line, ``<file>: <entry>: <problem>``, e.g.::

    demo.toml: actions[3].amount: '12.345' has more than two decimals

A malformed file stops the run before anything is written (docs/scenario-format.md); whether an
action is *allowed* by the rules (a late refund opinion, deductions above what is held) is the
ledger's business, not this module's.

Validation is strict because the files are written by hand: an amount is always a string of
decimal yuan (``"5000.00"``, never ``5000``), a date is always a TOML date (``2025-06-03``, never
``"2025-06-03"`` nor a date-time) within the supported dates (:data:`~escrow.calendar.FIRST_DATE`
to :data:`~escrow.calendar.LAST_DATE`, 2000-01-01 to 2099-12-31: every date field, contract
``start``/``end``, action ``date``, ``until``, ``rates[].from`` and the ``[calendar]`` days), a
boolean is ``true``/``false``, and an unknown key is an error (a typo must not silently drop a
field).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import stat
import tomllib
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from escrow.calendar import WorkdayCalendar, check_supported_date
from escrow.domain.payments import MAX_MONTHS_PER_PAYMENT
from escrow.errors import AmountError, CalendarError, InputError
from escrow.identifiers import id_problem, line_problem
from escrow.interest import BUILTIN_TABLES, DEFAULT_RATE_TABLE, RateRow, RateTable, rate_table
from escrow.money import amount_of
from escrow.rules import RULE_PACKS as _RULE_PACKS

__all__ = [
    "ACTION_KINDS",
    "MAX_ACTIONS",
    "MAX_CONTRACTS",
    "MAX_FILE_BYTES",
    "MAX_MONTHS_PER_PAYMENT",
    "RULE_PACKS",
    "ActionSpec",
    "CalendarSpec",
    "ChangeAccountAction",
    "ContractSpec",
    "Deduction",
    "Parameters",
    "PayDepositAction",
    "PayRentAction",
    "ProposeRefundAction",
    "RateRowSpec",
    "ResolveAction",
    "ResumeReleasesAction",
    "ReturnHomeAction",
    "Scenario",
    "ScenarioError",
    "SuspendReleasesAction",
    "TenantAgreeAction",
    "TenantDisagreeAction",
    "load_scenario",
    "parse_scenario",
]

#: Rule packs a scenario may name (docs/rules.md). ``beijing-2024`` is 京建法〔2024〕8号.
RULE_PACKS: tuple[str, ...] = tuple(_RULE_PACKS)

#: A scenario file larger than this is refused unread (a hand-written file is far smaller).
MAX_FILE_BYTES = 16 * 1024 * 1024

#: The most contracts one file may hold (a platform files more through the library, in batches).
MAX_CONTRACTS = 10_000

#: The most actions one file may hold.
MAX_ACTIONS = 100_000


class ScenarioError(InputError):
    """A scenario file that cannot be read or does not follow docs/scenario-format.md.

    ``str(error)`` is one line: ``<file>: <entry>: <problem>`` (or ``<file>: <problem>`` when the
    problem is the file as a whole, e.g. ``demo.toml: no such file``).
    """

    def __init__(self, source: str, entry: str | None, problem: str) -> None:
        self.source = _one_line(source)
        self.entry = _one_line(entry) if entry else None
        self.problem = _one_line(problem)
        parts = (
            [self.source, self.entry, self.problem] if self.entry else [self.source, self.problem]
        )
        super().__init__(_one_line(": ".join(parts)))


# --- showing input in messages


def _one_line(text: str) -> str:
    """``text`` with every line break or other unprintable character escaped: always one line."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _kind(value: object) -> str:
    """What a TOML value is, in TOML's words ("a string", "an array", ...)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _show(value: object) -> str:
    """A short, one-line rendering of a TOML value for a message (never a huge or deep repr)."""
    if isinstance(value, str):
        shown = repr(value)
        return shown if len(shown) <= 42 else shown[:40] + "…'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value) if value.bit_length() <= 64 else "a very large integer"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return _kind(value)


def _problem(problem: str, at: str = "") -> PydanticCustomError:
    """A validation error whose message is ``problem``; ``at`` names a field below the location."""
    return PydanticCustomError("escrow_input", "{problem}", {"problem": problem, "at": at})


# --- field types


def _toml_date(value: object) -> dt.date:
    expected = "expected a TOML date (YYYY-MM-DD)"
    if isinstance(value, dt.datetime):
        raise _problem(f"{expected}, got a date-time (drop the time of day)")
    if isinstance(value, dt.date):
        return _supported(value)
    if isinstance(value, str):
        raise _problem(f"{expected}, got a string (write the date without quotes)")
    raise _problem(f"{expected}, got {_kind(value)}")


def _supported(day: dt.date) -> dt.date:
    """``day`` if escrow supports it (FIRST_DATE to LAST_DATE), else a problem naming it."""
    what = "date"
    try:
        check_supported_date(day, what)
    except CalendarError as exc:
        raise _problem(str(exc).removeprefix(f"{what} ")) from None
    return day


def _amount_parser(*, allow_zero: bool) -> Callable[[object], Decimal]:
    def parse(value: object) -> Decimal:
        # A file gives strings; a Decimal comes from Python code (the library's rule applies).
        if not isinstance(value, str | Decimal):
            raise _problem(f'must be a string like "1234.50", got {_kind(value)}')
        where = "amount"
        try:
            return amount_of(value, where=where, allow_zero=allow_zero)
        except AmountError as exc:
            message = str(exc)
            prefix = f"{where}: "
            raise _problem(message.removeprefix(prefix)) from None

    return parse


_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,6})?", re.ASCII)


def _percent(value: object) -> Decimal:
    if isinstance(value, Decimal) and value.is_finite():
        value = format(value, "f")  # built in Python, not read from a file
    if not isinstance(value, str):
        raise _problem(f'must be a string like "0.35", got {_kind(value)}')
    if not _PERCENT.fullmatch(value):
        if value.startswith("-"):
            raise _problem(f"{_show(value)} is negative")
        raise _problem(
            f'{_show(value)} is not an annual percentage (write it like "0.35", at most 6 decimals)'
        )
    percent = Decimal(value)
    if percent > 100:
        raise _problem(f"{_show(value)} is more than 100 %")
    return percent


def _day_basis(value: object) -> int:
    # Not Literal[360, 365]: that would take 360.0 (equal to 360) from a TOML float.
    if isinstance(value, int) and not isinstance(value, bool) and value in (360, 365):
        return value
    raise _problem(f"expected 360 or 365, got {_show(value)}")


def _array(value: object) -> tuple[object, ...]:
    if isinstance(value, list | tuple):
        return tuple(value)
    raise _problem(f"expected an array, got {_kind(value)}")


def _identifier(value: str) -> str:
    problem = id_problem(value)  # the library's rule too (escrow.identifiers)
    if problem is not None:
        raise _problem(problem)
    return value


def _line(value: str) -> str:
    problem = line_problem(value)
    if problem is not None:
        raise _problem(problem)
    return value


# The JSON Schema of each type (``escrow schema scenario``) describes the file as JSON tools see
# it: a TOML date as a "YYYY-MM-DD" string, an amount as a string of at most two decimals.
_DATE_SCHEMA = {
    "type": "string",
    "format": "date",
    "pattern": "^20[0-9]{2}-[0-9]{2}-[0-9]{2}$",
    "description": "A TOML date (written YYYY-MM-DD in JSON), 2000-01-01 to 2099-12-31.",
}
_AMOUNT_PATTERN = "^[0-9]+(\\.[0-9]{1,2})?$"

TomlDate: TypeAlias = Annotated[
    dt.date, BeforeValidator(_toml_date), WithJsonSchema(_DATE_SCHEMA)
]
"""A TOML local date (``2025-06-03``) from 2000-01-01 to 2099-12-31; a string, a date-time or a
date outside that range is refused."""

Amount: TypeAlias = Annotated[
    Decimal,
    BeforeValidator(_amount_parser(allow_zero=True)),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _AMOUNT_PATTERN,
            "description": "Decimal yuan >= 0, at most two decimals (\"1234.50\").",
        }
    ),
]
"""Decimal yuan >= 0: in a file a string with at most two decimals (``"1234.50"``); from
Python code a finite Decimal is also taken, under the same rules."""

PositiveAmount: TypeAlias = Annotated[
    Decimal,
    BeforeValidator(_amount_parser(allow_zero=False)),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": _AMOUNT_PATTERN,
            "not": {"pattern": "^0*(\\.0*)?$"},
            "description": "Decimal yuan > 0, at most two decimals (\"1234.50\").",
        }
    ),
]
"""Decimal yuan > 0, otherwise as :data:`Amount`."""

Identifier: TypeAlias = Annotated[
    str,
    AfterValidator(_identifier),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^\\S(.*\\S)?$"}
    ),
]
"""An id (contract, filing number, tenant, enterprise, bank): non-empty, at most 100 characters,
no outer spaces, no line breaks or control characters (:func:`escrow.identifiers.id_problem`)."""

Line: TypeAlias = Annotated[
    str, AfterValidator(_line), WithJsonSchema({"type": "string", "pattern": "\\S"})
]
"""One line of non-blank text (a name, a deduction item), at most 1000 characters."""

_T = TypeVar("_T")
Array: TypeAlias = Annotated[tuple[_T, ...], BeforeValidator(_array)]
"""A TOML array, kept as a tuple (the models are frozen)."""

Fund: TypeAlias = Literal["deposit", "rent"]
Channel: TypeAlias = Literal["bank", "ecny"]


class _Model(BaseModel):
    # strict: no coercion of "true" to True or of 5 to "5"; forbid: a typo is an error.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


# --- the file's tables


class Parameters(_Model):
    """``[parameters]``: overrides of the rule pack's parameters; ``None`` = the pack's."""

    day_basis: Annotated[
        int, BeforeValidator(_day_basis), WithJsonSchema({"type": "integer", "enum": [360, 365]})
    ] | None = None
    """Days in the interest year (rule 16)."""
    settle_on_working_days: bool | None = None
    """Outgoing transfers execute on working days only (rule 11)."""
    deducted_interest_to: Literal["recipient", "tenant"] | None = None
    """Who gets the interest on deducted principal (rule 7)."""


class RateRowSpec(_Model):
    """``[[rates]]``: one row of a scenario's own demand-deposit rate table (rule 14)."""

    effective: TomlDate = Field(alias="from")
    """The day the rate takes effect (TOML key ``from``)."""
    annual_percent: Annotated[
        Decimal,
        BeforeValidator(_percent),
        WithJsonSchema({"type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,6})?$"}),
    ]
    """Annual rate in percent, a decimal string >= 0 (``"0.35"``)."""

    def to_rate_row(self) -> RateRow:
        return RateRow(self.effective, self.annual_percent)


class CalendarSpec(_Model):
    """``[calendar]``: changes to the official workday calendar (rule 21)."""

    extra_holidays: Array[TomlDate] = ()
    extra_workdays: Array[TomlDate] = ()

    @model_validator(mode="after")
    def _consistent(self) -> CalendarSpec:
        try:
            self.build()
        except CalendarError as exc:
            raise _problem(str(exc)) from None
        return self

    def build(self, official_years: Sequence[int] = ()) -> WorkdayCalendar:
        """The workday calendar these overrides describe."""
        return WorkdayCalendar(
            extra_holidays=self.extra_holidays,
            extra_workdays=self.extra_workdays,
            official_years=official_years,
        )


def _filing_no_optional(schema: dict[str, Any]) -> None:
    schema["required"] = [key for key in schema["required"] if key != "filing_no"]


def _action_required(schema: dict[str, Any]) -> None:
    schema["required"] = ["date", "action", *schema["required"][1:]]


class ContractSpec(_Model):
    """``[[contracts]]``: one tenancy contract."""

    model_config = ConfigDict(json_schema_extra=_filing_no_optional)

    id: Identifier
    filing_no: Identifier
    """备案编号 (Art. 19); defaults to ``id`` when the file leaves it out."""
    tenant: Identifier
    enterprise: Identifier
    start: TomlDate
    end: TomlDate
    """Last day of the tenancy; not before ``start``."""
    monthly_rent: PositiveAmount
    deposit: Amount
    affordable: bool = False
    """保障性租赁住房 (Art. 21)."""

    @model_validator(mode="before")
    @classmethod
    def _default_filing_no(cls, data: Any) -> Any:
        if isinstance(data, dict) and "filing_no" not in data and "id" in data:
            return {**data, "filing_no": data["id"]}
        return data

    @model_validator(mode="after")
    def _dates_in_order(self) -> ContractSpec:
        if self.end < self.start:
            raise _problem(
                f"{self.end.isoformat()} is before the start {self.start.isoformat()}", at="end"
            )
        return self


class Deduction(_Model):
    """One itemised deduction of a refund opinion (rule 3)."""

    item: Line
    amount: Amount


class _Action(_Model):
    # The model sets ``action`` from its class; a file must write it.
    model_config = ConfigDict(json_schema_extra=_action_required)

    date: TomlDate
    """The business day the act happens."""


class PayDepositAction(_Action):
    """The tenant pays (part of) the deposit into custody (rule 1)."""

    action: Literal["pay_deposit"] = "pay_deposit"
    contract: Identifier
    amount: PositiveAmount
    channel: Channel = "bank"


class PayRentAction(_Action):
    """The tenant pays rent: months = amount / monthly_rent (rule 9)."""

    action: Literal["pay_rent"] = "pay_rent"
    contract: Identifier
    amount: PositiveAmount
    channel: Channel = "bank"


class ReturnHomeAction(_Action):
    """The tenancy ends and the tenant returns the home (rule 2)."""

    action: Literal["return_home"] = "return_home"
    contract: Identifier
    reason: Literal["expiry", "termination"] | None = None


class ProposeRefundAction(_Action):
    """The enterprise proposes its refund opinion for one fund (rules 3-4)."""

    action: Literal["propose_refund"] = "propose_refund"
    contract: Identifier
    fund: Fund
    deductions: Array[Deduction] = ()


class TenantAgreeAction(_Action):
    """The tenant agrees to the opinion's deductions (rule 5)."""

    action: Literal["tenant_agree"] = "tenant_agree"
    contract: Identifier
    fund: Fund


class TenantDisagreeAction(_Action):
    """The tenant disputes the opinion's deductions (rule 5)."""

    action: Literal["tenant_disagree"] = "tenant_disagree"
    contract: Identifier
    fund: Fund


class ResolveAction(_Action):
    """A resolution splits a disputed amount between tenant and enterprise (rule 5)."""

    action: Literal["resolve"] = "resolve"
    contract: Identifier
    fund: Fund
    via: Literal["negotiation", "mediation", "arbitration", "court"]
    to_tenant: Amount
    to_enterprise: Amount


class SuspendReleasesAction(_Action):
    """The district authority suspends supervision payments to an enterprise (rule 13)."""

    action: Literal["suspend_releases"] = "suspend_releases"
    enterprise: Identifier


class ResumeReleasesAction(_Action):
    """The district authority lifts a suspension (rule 13)."""

    action: Literal["resume_releases"] = "resume_releases"
    enterprise: Identifier


class ChangeAccountAction(_Action):
    """The fund centre moves custody or supervision to a new bank account (rule 18)."""

    action: Literal["change_account"] = "change_account"
    account: Literal["custody", "supervision"]
    bank: Identifier


ActionSpec: TypeAlias = Annotated[
    PayDepositAction
    | PayRentAction
    | ReturnHomeAction
    | ProposeRefundAction
    | TenantAgreeAction
    | TenantDisagreeAction
    | ResolveAction
    | SuspendReleasesAction
    | ResumeReleasesAction
    | ChangeAccountAction,
    Field(discriminator="action"),
]
"""One ``[[actions]]`` entry: a model per kind, told apart by its ``action`` key."""

ACTION_KINDS: tuple[str, ...] = (
    "pay_deposit",
    "pay_rent",
    "return_home",
    "propose_refund",
    "tenant_agree",
    "tenant_disagree",
    "resolve",
    "suspend_releases",
    "resume_releases",
    "change_account",
)


def _known_rules(value: str) -> str:
    if value not in RULE_PACKS:
        known = ", ".join(RULE_PACKS)
        raise _problem(f"unknown rule pack {_show(value)} (expected one of {known})")
    return value


def _known_rate_table(value: str) -> str:
    if value not in BUILTIN_TABLES:
        known = ", ".join(BUILTIN_TABLES)
        raise _problem(f"unknown rate table {_show(value)} (expected one of {known})")
    return value


class Scenario(_Model):
    """A whole scenario file (docs/scenario-format.md); actions in file order (:meth:`timeline`)."""

    name: Line
    description: str = ""
    rules: Annotated[str, AfterValidator(_known_rules)] = "beijing-2024"
    rate_table: Annotated[str, AfterValidator(_known_rate_table)] = DEFAULT_RATE_TABLE
    """A built-in rate table; ignored when :attr:`rates` is given."""
    until: TomlDate | None = None
    """Stop the clock here; ``None``: run until nothing is pending."""
    parameters: Parameters = Parameters()
    rates: Array[RateRowSpec] = ()
    """The scenario's own rate table, in strictly increasing date order; replaces the built-in."""
    calendar: CalendarSpec = CalendarSpec()
    contracts: Annotated[Array[ContractSpec], Field(min_length=1)]
    actions: Array[ActionSpec] = ()
    """In file order: ``actions[i]`` is the file's ``[[actions]]`` entry number ``i``."""

    @model_validator(mode="after")
    def _cross_check(self) -> Scenario:
        for i, (before, after) in enumerate(zip(self.rates, self.rates[1:], strict=False), 1):
            if after.effective <= before.effective:
                raise _problem(
                    f"{after.effective.isoformat()} is not after rates[{i - 1}].from"
                    f" ({before.effective.isoformat()}): list the rates in date order",
                    at=f"rates[{i}].from",
                )
        ids: dict[str, int] = {}
        filings: dict[str, int] = {}
        for i, contract in enumerate(self.contracts):
            if contract.id in ids:
                raise _problem(
                    f"duplicate contract id {_show(contract.id)}"
                    f" (also contracts[{ids[contract.id]}])",
                    at=f"contracts[{i}].id",
                )
            ids[contract.id] = i
            if contract.filing_no in filings:
                raise _problem(
                    f"duplicate filing number {_show(contract.filing_no)}"
                    f" (also contracts[{filings[contract.filing_no]}])",
                    at=f"contracts[{i}].filing_no",
                )
            filings[contract.filing_no] = i
        enterprises = {contract.enterprise for contract in self.contracts}
        for i, action in enumerate(self.actions):
            contract_id = getattr(action, "contract", None)
            if contract_id is not None and contract_id not in ids:
                raise _problem(
                    f"unknown contract {_show(contract_id)}", at=f"actions[{i}].contract"
                )
            if isinstance(action, PayRentAction) and contract_id is not None:
                rent = self.contracts[ids[contract_id]].monthly_rent
                if action.amount > rent * MAX_MONTHS_PER_PAYMENT:
                    raise _problem(
                        f"{action.amount} is more than {MAX_MONTHS_PER_PAYMENT} months' rent at"
                        f" {rent} a month; a payment may cover at most {MAX_MONTHS_PER_PAYMENT}"
                        " months (a lease is at most 20 years, Civil Code Art. 705)",
                        at=f"actions[{i}].amount",
                    )
            enterprise = getattr(action, "enterprise", None)
            if enterprise is not None and enterprise not in enterprises:
                raise _problem(
                    f"unknown enterprise {_show(enterprise)} (no contract names it)",
                    at=f"actions[{i}].enterprise",
                )
        return self

    def timeline(self) -> list[tuple[int, ActionSpec]]:
        """``(index, action)`` pairs sorted by date; same-day actions keep file order."""
        return sorted(enumerate(self.actions), key=lambda pair: pair[1].date)

    def contract(self, contract_id: str) -> ContractSpec:
        """The contract with this id (KeyError if there is none)."""
        for contract in self.contracts:
            if contract.id == contract_id:
                return contract
        raise KeyError(contract_id)

    def effective_rate_table(self) -> RateTable:
        """The scenario's ``[[rates]]`` as a table, or else the built-in :attr:`rate_table`."""
        if self.rates:
            return RateTable("scenario", tuple(row.to_rate_row() for row in self.rates))
        return rate_table(self.rate_table)

    def workday_calendar(self, official_years: Sequence[int] = ()) -> WorkdayCalendar:
        """The official calendar with this scenario's ``[calendar]`` overrides."""
        return self.calendar.build(official_years)


# --- loading

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+", re.ASCII)


def _entry(loc: Sequence[int | str]) -> str:
    """``('actions', 3, 'deductions', 0, 'amount')`` → ``actions[3].deductions[0].amount``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else _show(part)
            text += f".{key}" if text else key
    return text


def _location(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    """The error location as the file sees it: without the union tag pydantic inserts."""
    parts = tuple(loc)
    if len(parts) >= 3 and parts[0] == "actions" and isinstance(parts[1], int):
        parts = parts[:2] + parts[3:]  # ('actions', 3, 'pay_deposit', 'amount')
    return parts


def _join(entry: str, at: str) -> str:
    if not at:
        return entry
    if not entry:
        return at
    return f"{entry}{at}" if at.startswith("[") else f"{entry}.{at}"


def _pick(errors: Sequence[Mapping[str, Any]]) -> tuple[Mapping[str, Any], str]:
    """The error to report and a hint: the first error, unless a misspelt key explains it.

    A key written ``amout`` gives two errors, ``amount: required`` then ``amout: unknown
    field``; the second is the one that tells the author what to fix.
    """
    first = errors[0]
    if first["type"] == "missing":
        missing = _location(first["loc"])
        for error in errors:
            extra = _location(error["loc"])
            if (
                error["type"] == "extra_forbidden"
                and extra[:-1] == missing[:-1]
                and isinstance(extra[-1], str)
                and isinstance(missing[-1], str)
                and difflib.get_close_matches(extra[-1], [missing[-1]], n=1, cutoff=0.6)
            ):
                return error, f" (did you mean {missing[-1]!r}?)"
    return first, ""


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    """(entry, problem) for one pydantic error, in the file's words."""
    entry = _entry(_location(error["loc"]))
    kind = error["type"]
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    if kind == "escrow_input":
        return _join(entry, str(ctx.get("at", ""))), str(ctx.get("problem", error["msg"]))
    if kind == "missing":
        return entry, "required"
    if kind == "extra_forbidden":
        return entry, "unknown field"
    if kind == "union_tag_not_found":
        return _join(entry, "action"), "required"
    if kind == "union_tag_invalid":
        tag = value.get("action") if isinstance(value, dict) else None
        if not isinstance(tag, str):
            return _join(entry, "action"), f"expected a string, got {_kind(tag)}"
        known = ", ".join(ACTION_KINDS)
        return _join(entry, "action"), f"unknown action {_show(tag)} (expected one of {known})"
    if kind == "string_type":
        return entry, f"expected a string, got {_kind(value)}"
    if kind == "bool_type":
        return entry, f"expected true or false, got {_kind(value)}"
    if kind == "int_parsing_size":
        return entry, "is far too large"
    if kind in {"int_type", "int_parsing"}:
        return entry, f"expected an integer, got {_kind(value)}"
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return entry, f"expected a table, got {_kind(value)}"
    if kind in {"list_type", "tuple_type"}:
        return entry, f"expected an array, got {_kind(value)}"
    if kind == "literal_error":
        return entry, f"expected {ctx.get('expected', 'another value')}, got {_show(value)}"
    if kind == "too_short":
        if entry == "contracts":
            return entry, "needs at least one [[contracts]] entry"
        return entry, f"needs at least {ctx.get('min_length', 1)} entries"
    if kind == "string_too_short":
        return entry, "must not be empty"
    if kind in {"date_type", "date_parsing"}:
        return entry, "expected a TOML date (YYYY-MM-DD)"
    return entry, str(error["msg"]).removeprefix("Value error, ")


def _validation_error(source: str, exc: ValidationError) -> ScenarioError:
    errors = exc.errors(include_url=False)
    if not errors:
        return ScenarioError(source, None, "does not follow the scenario format")
    error, hint = _pick(errors)
    entry, problem = _describe(error)
    return ScenarioError(source, entry or None, problem + hint)


def _check_counts(source: str, data: Mapping[str, Any]) -> None:
    """Refuse a file with more contracts or actions than one file may hold, before validating
    them one by one (the work one file asks for is bounded; see :data:`MAX_CONTRACTS`)."""
    for key, limit in (("contracts", MAX_CONTRACTS), ("actions", MAX_ACTIONS)):
        entries = data.get(key)
        if isinstance(entries, list) and len(entries) > limit:
            raise ScenarioError(
                source,
                key,
                f"{len(entries)} entries; one file may hold at most {limit}"
                " (split the file, or use the library for bulk imports)",
            )


def parse_scenario(text: str, source: str) -> Scenario:
    """Validate the TOML ``text`` of a scenario; ``source`` names it in error messages.

    Raises :class:`ScenarioError` (one line) for any text that is not a valid scenario.
    """
    try:
        text = text.removeprefix("\ufeff")
        if not text.strip():
            raise ScenarioError(source, None, "the file is empty")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
        except RecursionError:
            raise ScenarioError(source, None, "not valid TOML: nested too deeply") from None
        except ValueError as exc:  # e.g. an integer with more than 4300 digits
            raise ScenarioError(source, None, f"not valid TOML: {exc}") from None
        _check_counts(source, data)
        try:
            return Scenario.model_validate(data)
        except ValidationError as exc:
            raise _validation_error(source, exc) from None
    except ScenarioError:
        raise
    except RecursionError:
        raise ScenarioError(source, None, "nested too deeply") from None
    except Exception as exc:  # the promise: nothing but ScenarioError leaves this function
        raise ScenarioError(source, None, f"cannot be read ({type(exc).__name__}: {exc})") from exc


def _not_a_file(path: Path) -> str | None:
    """What ``path`` is when it exists and is not a regular file (None otherwise)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return None  # missing or unreadable: opening it says which
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate the scenario file at ``path``.

    Raises :class:`ScenarioError` (one line, naming the file as given) for any file that cannot
    be read, is not UTF-8 text, not TOML, or not a valid scenario; never anything else.
    """
    source = str(path)
    kind = _not_a_file(Path(path))
    if kind is not None:  # opening a FIFO would wait for a writer; a device may never end
        raise ScenarioError(source, None, f"is {kind}, not a file")
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError(source, None, "no such file") from None
    except IsADirectoryError:
        raise ScenarioError(source, None, "is a directory, not a file") from None
    except PermissionError:
        raise ScenarioError(source, None, "permission denied") from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        raise ScenarioError(source, None, f"cannot be read: {reason}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(source, None, f"the file is larger than {MAX_FILE_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError(source, None, "not a UTF-8 text file") from None
    return parse_scenario(text, source)
