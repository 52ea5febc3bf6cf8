"""The ``escrow`` command line: thin, parse → call → render (rich tables or ``--json``).

Every refusal is an :class:`~escrow.errors.EscrowError`; the CLI turns it into one line on
stderr, ``escrow: <message>``, and exit code 2; so does a usage error (an unknown option, a
missing argument). A write that still meets a concurrent writer after its retries exits 75
(``EX_TEMPFAIL``: the same command may simply be run again). A traceback means a bug, never
bad input. Query commands (``balance``, ``deadlines``, ``transfers``, ``notices``, ``contracts``,
``replay``, ``verify``) open the ledger read-only: they never write, and refuse a database that
holds no ledger. The queries print a table, JSON or CSV (``--format``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import enum
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Generator, Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from typer.core import TyperGroup

from escrow import __version__
from escrow.audit import AuditReport, audit
from escrow.calendar import WorkdayCalendar, check_supported_date
from escrow.checkpoint import (
    Checkpoint,
    ConsistencyProof,
    ProofFailed,
    Receipt,
    check_checkpoints,
    check_consistency,
    check_receipt,
    checkpoints_in,
    generate_keys,
    load_private_key,
    load_public_key,
    make_checkpoint,
    make_consistency,
    make_receipt,
    read_checkpoints,
)
from escrow.clock import SystemClock
from escrow.config import LedgerConfig
from escrow.domain.ledger import Transfer
from escrow.errors import (
    ConcurrencyError,
    EscrowError,
    InputError,
    IntegrityError,
    UnknownContract,
)
from escrow.interest import BUILTIN_TABLES, DEFAULT_RATE_TABLE, RateTable, rate_table
from escrow.logs import configure_logging, stop_logging
from escrow.projections import Notice
from escrow.projector import drift, private_read_models, rebuild_into
from escrow.projector import rebuild as rebuild_read_models
from escrow.render import (
    Rows,
    balance_json,
    balance_rows,
    contract_rows,
    deadline_rows,
    notice_rows,
    print_balance,
    print_report,
    print_rows,
    transfer_rows,
    write_csv,
    write_json,
)
from escrow.report import (
    report_held,
    report_notice,
    report_refusal,
    report_transfer,
    write_report,
)
from escrow.runner import run_scenario, run_scenario_json
from escrow.scenario import load_scenario
from escrow.service import CODEC, Ledger, open_ledger, recorded_config
from escrow.simulate import simulate, simulation_label
from escrow.store import (
    READ_MODELS_KEY,
    SCHEMA_VERSION,
    EventStore,
    TreeHead,
    check_database_path,
    migrate_store,
    open_store,
    readstore,
)
from escrow.terminal import printable

__all__ = ["app", "main"]

_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_COUNT = re.compile(r"[0-9]{1,6}", re.ASCII)


EXIT_OK = 0
EXIT_UNSOUND = 1
"""``verify`` found the ledger unsound (the line names the first bad event)."""
EXIT_REFUSED = 2
"""Bad input or a refusal: a malformed file or argument, a database that is no ledger."""
EXIT_TEMPFAIL = 75
"""``EX_TEMPFAIL``: a concurrent writer kept winning after every retry; run the command again."""

EXIT_CODES_HELP = (
    f"Exit codes: {EXIT_OK} done (verify: sound); {EXIT_UNSOUND} verify found the ledger"
    f" unsound; {EXIT_REFUSED} bad input or refused (one line on stderr, nothing written);"
    f" {EXIT_TEMPFAIL} a concurrent writer kept the ledger busy after every retry (nothing"
    " of the failed act was written: run the same command again)."
)


def _one_line(message: str) -> str:
    """``message`` on one line, every control character shown as its escape."""
    return printable(" ".join(message.split("\n")).replace("\r", " "))


def _fail(message: str, code: int = EXIT_REFUSED) -> NoReturn:
    """Print ``escrow: <message>`` (one line) on stderr and exit ``code`` (2 by default)."""
    typer.echo(f"escrow: {_one_line(message)}", err=True)
    raise typer.Exit(code=code)


def _plain_flags(command: Any, ctx: Any) -> None:
    """Show a flag as ``--json``, not ``--json <bool>`` (typer labels each option with a type)."""
    for param in [*command.params, command.get_help_option(ctx)]:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""


# click's UsageError (an unknown option, a missing argument), whether typer vendors click or not.
_USAGE_ERROR: type[Exception] = typer.BadParameter.__mro__[1]


def _usage_fail(exc: Any) -> NoReturn:
    """A usage error as one line like every other error: ``escrow: <problem> (see '… --help')``."""
    if type(exc).__name__ == "NoArgsIsHelpError":  # a group called bare: its help, as asked
        raise exc
    path = exc.ctx.command_path if exc.ctx is not None else "escrow"
    _fail(f"{exc.format_message().rstrip('.')} (see '{path} --help')")


class _EscrowGroup(TyperGroup):
    """A command group: any EscrowError or usage error below it becomes one line and exit code 2
    (75 for a conflict with concurrent writers that outlived the retries), and the help of the
    group and of its commands shows flags without a type."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().make_context(*args, **kwargs)
        except _USAGE_ERROR as exc:
            _usage_fail(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except ConcurrencyError as exc:
            _fail(f"{exc} (still busy after retrying; run the command again)", EXIT_TEMPFAIL)
        except EscrowError as exc:
            _fail(str(exc))
        except _USAGE_ERROR as exc:
            _usage_fail(exc)
        finally:
            if ctx.parent is None:  # the root group: the command is over
                stop_logging()

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            _plain_flags(command, ctx)
        return command

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_flags(self, ctx)
        super().format_help(ctx, formatter)


app = typer.Typer(
    name="escrow",
    cls=_EscrowGroup,
    help=(
        "escrow keeps the books of Beijing rental deposit custody and rent supervision"
        " (京建法〔2024〕8号) as an event-sourced ledger. Give it a scenario file of contracts"
        " and of what the parties do, and it works out deadlines, refunds, releases and interest"
        " by the rules."
    ),
    epilog=EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    # Markdown joins a docstring's lines into paragraphs: help never breaks where the source does.
    rich_markup_mode="markdown",
)

calendar_app = typer.Typer(
    cls=_EscrowGroup,
    help="Working days of mainland China's official calendar, with make-up days (rule 21).",
    no_args_is_help=True,
)
rates_app = typer.Typer(
    cls=_EscrowGroup,
    help="Demand-deposit rate tables used for deposit and rent interest (rule 14).",
    no_args_is_help=True,
)
app.add_typer(calendar_app, name="calendar")
app.add_typer(rates_app, name="rates")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"escrow {__version__}")
        raise typer.Exit()


class LogLevel(enum.StrEnum):
    """How much the library logs on stderr."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
    log_level: Annotated[
        LogLevel | None,
        typer.Option(
            "--log-level",
            case_sensitive=False,
            help="Log on stderr from this level (default with --log-json: WARNING): WARNING shows"
            " retries after a concurrent writer, INFO also acts, refusals, clock runs and store"
            " opens, DEBUG each act's arguments and clock tick. Without --log-level or --log-json"
            " nothing is logged, and an error stays one line.",
        ),
    ] = None,
    log_json: Annotated[
        bool,
        typer.Option("--log-json", help="Log one JSON object per line (time, level, logger)."),
    ] = False,
) -> None:
    """escrow: the books of Beijing rental deposit custody and rent supervision."""
    if log_level is not None or log_json:
        configure_logging((log_level or LogLevel.WARNING).value, log_json, sys.stderr)


# --- argument parsing


def _parse_date(text: str, name: str) -> dt.date:
    """A command-line date (YYYY-MM-DD) that escrow supports (2000-01-01 to 2099-12-31).

    InputError naming the argument otherwise: not a date, or a date outside
    :data:`~escrow.calendar.FIRST_DATE` .. :data:`~escrow.calendar.LAST_DATE` (then
    ``--until: 2100-01-01 is outside the supported dates 2000-01-01 to 2099-12-31``).
    """
    day: dt.date | None = None
    if _DATE.fullmatch(text):
        with contextlib.suppress(ValueError):
            day = dt.date.fromisoformat(text)
    if day is not None:
        check_supported_date(day, f"{name}:")
        return day
    shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "…"
    raise InputError(f"{name}: {shown} is not a date (expected YYYY-MM-DD, e.g. 2025-09-30)")


MAX_WORKING_DAYS = 36_600
"""The largest count ``calendar next-working-day`` takes: more days than the supported calendar
(2000-01-01 to 2099-12-31) holds, so the answer's own range check is the real bound."""

LAST_ANSWER = dt.date(2100, 1, 31)
"""The last working day ``calendar next-working-day`` answers: the deadlines the rules count from
the last supported date (2099-12-31) reach into January 2100, nothing further does."""


def _parse_count(text: str, name: str) -> int:
    """A command-line count of working days, from 1 to :data:`MAX_WORKING_DAYS`."""
    if _COUNT.fullmatch(text) and 1 <= int(text) <= MAX_WORKING_DAYS:
        return int(text)
    shown = repr(text) if len(text) <= 40 else repr(text[:37]) + "…"
    raise InputError(
        f"{name}: {shown} is not a whole number of days from 1 to {MAX_WORKING_DAYS}"
        " (the supported calendar ends on 2099-12-31)"
    )


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def _provisional_years(calendar: WorkdayCalendar, start: dt.date, end: dt.date) -> list[int]:
    """Years of ``(start, end]`` (or of ``end`` alone) whose official schedule is unknown."""
    first = min(start + dt.timedelta(days=1), end).year
    return [
        year for year in range(first, end.year + 1) if calendar.is_provisional(dt.date(year, 1, 1))
    ]


def _provisional_note(years: list[int]) -> str:
    if not years:
        return ""
    listed = ", ".join(str(year) for year in years)
    noun = "schedule" if len(years) == 1 else "schedules"
    return f" (provisional: {listed} {noun} not yet published)"


# --- escrow calendar

_JSON = typer.Option("--json", help="Print JSON instead of text.")


@calendar_app.command("next-working-day", context_settings={"ignore_unknown_options": True})
def next_working_day(
    date: Annotated[
        str, typer.Argument(metavar="DATE", help="The start day, YYYY-MM-DD (never counted).")
    ],
    n: Annotated[str, typer.Argument(metavar="N", help="How many working days after DATE.")],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Print the N-th working day after DATE (DATE itself does not count; Civil Code Art. 201).

    Example: escrow calendar next-working-day 2025-09-30 3
    """
    start = _parse_date(date, "DATE")
    count = _parse_count(n, "N")
    beyond = InputError(
        f"N: {count} working days after {start.isoformat()} end after"
        f" {LAST_ANSWER.isoformat()}, the last day the calendar answers"
    )
    if (LAST_ANSWER - start).days < count:  # each working day is at least one calendar day
        raise beyond
    calendar = WorkdayCalendar()
    result = calendar.nth_working_day(start, count)
    if result > LAST_ANSWER:
        raise beyond
    years = _provisional_years(calendar, start, result)
    if as_json:
        _print_json(
            {
                "start": start.isoformat(),
                "n": count,
                "working_day": result.isoformat(),
                "provisional": bool(years),
                "provisional_years": years,
            }
        )
        return
    typer.echo(result.isoformat() + _provisional_note(years))


@calendar_app.command("is-working-day", context_settings={"ignore_unknown_options": True})
def is_working_day(
    date: Annotated[str, typer.Argument(metavar="DATE", help="The day to ask about, YYYY-MM-DD.")],
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Tell whether DATE is a working day (weekends and holidays are off, make-up days are on).

    Example: escrow calendar is-working-day 2025-10-11
    """
    day = _parse_date(date, "DATE")
    calendar = WorkdayCalendar()
    working = calendar.is_working_day(day)
    years = _provisional_years(calendar, day, day)
    if as_json:
        _print_json({"date": day.isoformat(), "working_day": working, "provisional": bool(years)})
        return
    verdict = "a working day" if working else "not a working day"
    typer.echo(f"{day.isoformat()} ({day:%A}) is {verdict}{_provisional_note(years)}")


# --- escrow rates


@rates_app.command("show")
def rates_show(
    table: Annotated[
        str | None,
        typer.Option("--table", metavar="NAME", help="Show only this table (default: all)."),
    ] = None,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Show the built-in demand-deposit rate tables: effective date and annual rate.

    Example: escrow rates show --table big-bank-listed
    """
    tables: list[RateTable] = (
        [rate_table(table)] if table is not None else list(BUILTIN_TABLES.values())
    )
    if as_json:
        _print_json(
            [
                {
                    "name": t.name,
                    "default": t.name == DEFAULT_RATE_TABLE,
                    "rows": [
                        {
                            "from": row.effective.isoformat(),
                            "annual_percent": str(row.annual_percent),
                        }
                        for row in t.rows
                    ],
                }
                for t in tables
            ]
        )
        return
    grid = Table(title="Demand-deposit rates (in force from the date given)")
    grid.add_column("Table")
    grid.add_column("Effective from")
    grid.add_column("Annual %", justify="right")
    for t in tables:
        label = f"{t.name} (default)" if t.name == DEFAULT_RATE_TABLE else t.name
        for i, row in enumerate(t.rows):
            grid.add_row(
                label if i == 0 else "", row.effective.isoformat(), str(row.annual_percent)
            )
        grid.add_section()
    Console(highlight=False).print(grid)


# --- escrow check


@app.command("check")
def check(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="The scenario file (TOML) to validate.")
    ],
) -> None:
    """Validate a scenario file without running it: prints 'ok: ...' or the first problem.

    Example: escrow check scenarios/rule-03-07-deposit-refund-national-day.toml
    """
    scenario = load_scenario(file)
    contracts = len(scenario.contracts)
    actions = len(scenario.actions)
    typer.echo(
        f"ok: {printable(scenario.name)}, {contracts} contract{'s' if contracts != 1 else ''},"
        f" {actions} action{'s' if actions != 1 else ''}"
    )


# --- escrow schema


@app.command("schema")
def schema(
    name: Annotated[
        str,
        typer.Argument(
            metavar="scenario|report", help="Which schema: the scenario file or the run report."
        ),
    ],
) -> None:
    """Print the JSON Schema of the scenario file or of the run report.

    The same schemas ship in docs/schema/; the formats are explained in
    docs/scenario-format.md and docs/report-format.md.

    Example: escrow schema scenario > scenario.schema.json
    """
    from escrow.schema import SCHEMAS, schema_text

    if name not in SCHEMAS:
        raise InputError(f"schema: {name!r} is not a schema (expected scenario or report)")
    typer.echo(schema_text(name), nl=False)


# --- escrow run / balance / deadlines


RUN_PROGRESS_FROM = 100
"""A run of this many actions or more shows its progress on a terminal."""


def _progress_shown(as_json: bool) -> bool:
    """Progress goes to stderr, only when it is a terminal and the output is not JSON."""
    return sys.stderr.isatty() and not as_json


@contextlib.contextmanager
def _progress(label: str, show: bool) -> Iterator[Callable[[int, int], None] | None]:
    """A transient rich progress bar on stderr (``show``), as a ``(done, total)`` callback."""
    if not show:
        yield None
        return
    # No time-remaining column: the work per step grows as a run goes on (more contracts fall
    # due each month), so a rate taken from the start promised 7 s at 4 % of a 45 s simulation.
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _wide_console() -> Console:
    """A console wide enough for the transfer table, even when stdout is not a terminal."""
    return Console(highlight=False, width=max(Console().width, 132))


def _existing_db(db: str) -> str:
    """A database to read: a SQLite file must exist and be a file (reading never creates one)."""
    if "://" not in db:
        path = db
    elif db.startswith("sqlite:///"):
        path = db[len("sqlite:///") :]
    else:
        return db  # a server database: the store refuses it if it holds no ledger
    if path:
        try:
            check_database_path(path, must_exist=True)
        except EscrowError as exc:
            raise InputError(f"--db: {exc}") from None
    return db


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="PATH_OR_URL",
        help="The ledger database: a SQLite file path, sqlite:///PATH or postgresql://…"
        " (default: $ESCROW_DATABASE_URL).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout and nothing else.")]


class Format(enum.StrEnum):
    """How a query prints its result."""

    TABLE = "table"
    JSON = "json"
    CSV = "csv"


FormatOption = Annotated[
    Format | None,
    typer.Option(
        "--format",
        help="table (default), json (as --json) or csv (one header row).",
        case_sensitive=False,
    ),
]
QueryJsonOption = Annotated[bool, typer.Option("--json", help="The same as --format json.")]
ContractFilter = Annotated[
    str | None, typer.Option("--contract", metavar="ID", help="Only this contract.")
]
FromOption = Annotated[
    str | None,
    typer.Option("--from", metavar="DATE", help="Only from this business date on (inclusive)."),
]
ToOption = Annotated[
    str | None,
    typer.Option("--to", metavar="DATE", help="Only up to this business date (inclusive)."),
]


def _format(chosen: Format | None, as_json: bool) -> Format:
    """The output format: --json is --format json; the two disagreeing is an error."""
    if as_json and chosen not in (None, Format.JSON):
        raise InputError(f"--json and --format {chosen}: give one of them")
    return Format.JSON if as_json else (chosen or Format.TABLE)


def _period(start: str | None, end: str | None) -> tuple[dt.date | None, dt.date | None]:
    """The --from/--to business dates (either may be open); --from after --to is an error."""
    first = _parse_date(start, "--from") if start is not None else None
    last = _parse_date(end, "--to") if end is not None else None
    if first is not None and last is not None and first > last:
        raise InputError(f"--from: {first} is after --to {last}")
    return first, last


def _within(day: dt.date, first: dt.date | None, last: dt.date | None) -> bool:
    return (first is None or day >= first) and (last is None or day <= last)


def _print_rows(rows: Rows, chosen: Format) -> None:
    """Rows as a table on a wide console, as JSON or as CSV, on stdout. JSON and CSV are
    written row by row as ``rows`` yields them (a ledger-wide list in bounded memory); a table
    is laid out once every row is in."""
    if chosen is Format.JSON:
        write_json(rows, sys.stdout)
    elif chosen is Format.CSV:
        write_csv(rows, sys.stdout)
    else:
        print_rows(rows, _wide_console())


CheckpointsOption = Annotated[
    Path | None,
    typer.Option(
        "--checkpoints",
        metavar="FILE",
        help="Kept checkpoints (one JSON line each, as `escrow checkpoint` prints them): the"
        " ledger must still hold every event each one covered.",
    ),
]
PublicKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--public-key",
        metavar="KEY",
        envvar="ESCROW_PUBLIC_KEY",
        help="The fund centre's Ed25519 public key (PEM): every checkpoint must be signed by it"
        " (default: $ESCROW_PUBLIC_KEY; without it signatures are not checked).",
    ),
]
SigningKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--signing-key",
        metavar="KEY",
        envvar="ESCROW_SIGNING_KEY",
        help="Sign the checkpoint with this Ed25519 private key (PEM, from `escrow keygen`;"
        " default: $ESCROW_SIGNING_KEY). It is never stored in the ledger.",
    ),
]


def _db_url(db: str | None, *, required: bool) -> str | None:
    if db is not None and not db.strip():
        raise InputError("--db: the database path or URL is empty")
    url = db or os.environ.get("ESCROW_DATABASE_URL") or None
    if url is None and required:
        raise InputError("--db: give the ledger database (or set ESCROW_DATABASE_URL)")
    return url


@app.command("run")
def run(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The scenario file (TOML).")],
    db: DbOption = None,
    until: Annotated[
        str | None,
        typer.Option("--until", metavar="DATE", help="Stop the clock on this date (YYYY-MM-DD)."),
    ] = None,
    as_json: JsonOption = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 1 when the rules refused any action (for CI), after the report."
        ),
    ] = False,
) -> None:
    """Run a scenario through the ledger and print the report (docs/report-format.md).

    Without --db the ledger lives in a temporary SQLite file that is removed afterwards. Re-running
    a scenario on a database that already holds part of it continues where it stopped: each
    action is applied once. Exit 0 when the run completed (refusals included, unless --strict),
    2 on a malformed file or option.

    Example: escrow run scenarios/rule-03-07-deposit-refund-national-day.toml --json
    """
    stop = _parse_date(until, "--until") if until is not None else None
    scenario = load_scenario(file)
    url = _db_url(db, required=False)
    console = _wide_console()
    show = _progress_shown(as_json) and len(scenario.actions) >= RUN_PROGRESS_FROM
    with contextlib.ExitStack() as stack, _progress("running", show) as progress:
        if url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="escrow-"))
            url = str(Path(tmp) / "ledger.db")
        if as_json:
            # Written as it is read from the read models: bounded memory on any ledger.
            run_scenario_json(scenario, sys.stdout, url, until=stop, progress=progress)
        else:
            report = run_scenario(scenario, url, until=stop, progress=progress)
            print_report(report, console)
        if strict and _refused_any(url):
            raise typer.Exit(code=1)


@app.command("balance")
def balance(
    db: DbOption = None,
    contract: Annotated[
        str | None, typer.Option("--contract", metavar="ID", help="The contract id.")
    ] = None,
    filing_no: Annotated[
        str | None,
        typer.Option("--filing-no", metavar="NO", help="The contract's filing number (备案编号)."),
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="The balance as it stood on this date."),
    ] = None,
    output: FormatOption = None,
    as_json: QueryJsonOption = False,
) -> None:
    """What a tenant sees (Art. 19): principal held per fund, its lots and interest so far.

    In CSV, one row per fund (without the lots).

    Example: escrow balance --db ledger.db --filing-no JZ-2025-000001 --as-of 2025-10-12
    """
    chosen = _format(output, as_json)
    day = _parse_date(as_of, "--as-of") if as_of is not None else None
    if (contract is None) == (filing_no is None):
        raise InputError("give exactly one of --contract or --filing-no")
    url = _existing_db(_db_url(db, required=True) or "")
    with open_ledger(url, read_only=True) as ledger:
        result = ledger.balances(contract, filing_no=filing_no, as_of=day)
    if chosen is Format.JSON:
        _print_json(balance_json(result))
    elif chosen is Format.CSV:
        _print_rows(balance_rows(result), chosen)
    else:
        print_balance(result, _wide_console())


@app.command("deadlines")
def deadlines(
    db: DbOption = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="The deadlines open on this date."),
    ] = None,
    contract: ContractFilter = None,
    start: FromOption = None,
    end: ToOption = None,
    output: FormatOption = None,
    as_json: QueryJsonOption = False,
) -> None:
    """Open deadlines (refund opinions, tenant answers) and scheduled settlements and releases.

    --from and --to keep the deadlines that fall due in that period.

    Example: escrow deadlines --db ledger.db --as-of 2025-10-12
    """
    chosen = _format(output, as_json)
    day = _parse_date(as_of, "--as-of") if as_of is not None else None
    first, last = _period(start, end)
    url = _existing_db(_db_url(db, required=True) or "")
    with open_ledger(url, read_only=True) as ledger:
        result = ledger.deadlines(contract, as_of=day)
    _print_rows(deadline_rows(d for d in result if _within(d.date, first, last)), chosen)


def _known_contract(ledger: Ledger, contract: str | None) -> None:
    """Refuse a --contract the ledger does not hold (rather than print an empty result)."""
    if contract is not None and not ledger.has_contract(contract):
        raise UnknownContract(f"--contract: the ledger holds no contract {contract!r}")


_Dated = TypeVar("_Dated", Transfer, Notice)


def _print_dated(
    db: str | None,
    contract: str | None,
    start: str | None,
    end: str | None,
    read: Callable[[Ledger, dt.date | None], Generator[_Dated, None, None]],
    shape: Callable[[Iterable[_Dated]], Rows],
    chosen: Format,
) -> None:
    """Print what ``read`` finds in the ledger (read-only) up to --to, dated from --from on,
    as the ledger yields it (the ledger stays open while the rows are written)."""
    first, last = _period(start, end)
    url = _existing_db(_db_url(db, required=True) or "")
    with open_ledger(url, read_only=True) as ledger:
        _known_contract(ledger, contract)
        # Closed before the ledger, however the writing ends (a reader that stops early: the
        # read's connection goes back while the ledger is still open).
        with contextlib.closing(read(ledger, last)) as found:
            _print_rows(shape(item for item in found if _within(item.date, first, last)), chosen)


@app.command("transfers")
def transfers(
    db: DbOption = None,
    contract: ContractFilter = None,
    start: FromOption = None,
    end: ToOption = None,
    output: FormatOption = None,
    as_json: QueryJsonOption = False,
) -> None:
    """Every money movement in the ledger, in the order the fund centre executed them.

    Columns as in the run report's transfers (docs/report-format.md); --from and --to keep the
    movements dated in that period.

    Example: escrow transfers --db ledger.db --contract C1 --format csv
    """
    _print_dated(
        db, contract, start, end,
        lambda led, last: led.iter_transfers(contract, as_of=last), transfer_rows,
        _format(output, as_json),
    )  # fmt: skip


@app.command("notices")
def notices(
    db: DbOption = None,
    contract: ContractFilter = None,
    start: FromOption = None,
    end: ToOption = None,
    output: FormatOption = None,
    as_json: QueryJsonOption = False,
) -> None:
    """What the clock noticed: reminders, missed deadlines, deemed agreements, held releases,
    payments short, late or in excess, notices due to the authority.

    --from and --to keep the notices dated in that period.

    Example: escrow notices --db ledger.db --from 2025-10-01 --to 2025-10-31
    """
    _print_dated(
        db, contract, start, end,
        lambda led, last: led.iter_notices(contract, as_of=last), notice_rows,
        _format(output, as_json),
    )  # fmt: skip


@app.command("contracts")
def contracts(
    db: DbOption = None,
    contract: ContractFilter = None,
    start: FromOption = None,
    end: ToOption = None,
    output: FormatOption = None,
    as_json: QueryJsonOption = False,
) -> None:
    """The contracts in the ledger: their terms, the day the home came back, whether releases
    are suspended, and the principal still held per fund.

    --from and --to keep the contracts whose tenancy (start to end) overlaps that period.

    Example: escrow contracts --db ledger.db --format json
    """
    chosen = _format(output, as_json)
    first, last = _period(start, end)
    url = _existing_db(_db_url(db, required=True) or "")
    with open_ledger(url, read_only=True) as ledger:
        _known_contract(ledger, contract)
        ids = [contract] if contract is not None else ledger.contract_ids()
        states = map(ledger.state_as_of, ids)  # one at a time, as the rows are written
        kept = (
            s
            for s in states
            if (first is None or s.terms.end >= first) and (last is None or s.terms.start <= last)
        )
        _print_rows(contract_rows(kept), chosen)


@app.command("query-code")
def query_code_cmd(
    db: DbOption = None,
    contract: Annotated[
        str | None, typer.Option("--contract", metavar="ID", help="The contract id.")
    ] = None,
    filing_no: Annotated[
        str | None,
        typer.Option("--filing-no", metavar="NO", help="The contract's filing number (备案编号)."),
    ] = None,
) -> None:
    """The query code (查询码) to print on a contract: with the filing number, it opens the
    tenant's page (Art. 19, docs/tenant-page.md).

    8 digits derived from the contract id and the ledger's secret. The first code of a ledger
    creates that secret (the one write this command can make).

    Example: escrow query-code --db ledger.db --filing-no JZ-2025-000001
    """
    # Imported here: escrow.api is the HTTP service's package, which the CLI does not load.
    from escrow.api.query_code import SECRET_KEY, query_code

    if (contract is None) == (filing_no is None):
        raise InputError("give exactly one of --contract or --filing-no")
    url = _existing_db(_db_url(db, required=True) or "")
    with open_ledger(url, read_only=True) as ledger:  # refuses a database that is no ledger
        cid = ledger.contract_for_filing(filing_no) if filing_no is not None else (contract or "")
        _known_contract(ledger, cid)
        code = query_code(ledger, cid) if ledger.store.meta_value(SECRET_KEY) else None
    if code is None:
        with open_ledger(url) as ledger:
            code = query_code(ledger, cid)
    typer.echo(code)


def _refused_any(url: str) -> bool:
    with open_ledger(url, read_only=True) as ledger:
        return bool(ledger.refusals())


@app.command("replay")
def replay(db: DbOption = None, as_json: JsonOption = False) -> None:
    """Rebuild every read model from the stored events alone and print the run report.

    The read models are rebuilt in a private temporary database (the ledger is only read), and
    the report is the one `escrow run` printed for the scenario that wrote the database, byte
    for byte. With --json it is written as it is read (bounded memory).

    Example: escrow replay --db ledger.db --json
    """
    url = _existing_db(_db_url(db, required=True) or "")
    # Any ledger this escrow reads, older schemas included: only its events are read.
    with open_store(url, CODEC, read_only=True) as store, private_read_models() as conn:
        config = recorded_config(store)
        if config is None:
            raise IntegrityError("not an escrow ledger: it holds no ledger configuration")
        # The fold of every event has no count to show: a spinner with the time it has taken.
        with _progress("replaying", _progress_shown(as_json)):
            rebuild_into(store, conn)
        clock = readstore.today(conn) or SystemClock().today()
        if as_json:
            write_report(sys.stdout, conn, config.label, clock)
            return
        report = {
            "scenario": config.label,
            "clock": clock.isoformat(),
            "transfers": [report_transfer(t) for t in readstore.transfers(conn, None, None, None)],
            "notices": [report_notice(n) for n in readstore.notices(conn, None, None, None)],
            "held": {c: report_held(d, r) for c, d, r in readstore.held(conn)},
            "refused": [report_refusal(d, a, c, r) for d, a, c, r, _ in readstore.refusals(conn)],
        }
    print_report(report, _wide_console())


@app.command("rebuild")
def rebuild_cmd(db: DbOption = None) -> None:
    """Rebuild every read model of the ledger (balances, transfers, notices, deadlines,
    refusals, the filing index and the schedule) from its events alone, in one transaction.

    For a ledger whose read models `escrow verify` found drifting, or after `escrow migrate`
    (which runs it). Other writers wait until it ends. Prints what it went through.

    Example: escrow rebuild --db ledger.db
    """
    url = _existing_db(_db_url(db, required=True) or "")
    with open_store(url, CODEC) as store, _progress("rebuilding", _progress_shown(False)):
        counts = rebuild_read_models(store)
    events, contracts = counts["events"], counts["contracts"]
    typer.echo(
        f"rebuilt the read models from {events} event{'s' * (events != 1)}"
        f" ({contracts} contract{'s' * (contracts != 1)})"
    )


@app.command("verify")
def verify(
    db: DbOption = None,
    checkpoints: CheckpointsOption = None,
    public_key: PublicKeyOption = None,
    signing_key: SigningKeyOption = None,
) -> None:
    """Check the hash chain and the invariants; exit 0 when sound, 1 naming the first bad event.

    Invariants: postings sum to zero, no custody or supervision account below zero, money in =
    money out + held, and every deadline that lapsed before the ledger's clock was handled.
    With --checkpoints, also that the ledger still holds every event each kept checkpoint covered,
    unchanged and in order. When sound, the last line is a checkpoint of the ledger as verified.

    Example: escrow verify --db ledger.db
    """
    url = _existing_db(_db_url(db, required=True) or "")
    kept = read_checkpoints(checkpoints) if checkpoints is not None else []
    public = load_public_key(public_key) if public_key is not None else None
    key = load_private_key(signing_key) if signing_key is not None else None
    with open_store(url, CODEC, read_only=True) as store:
        result = audit(store, [cp.events for _, cp in kept])
        if result.ok:
            result = _read_models_checked(store, result)
    _verified_against_checkpoints(result, kept, checkpoints, public, key)


def _read_models_checked(store: EventStore, result: AuditReport) -> AuditReport:
    """The audit, failed when the read models differ from a rebuild from the events."""
    if store.schema_versions[0] < SCHEMA_VERSION or store.meta_value(READ_MODELS_KEY):
        return result  # an older or migrating ledger: no read models to compare yet
    drifted = drift(store)
    if not drifted:
        return result
    reason = "; ".join(drifted) + " (run `escrow rebuild`)"
    return dataclasses.replace(result, ok=False, problem=reason)


@app.command("migrate")
def migrate(db: DbOption = None) -> None:
    """Upgrade a ledger made by an older escrow to this version's schema (back it up first).

    Nothing else ever changes a ledger's schema: other commands refuse an older ledger (queries
    still read it) and a newer one. Prints the versions before and after.
    """
    url = _existing_db(_db_url(db, required=True) or "")
    found, now = migrate_store(url, CODEC)
    with open_store(url, CODEC) as store:
        if store.meta_value(READ_MODELS_KEY):
            rebuild_read_models(store)
    if found == now:
        typer.echo(f"the ledger's schema is version {now}: nothing to migrate")
    else:
        typer.echo(f"migrated the ledger's schema from version {found} to {now}")


@app.command("simulate")
def simulate_cmd(
    contracts: Annotated[
        int, typer.Option("--contracts", min=1, max=1_000_000, help="How many tenancies.")
    ] = 1000,
    months: Annotated[
        int, typer.Option("--months", min=1, max=120, help="How many months to simulate.")
    ] = 24,
    seed: Annotated[int, typer.Option("--seed", help="The seed: same seed, same result.")] = 1,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Simulate a portfolio of seeded tenancies through the real ledger and summarise it.

    Deposit lots, prepaid rent of 1 to 12 months, early terminations, silent, agreeing and
    disputing tenants, enterprises that miss their deadline, suspensions. Without --db the ledger
    lives in a temporary SQLite file.

    Example: escrow simulate --contracts 1000 --months 24 --seed 1
    """
    url = _db_url(db, required=False)
    with contextlib.ExitStack() as stack:
        if url is None:
            tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="escrow-sim-"))
            url = str(Path(tmp) / "ledger.db")
        label = simulation_label(contracts=contracts, months=months, seed=seed)
        ledger = stack.enter_context(open_ledger(url, LedgerConfig(label=label)))
        progress = stack.enter_context(_progress("simulating", _progress_shown(as_json)))
        summary = simulate(
            ledger,
            contracts=contracts,
            months=months,
            seed=seed,
            progress=progress,
        )
    if as_json:
        _print_json(summary.as_json())
        return
    table = Table(title=f"Simulation: {contracts} contracts, {months} months, seed {seed}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in summary.as_json().items():
        table.add_row(key.replace("_", " "), str(value))
    Console(highlight=False).print(table)


# --- tamper evidence: keys, checkpoints, receipts, consistency (escrow.checkpoint)


def _now() -> dt.datetime:
    return SystemClock().now()


def _read_text(path: Path, name: str) -> str:
    if str(path) == "-":
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"{name} {path}: cannot read it: {reason}") from None


def _checkpoint_arg(value: str, name: str, events: int | None = None) -> Checkpoint:
    """A checkpoint given as its JSON line, or as a file of them: the one of ``events`` events
    (the newest such), else the file's last one."""
    if value.lstrip().startswith("{"):
        return Checkpoint.parse(value, name)
    found = list(checkpoints_in(_read_text(Path(value), name), f"{name} {value}"))
    if events is not None:
        found = [cp for cp in found if cp.events == events]
    if not found:
        wanted = f" of {events} events" if events is not None else ""
        raise InputError(f"{name} {value}: holds no checkpoint{wanted}")
    return found[-1]


def _verified_against_checkpoints(
    result: AuditReport,
    kept: list[tuple[int, Checkpoint]],
    source: Path | None,
    public: Any,
    key: Any,
) -> None:
    """The end of `escrow verify`: every kept checkpoint that no longer matches and the audit's
    verdict (exit 1), or the verdict, the checkpoints' and the ledger's own checkpoint."""
    chain = result.chain
    problems: list[str] = []
    if kept and chain is not None and chain.ok:  # the walk recomputed the roots of every size
        problems = check_checkpoints(chain, kept, public, str(source))
    if problems or not result.ok or chain is None:
        for problem in problems:
            typer.echo(f"unsound: {problem}")
        if not result.ok:
            typer.echo(result.line())
        raise typer.Exit(code=1)
    typer.echo(result.line())
    if kept:
        signatures = (
            "signatures verified"
            if public is not None
            else "signatures not checked (no --public-key)"
        )
        typer.echo(f"checkpoints: all {len(kept)} kept in {source} still match ({signatures})")
    size = chain.events_checked
    head = TreeHead(size, chain.roots[size], chain.first_hash)
    typer.echo(make_checkpoint(head, _now(), key).line())


@app.command("keygen")
def keygen(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            metavar="PATH",
            help="Where to write the private key (PATH.pub: the public key).",
        ),
    ],
) -> None:
    """Make an Ed25519 key pair to sign checkpoints: keep the private key away from the ledger."""
    private, public, key_id = generate_keys(out)
    typer.echo(f"private key: {private} (keep it off the ledger's machine's disk if you can)")
    typer.echo(f"public key: {public} (give it to whoever checks checkpoints and receipts)")
    typer.echo(f"key id: {key_id}")


@app.command("checkpoint")
def checkpoint_cmd(db: DbOption = None, signing_key: SigningKeyOption = None) -> None:
    """Print a checkpoint of the ledger: one JSON line (ledger, events, Merkle root, time and,
    with a signing key, an Ed25519 signature). Append it to a file kept outside the database."""
    url = _existing_db(_db_url(db, required=True) or "")
    key = load_private_key(signing_key) if signing_key is not None else None
    with open_store(url, CODEC, read_only=True) as store:
        head = store.tree_head()
    typer.echo(make_checkpoint(head, _now(), key).line())


@app.command("receipt")
def receipt_cmd(
    position: Annotated[
        int, typer.Option("--position", metavar="N", min=1, help="The event's position.")
    ],
    db: DbOption = None,
    checkpoint: Annotated[
        str | None,
        typer.Option(
            "--checkpoint",
            metavar="LINE_OR_FILE",
            help="Prove against this kept checkpoint (a JSON line, or a file: its last line);"
            " default: a checkpoint made now, put in the receipt.",
        ),
    ] = None,
    signing_key: SigningKeyOption = None,
) -> None:
    """Print a receipt for one event: the event, its leaf hash and its inclusion proof (one JSON
    line), which `escrow check-receipt` verifies with no database."""
    url = _existing_db(_db_url(db, required=True) or "")
    kept = _checkpoint_arg(checkpoint, "--checkpoint") if checkpoint is not None else None
    key = load_private_key(signing_key) if signing_key is not None else None
    with open_store(url, CODEC, read_only=True) as store:
        receipt = make_receipt(store, position, kept, _now(), key)
    typer.echo(receipt.line())


@app.command("check-receipt")
def check_receipt_cmd(
    receipt: Annotated[
        Path, typer.Argument(metavar="RECEIPT", help="The receipt file ('-': standard input).")
    ],
    checkpoint: Annotated[
        str,
        typer.Option(
            "--checkpoint",
            metavar="LINE_OR_FILE",
            help="The checkpoint to hold the receipt to: a JSON line, or a file of them (the one"
            " of the receipt's size is used).",
        ),
    ],
    public_key: PublicKeyOption = None,
) -> None:
    """Check a receipt with no database: exit 0 when it holds, 1 saying what does not."""
    parsed = Receipt.parse(_read_text(receipt, "RECEIPT"), f"RECEIPT {receipt}")
    kept = _checkpoint_arg(checkpoint, "--checkpoint", parsed.events)
    public = load_public_key(public_key) if public_key is not None else None
    try:
        typer.echo(check_receipt(parsed, kept, public))
    except ProofFailed as exc:
        typer.echo(f"receipt does not hold: {exc}")
        raise typer.Exit(code=1) from None


@app.command("consistency")
def consistency_cmd(
    old: Annotated[
        str,
        typer.Option("--old", metavar="LINE_OR_FILE", help="The earlier checkpoint."),
    ],
    db: DbOption = None,
    new: Annotated[
        str | None,
        typer.Option(
            "--new",
            metavar="LINE_OR_FILE",
            help="The later checkpoint (default: one made now, put in the proof).",
        ),
    ] = None,
    signing_key: SigningKeyOption = None,
) -> None:
    """Print the proof (O(log n) hashes) that the ledger of a later checkpoint extends an earlier
    one unchanged; `escrow check-consistency` verifies it with no database."""
    url = _existing_db(_db_url(db, required=True) or "")
    earlier = _checkpoint_arg(old, "--old")
    later = _checkpoint_arg(new, "--new") if new is not None else None
    key = load_private_key(signing_key) if signing_key is not None else None
    with open_store(url, CODEC, read_only=True) as store:
        proof = make_consistency(store, earlier, later, _now(), key)
    typer.echo(proof.line())


@app.command("check-consistency")
def check_consistency_cmd(
    proof: Annotated[
        Path, typer.Argument(metavar="PROOF", help="The proof file ('-': standard input).")
    ],
    old: Annotated[
        str,
        typer.Option("--old", metavar="LINE_OR_FILE", help="The earlier checkpoint."),
    ],
    new: Annotated[
        str | None,
        typer.Option(
            "--new",
            metavar="LINE_OR_FILE",
            help="The later checkpoint (default: the one in the proof).",
        ),
    ] = None,
    public_key: PublicKeyOption = None,
) -> None:
    """Check a consistency proof with no database: exit 0 when it holds, 1 when it does not."""
    parsed = ConsistencyProof.parse(_read_text(proof, "PROOF"), f"PROOF {proof}")
    earlier = _checkpoint_arg(old, "--old", parsed.old)
    if new is not None:
        later = _checkpoint_arg(new, "--new", parsed.new)
    elif parsed.checkpoint is not None:
        later = parsed.checkpoint
    else:
        raise InputError("--new: give the later checkpoint (the proof holds none)")
    public = load_public_key(public_key) if public_key is not None else None
    try:
        typer.echo(check_consistency(parsed, earlier, later, public))
    except ProofFailed as exc:
        typer.echo(f"not consistent: {exc}")
        raise typer.Exit(code=1) from None


def main() -> None:
    """The command line (``escrow.__main__.main`` calls it for the console script)."""
    try:
        app()
    except EscrowError as exc:  # raised outside a command (e.g. while parsing root options)
        typer.echo(f"escrow: {_one_line(str(exc))}", err=True)
        sys.exit(EXIT_TEMPFAIL if isinstance(exc, ConcurrencyError) else EXIT_REFUSED)


# The commands of the supervision service, each module registering its own on ``app``: webhooks
# and deliver (cli_notify), serve, tokens and openapi (cli_service).
from escrow import cli_notify, cli_service  # noqa: E402, F401
