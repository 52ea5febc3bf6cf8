"""The commands of notices to people: ``escrow webhooks add|list|remove`` and ``escrow deliver``.

Registered on :data:`escrow.cli.app` when :mod:`escrow.cli` is imported (docs/notifications.md).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Annotated

import typer

from escrow.cli import (
    DbOption,
    JsonOption,
    _db_url,
    _EscrowGroup,
    _existing_db,
    _now,
    _print_json,
    app,
)
from escrow.clock import SystemClock
from escrow.errors import InputError, IntegrityError
from escrow.notify.deliverer import DEFAULT_BATCH, DEFAULT_TIMEOUT_S, run_deliverer
from escrow.notify.parties import check_party
from escrow.notify.webhooks import (
    add_webhook,
    check_secret,
    check_url,
    list_webhooks,
    remove_webhook,
)
from escrow.service import CODEC, recorded_config
from escrow.store import SCHEMA_VERSION, EventStore, open_store
from escrow.terminal import printable

webhooks_app = typer.Typer(
    cls=_EscrowGroup,
    help="Where each party's notices (reminders, missed deadlines, deemed agreements, held"
    " releases) are delivered: docs/notifications.md.",
    no_args_is_help=True,
)
app.add_typer(webhooks_app, name="webhooks")
PartyOption = Annotated[
    str,
    typer.Option(
        "--party",
        metavar="PARTY",
        help="fund_centre, auditor, association, district[:NAME], enterprise:ID or tenant:ID.",
    ),
]


@contextlib.contextmanager
def _service_store(db: str | None, *, read_only: bool) -> Iterator[EventStore]:
    """The ledger's store, for the service's tables (schema version 4 on)."""
    url = _existing_db(_db_url(db, required=True) or "")
    with open_store(url, CODEC, read_only=read_only) as store:
        if recorded_config(store) is None:
            raise IntegrityError("not an escrow ledger: it holds no ledger configuration")
        if store.schema_versions[1] < SCHEMA_VERSION:
            raise InputError(
                f"the ledger's schema is version {store.schema_versions[1]}: it has no webhooks"
                " before `escrow migrate --db …`"
            )
        yield store


@webhooks_app.command("add")
def webhooks_add(
    party: PartyOption,
    url: Annotated[
        str, typer.Option("--url", metavar="URL", help="Where to POST them (http or https).")
    ],
    db: DbOption = None,
    secret: Annotated[
        str | None,
        typer.Option(
            "--secret",
            metavar="SECRET",
            help="The signing secret (16 to 256 characters); default: 32 random bytes, in hex.",
        ),
    ] = None,
) -> None:
    """Register a webhook: the party's messages from now on are POSTed to URL, signed with the
    secret (Escrow-Signature). Prints the webhook's id and its secret, shown only now.

    Example: escrow webhooks add --db ledger.db --party enterprise:E1 --url https://e1.example/hooks
    """
    party, url = check_party(party, "--party"), check_url(url, "--url")
    if secret is not None:
        secret = check_secret(secret, "--secret")
    with _service_store(db, read_only=False) as store:
        webhook, kept = add_webhook(store, party, url, secret=secret, now=_now())
    typer.echo(f"webhook: {webhook.id}")
    typer.echo(f"secret: {kept}")


@webhooks_app.command("list")
def webhooks_list(
    db: DbOption = None,
    party: Annotated[
        str | None, typer.Option("--party", metavar="PARTY", help="Only this party's.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the webhooks (never their secrets): id, party, URL, when registered."""
    if party is not None:
        party = check_party(party, "--party")
    with _service_store(db, read_only=True) as store:
        found = list_webhooks(store, party)
    if as_json:
        _print_json(
            [
                {"id": w.id, "party": w.party, "url": w.url, "created_at": w.created_at.isoformat()}
                for w in found
            ]
        )
        return
    for w in found:
        typer.echo(printable(f"{w.id}  {w.party}  {w.url}  {w.created_at.isoformat()}"))


@webhooks_app.command("remove")
def webhooks_remove(
    webhook: Annotated[str, typer.Argument(metavar="ID", help="The webhook's id (wh_…).")],
    db: DbOption = None,
) -> None:
    """Remove a webhook: nothing more is delivered to it."""
    with _service_store(db, read_only=False) as store:
        removed = remove_webhook(store, webhook, now=_now())
    typer.echo(f"removed webhook {removed.id} ({printable(removed.party)})")


@app.command("deliver")
def deliver_cmd(
    db: DbOption = None,
    once: Annotated[
        bool, typer.Option("--once", help="Deliver what is due now, then exit.")
    ] = False,
    interval: Annotated[
        float,
        typer.Option("--interval", metavar="SECONDS", min=0.05, max=3600, help="Pause when idle."),
    ] = 1.0,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", min=0.1, max=300, help="The longest one send takes."
        ),
    ] = DEFAULT_TIMEOUT_S,
    batch: Annotated[
        int,
        typer.Option(
            "--batch",
            metavar="N",
            min=1,
            max=1000,
            help="Deliveries claimed per round; a killed deliverer's claim lapses after N x"
            " (timeout + 1) seconds.",
        ),
    ] = DEFAULT_BATCH,
) -> None:
    """Deliver the outbox's messages to the webhooks, signed, retried with backoff, at least
    once; until Ctrl-C or SIGTERM (--once: until nothing is due), then prints how many
    deliveries it made. With --log-level INFO, one line per round that sent something. Several
    may run at once.

    Example: escrow --log-level INFO deliver --db ledger.db
    """
    stop = threading.Event()
    with _service_store(db, read_only=False) as store, _stopped_by_signals(stop):
        done = run_deliverer(
            store,
            clock=SystemClock(),
            stop=stop,
            interval=interval,
            once=once,
            timeout=timeout,
            batch=batch,
        )
    typer.echo(f"{done} deliver{'y' if done == 1 else 'ies'} made")


@contextlib.contextmanager
def _stopped_by_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the round under way ends first) while the block runs."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda *_: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
