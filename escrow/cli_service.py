"""The commands of the supervision service: ``escrow serve`` and ``escrow tokens``.

Registered on :data:`escrow.cli.app` when :mod:`escrow.cli` is imported; they need the ``serve``
extra (FastAPI, uvicorn), and say so in one line when it is missing.
"""

from __future__ import annotations

import json
import os
from typing import Annotated

import typer

from escrow.cli import DbOption, JsonOption, _db_url, _EscrowGroup, _existing_db, app
from escrow.clock import SystemClock
from escrow.errors import InputError

tokens_app = typer.Typer(
    cls=_EscrowGroup,
    help="Bearer tokens of the HTTP service: one per party, stored only as hashes.",
    no_args_is_help=True,
)
app.add_typer(tokens_app, name="tokens")


HTTP_PROTOCOL = "escrow.api.nodelay:NoDelayHTTPProtocol"
"""uvicorn's HTTP protocol for ``escrow serve``: its own, with Nagle's algorithm off on every
connection (``--workers`` above 1 left it on: about 40 ms a request; see escrow.api.nodelay)."""


def _need_serve_extra() -> None:
    try:
        import fastapi  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise InputError(
            "the HTTP service needs the serve extra: pip install 'beijing-rental-escrow[serve]'"
        ) from None


@app.command("serve")
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="The port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    mode: Annotated[
        str,
        typer.Option(
            "--mode",
            help="live: the clock follows Beijing's today by itself; simulation: the fund centre"
            " moves it (POST /clock/advance).",
        ),
    ] = "live",
    deliver: Annotated[
        bool,
        typer.Option(
            "--deliver/--no-deliver",
            help="Each worker also delivers the notices to the parties' webhooks (or leave that"
            " to a separate `escrow deliver`).",
        ),
    ] = True,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            metavar="SCENARIO",
            help="A new ledger takes the name, rules and parameters of this scenario file (its"
            " contracts and actions are not run).",
        ),
    ] = None,
) -> None:
    """Serve the ledger over HTTP: every act and query for the parties of the supervision
    system, OpenAPI at /openapi.json, interactive docs at /docs, the tenant's page at /tenant.

    Requests carry a bearer token from `escrow tokens create`. A new SQLite file is created.

    Example: escrow serve --db ledger.db --mode simulation
    """
    _need_serve_extra()
    import uvicorn

    from escrow.api import settings

    url = _db_url(db, required=True) or ""
    chosen = settings.mode_of(mode)
    ledger_config = settings.ledger_config_of(config)
    # Open (or create) the ledger once here: a bad --db or --config fails in one line before
    # any worker starts, and the workers find the ledger made.
    from escrow.service import open_ledger

    open_ledger(url, ledger_config).close()
    os.environ[settings.DB] = url
    os.environ[settings.MODE] = chosen
    os.environ[settings.DELIVER] = "1" if deliver else "0"
    if config is not None:
        os.environ[settings.CONFIG] = config
    typer.echo(f"escrow: serving {url} ({chosen}) on http://{host}:{port} (docs: /docs)", err=True)
    uvicorn.run(
        "escrow.api.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        http=HTTP_PROTOCOL,
    )


Role = Annotated[
    str,
    typer.Argument(
        help="fund_centre, enterprise, tenant, association, district or auditor.",
        show_default=False,
    ),
]


@tokens_app.command("create")
def tokens_create(
    role: Role,
    db: DbOption = None,
    subject: Annotated[
        str | None,
        typer.Option(
            "--subject",
            metavar="ID",
            help="Whose token: the enterprise's id, the tenant's id (required for those roles),"
            " or a district's name.",
        ),
    ] = None,
    label: Annotated[str, typer.Option("--label", help="A note to tell tokens apart.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Issue a token to a party and print it once: only its hash is kept. A new database is
    made into an empty ledger first (as `escrow serve` does).

    Example: escrow tokens create enterprise --subject E1 --db ledger.db
    """
    from escrow.api.tokens import create_token
    from escrow.service import open_ledger

    url = _db_url(db, required=True) or ""  # a new SQLite file is made (as escrow serve does)
    with open_ledger(url) as ledger:
        issued, token = create_token(
            ledger.store, role, subject, label=label, now=SystemClock().now()
        )
    if as_json:
        typer.echo(json.dumps({"id": issued.id, "party": issued.party.key, "token": token}))
    else:
        typer.echo(f"token {issued.id} for {issued.party.key} (shown once, keep it secret):")
        typer.echo(token)


@tokens_app.command("list")
def tokens_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the tokens issued: id, party, label, when made and revoked (never the secret)."""
    from escrow.api.tokens import list_tokens
    from escrow.service import CODEC
    from escrow.store import open_store

    url = _existing_db(_db_url(db, required=True) or "")
    with open_store(url, CODEC, read_only=True) as store:
        issued = list_tokens(store)
    rows = [
        {
            "id": t.id,
            "party": t.party.key,
            "label": t.label,
            "created_at": t.created_at,
            "revoked_at": t.revoked_at,
        }
        for t in issued
    ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    if not rows:
        typer.echo("no tokens")
    for row in rows:
        state = f"revoked {row['revoked_at']}" if row["revoked_at"] else "active"
        typer.echo(f"{row['id']}  {row['party']}  {state}  {row['label']}".rstrip())


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (tokens list).")],
    db: DbOption = None,
) -> None:
    """Revoke a token: its next request is refused (401)."""
    from escrow.api.tokens import revoke_token
    from escrow.service import open_ledger

    url = _existing_db(_db_url(db, required=True) or "")
    with open_ledger(url) as ledger:
        revoked = revoke_token(ledger.store, token_id, now=SystemClock().now())
    typer.echo(f"revoked token {revoked.id} of {revoked.party.key}")


@app.command("openapi")
def openapi_cmd() -> None:
    """Print the HTTP service's OpenAPI document (JSON): what docs/openapi.json holds, and what a
    client generator takes."""
    _need_serve_extra()
    from escrow.api.openapi import document_text

    typer.echo(document_text(), nl=False)
