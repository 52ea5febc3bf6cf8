"""The tables of the ledger, the schema version and its migrations.

The event table, the idempotency keys, the chain head and the Merkle tree's kept nodes are
SQLAlchemy Core tables; the read models are SQLModel tables (:mod:`escrow.store.readmodel`).
:func:`_prepare_schema` creates them in an empty database, or checks (or migrates) a ledger's;
both backends call it inside their serialised write transaction.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from escrow.errors import StoreError
from escrow.store import readmodel, service_tables
from escrow.store.chain import GENESIS_HASH

_metadata = sa.MetaData()

# 64-bit counters: SQLite's INTEGER already is (and must stay "INTEGER PRIMARY KEY", the rowid);
# PostgreSQL's INTEGER is 32-bit, so it gets BIGINT. Every other column is text on both backends,
# so the hash chain covers byte-identical values.
_COUNTER = sa.Integer().with_variant(sa.BigInteger(), "postgresql")

_events = sa.Table(
    "events",
    _metadata,
    sa.Column("position", _COUNTER, primary_key=True, autoincrement=False),
    sa.Column("stream", sa.String, nullable=False),
    sa.Column("version", _COUNTER, nullable=False),
    sa.Column("type", sa.String, nullable=False),
    sa.Column("effective_date", sa.String(10), nullable=False),
    sa.Column("recorded_at", sa.String, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("idempotency_key", sa.String, nullable=True, unique=True),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("stream", "version", name="uq_events_stream_version"),
)

# The key also sits on the first row of its append (and is hashed there); this table records where
# the append ended, so a duplicate can be answered with the original result.
_idempotency = sa.Table(
    "idempotency_keys",
    _metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("first_position", _COUNTER, nullable=False),
    sa.Column("last_position", _COUNTER, nullable=False),
    # The act the key was first delivered with (canonical text, see escrow.requests): the same
    # key with another act is refused rather than answered with the first act's result.
    sa.Column("request", sa.Text, nullable=True),
)

# The anchor of the hash chain: the position and hash of the last row, updated in the same
# transaction as every append. Without it, deleting the last rows would leave a valid chain.
# Since schema version 3 it also keeps the last row's recorded time and the Merkle tree's peaks
# at the head (hex, comma-separated): an append reads them here instead of the log's last rows,
# so it reads no other stream's rows. NULL (a ledger from before): read from the rows.
_chain_head = sa.Table(
    "chain_head",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("position", _COUNTER, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.String, nullable=True),
    sa.Column("peaks", sa.Text, nullable=True),
)
_HEAD_ID = 1

# The Merkle tree over the rows' hashes (RFC 9162, escrow.merkle): the hash of every complete
# subtree of 2**TREE_LEVEL leaves or more, written in the same transaction as the rows it covers.
# Smaller subtrees are recomputed from the rows' own hashes (at most 2**TREE_LEVEL - 1 of them),
# so the table holds about one node per 2**(TREE_LEVEL - 1) events. Leaf i (0-based) is the row
# at position i + 1; its leaf hash is SHA-256(0x00 || the row's 32-byte hash).
_tree_nodes = sa.Table(
    "merkle_nodes",
    _metadata,
    sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("idx", _COUNTER, primary_key=True, autoincrement=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sqlite_with_rowid=False,  # the key is the table: one B-tree to write, not two
)
TREE_LEVEL = 4
"""The lowest level of the Merkle tree kept in ``merkle_nodes`` (subtrees of 16 events)."""


# --- schema version ---------------------------------------------------------------------------

SCHEMA_VERSION = 5
"""The version of the tables this escrow writes, kept in the ``escrow_meta`` table.

A ledger made before the table existed is version 0 (the same three tables, no version). A
module that changes the schema raises this by one and registers the step from the version
before with :func:`register_migration`; ``escrow migrate`` (:func:`migrate_store`) runs the
steps, never an ordinary open."""

OLDEST_READABLE_VERSION = 0
"""The oldest schema this escrow still reads (read-only opens, ``verify``) without migrating.
Raise it when a migration changes what existing tables mean rather than only adding to them."""

_META_VERSION_KEY = "schema_version"
_meta = sa.Table(
    "escrow_meta",
    _metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)
_LEDGER_TABLES = ("events", "idempotency_keys", "chain_head")
"""The tables every version has: a database with none of them holds no ledger."""

_MIGRATIONS: dict[int, Callable[[Connection], None]] = {}
"""``from_version -> step``: the step takes a ledger from ``from_version`` to the next, inside
the migration's write transaction (which then records the new version)."""


def register_migration(from_version: int, step: Callable[[Connection], None]) -> None:
    """Register the step that takes a ledger from ``from_version`` to ``from_version + 1``."""
    if from_version in _MIGRATIONS:
        raise StoreError(f"a migration from schema version {from_version} is already registered")
    _MIGRATIONS[from_version] = step


def _add_meta(conn: Connection) -> None:
    """Version 0 -> 1: the ``escrow_meta`` table that records the version."""
    conn.execute(sa.schema.CreateTable(_meta, if_not_exists=True))


register_migration(0, _add_meta)


def _add_tree_and_requests(conn: Connection) -> None:
    """Version 1 -> 2: the Merkle tree's ``merkle_nodes`` (filled at the next append) and, on
    ``idempotency_keys``, the ``request`` each key stands for (older keys keep NULL)."""
    conn.execute(sa.schema.CreateTable(_tree_nodes, if_not_exists=True))
    if not any(c["name"] == "request" for c in sa.inspect(conn).get_columns("idempotency_keys")):
        conn.exec_driver_sql("ALTER TABLE idempotency_keys ADD COLUMN request TEXT")


register_migration(1, _add_tree_and_requests)

READ_MODELS_KEY = "read_models"
"""``escrow_meta`` key set to ``stale`` while the read models do not follow from the events (a
migration created them empty, or a rebuild was interrupted): the ledger then refuses to act or
answer until ``escrow rebuild`` (which ``escrow migrate`` runs) fills them."""


def _add_read_models(conn: Connection) -> None:
    """Version 2 -> 3: the read-model tables (:mod:`escrow.store.readmodel`), created empty and
    marked stale (``escrow migrate`` then rebuilds them from the events), and the chain head's
    ``recorded_at`` and ``peaks`` (NULL until the next append)."""
    _create(conn, readmodel.tables())
    present = {c["name"] for c in sa.inspect(conn).get_columns("chain_head")}
    for name in ("recorded_at", "peaks"):
        if name not in present:
            conn.exec_driver_sql(f"ALTER TABLE chain_head ADD COLUMN {name} TEXT")
    conn.execute(_meta.insert().values(key=READ_MODELS_KEY, value="stale"))


register_migration(2, _add_read_models)


def _add_service_tables(conn: Connection) -> None:
    """Version 3 -> 4: the tables of the supervision service (:mod:`escrow.store.service_tables`:
    tokens, idempotent responses, the outbox and its deliveries, leases), created empty.

    A version-3 ledger made while version 3 was being written may lack read-model columns that
    the released version 3 has (the recording time of ``rm_schedule`` and ``rm_deadlines``).
    Read models follow from the events alone, so such tables are made again, empty, and marked
    stale: ``escrow migrate`` then rebuilds them."""
    _create(conn, service_tables.tables())
    inspector = sa.inspect(conn)
    present = set(inspector.get_table_names())
    tables = readmodel.tables()
    outdated = [
        t
        for t in tables
        if t.name in present
        and {c.name for c in t.columns} - {c["name"] for c in inspector.get_columns(t.name)}
    ]
    if not outdated:
        return
    for table in reversed(tables):
        conn.execute(sa.schema.DropTable(table, if_exists=True))
    _create(conn, tables)
    conn.execute(_meta.delete().where(_meta.c.key == READ_MODELS_KEY))
    conn.execute(_meta.insert().values(key=READ_MODELS_KEY, value="stale"))


register_migration(3, _add_service_tables)


def _add_kept_states(conn: Connection) -> None:
    """Version 4 -> 5: ``rm_states``, each contract's kept state (:mod:`escrow.store.snapshots`),
    created empty and marked stale: ``escrow migrate`` then rebuilds the read models, which
    fills it."""
    _create(conn, readmodel.tables())
    conn.execute(_meta.delete().where(_meta.c.key == READ_MODELS_KEY))
    conn.execute(_meta.insert().values(key=READ_MODELS_KEY, value="stale"))


register_migration(4, _add_kept_states)


def _create(conn: Connection, tables: list[sa.Table]) -> None:
    for table in tables:
        conn.execute(sa.schema.CreateTable(table, if_not_exists=True))
        for index in table.indexes:
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


_ADDED_COLUMNS = {"idempotency_keys": {"request"}, "chain_head": {"recorded_at", "peaks"}}
"""Columns later versions added to the tables every version has: an older ledger lacks them."""


def _set_version(conn: Connection, version: int) -> None:
    found = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == _META_VERSION_KEY)).first()
    if found is None:
        conn.execute(_meta.insert().values(key=_META_VERSION_KEY, value=str(version)))
    else:
        conn.execute(
            _meta.update().where(_meta.c.key == _META_VERSION_KEY).values(value=str(version))
        )


def _found_version(conn: Connection, *, sole_owner: bool) -> int | None:
    """The schema version of the ledger the connection sees; None when it holds none at all.

    StoreError when the database holds something that is not an escrow ledger: some of the
    ledger's tables but not all, tables whose columns are not the ledger's, or (``sole_owner``:
    a SQLite file belongs to one application) only other applications' tables.
    """
    inspector = sa.inspect(conn)
    tables = set(inspector.get_table_names())
    ours = [name for name in _LEDGER_TABLES if name in tables]
    if not ours:
        others = sorted(t for t in tables if t != _meta.name and not t.startswith("sqlite_"))
        if sole_owner and others:
            raise StoreError(
                f"not an escrow ledger: the database holds other tables ({', '.join(others[:3])}"
                + (", …" if len(others) > 3 else "")
                + ")"
            )
        if _meta.name not in tables:
            return None
    if len(ours) != len(_LEDGER_TABLES):
        missing = ", ".join(n for n in _LEDGER_TABLES if n not in tables)
        raise StoreError(f"not an escrow ledger: the table(s) {missing} are missing")
    for name in (*_LEDGER_TABLES, *([_meta.name] if _meta.name in tables else [])):
        columns = {c["name"] for c in inspector.get_columns(name)}
        expected = {c.name for c in _metadata.tables[name].columns}
        if not expected - _ADDED_COLUMNS.get(name, set()) <= columns <= expected:
            raise StoreError(f"not an escrow ledger: table {name} has other columns")
    if _meta.name not in tables:
        return 0
    value = conn.execute(sa.select(_meta.c.value).where(_meta.c.key == _META_VERSION_KEY)).first()
    if value is None or not str(value[0]).isdigit():
        raise StoreError("not an escrow ledger: its schema version is missing or unreadable")
    return int(value[0])


def _check_version(version: int, *, writing: bool) -> None:
    """Refuse a ledger this escrow cannot use as it is (never migrated silently)."""
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the ledger's schema is version {version}, newer than this escrow's"
            f" {SCHEMA_VERSION}: use a newer escrow"
        )
    if version < SCHEMA_VERSION and (writing or version < OLDEST_READABLE_VERSION):
        raise StoreError(
            f"the ledger's schema is version {version}, older than this escrow's"
            f" {SCHEMA_VERSION}: back it up, then run `escrow migrate --db …`"
        )


def _prepare_schema(conn: Connection, *, sole_owner: bool, migrate: bool) -> tuple[int, int]:
    """Create the tables of an empty database, or check (``migrate``: upgrade) a ledger's.

    Call inside a write transaction that serialises concurrent first opens. Returns the
    version found (the new version for an empty database) and the version left.
    """
    found = _found_version(conn, sole_owner=sole_owner)
    if found is None:
        _create_tables(conn)
        _set_version(conn, SCHEMA_VERSION)
        return SCHEMA_VERSION, SCHEMA_VERSION
    if found > SCHEMA_VERSION or not migrate:
        _check_version(found, writing=True)
        return found, found
    version = found
    while version < SCHEMA_VERSION:
        step = _MIGRATIONS.get(version)
        if step is None:
            raise StoreError(f"no migration from schema version {version} is known")
        step(conn)
        version += 1
    _set_version(conn, version)
    return found, version


_LAST_ROW = (
    sa.select(_events.c.position, _events.c.hash).order_by(_events.c.position.desc()).limit(1)
)
_HEAD = sa.select(_chain_head.c.position, _chain_head.c.hash).where(_chain_head.c.id == _HEAD_ID)


def _readable_version(conn: Connection, *, sole_owner: bool) -> int:
    found = _found_version(conn, sole_owner=sole_owner)
    if found is None:
        raise StoreError("not an escrow ledger: the database holds no ledger tables")
    _check_version(found, writing=False)
    return found


def _create_tables(conn: Connection) -> None:
    """Create what is missing; call inside a write transaction (the head is seeded from the log)."""
    _create(conn, [*_metadata.sorted_tables, *readmodel.tables(), *service_tables.tables()])
    if conn.execute(_HEAD).first() is None:
        last = conn.execute(_LAST_ROW).first()
        position, digest = (last[0], last[1]) if last is not None else (0, GENESIS_HASH)
        conn.execute(_chain_head.insert().values(id=_HEAD_ID, position=position, hash=digest))
