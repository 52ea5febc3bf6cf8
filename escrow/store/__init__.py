"""The event store: the only package that touches SQL.

A narrow contract: ``append(stream, expected_version, events)`` in one
transaction with optimistic concurrency on a unique ``(stream, version)``; ``load`` of a stream;
a global, gap-free ``position`` for ``read_all``; global idempotency keys for commands that come
from outside; and a SHA-256 hash chain over every row, anchored in a one-row ``chain_head`` table
that every append updates, so that ``verify`` can name the first row that was changed, deleted
(the last one included) or moved. Over the same rows' hashes, a Merkle tree (RFC 9162,
:mod:`escrow.merkle`) whose complete subtrees of 16 events or more are kept in ``merkle_nodes``,
written in the append's transaction: checkpoints, receipts and consistency proofs
(:mod:`escrow.checkpoint`) read O(log n) rows, never the whole log.

Backends are chosen by URL: SQLite (a ``sqlite:///`` URL or a plain file path) for one machine,
PostgreSQL (``postgresql://``, ``postgres://`` or ``postgresql+psycopg://``, through psycopg 3)
for several processes or hosts. A backend only decides how to connect, how to create the schema
and how to open a *write* transaction that serialises appends (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``LOCK TABLE events IN EXCLUSIVE MODE``, see
:class:`escrow.store.postgres._PostgresBackend`); everything else, the hash chain included, is
the same code and the same text on both, and both run the same contract tests.

The modules:

- :mod:`~escrow.store.protocol`: the records the store hands back (``StoredEvent``,
  ``AppendResult``, ``BatchResult``, ``VerifyReport``, ``TreeHead``) and ``EventStoreLike``, the
  Protocol the service layer is typed against;
- :mod:`~escrow.store.codec`: ``EventCodec`` and ``PydanticCodec`` (events to JSON text and back);
- :mod:`~escrow.store.schema`: the tables, ``SCHEMA_VERSION``, the migrations
  (``register_migration``) and the creation or check of a ledger's schema;
- :mod:`~escrow.store.chain`: the hash chain (``row_hash``, ``StoredRow``) and ``verify``'s
  checks of the rows, the chain head and the idempotency keys;
- :mod:`~escrow.store.tree`: the SQL of the Merkle tree's kept nodes (growing them, tree heads,
  proofs);
- :mod:`~escrow.store.sqlite`, :mod:`~escrow.store.postgres`: the two backends;
- :mod:`~escrow.store.event_store`: ``EventStore``, ``open_store`` and ``migrate_store``;
- :mod:`~escrow.store.readmodel`, :mod:`~escrow.store.readstore`: the read-model tables and
  their SQL; :mod:`~escrow.store.prepared`: statements compiled once and run on the driver.

Every name ``escrow.store`` exported when it was one module is still exported here (below).
"""

from __future__ import annotations

from escrow.redaction import redact_url
from escrow.store.chain import GENESIS_HASH, StoredRow, row_hash
from escrow.store.codec import EventCodec, PydanticCodec
from escrow.store.event_store import EventStore, migrate_store, open_store
from escrow.store.postgres import POSTGRES_CONNECT_TIMEOUT_S as POSTGRES_CONNECT_TIMEOUT_S
from escrow.store.postgres import POSTGRES_LOCK_TIMEOUT_MS as POSTGRES_LOCK_TIMEOUT_MS
from escrow.store.protocol import (
    AppendResult,
    BatchResult,
    EventStoreLike,
    StoredEvent,
    TreeHead,
    VerifyReport,
)
from escrow.store.protocol import Write as Write
from escrow.store.schema import (
    OLDEST_READABLE_VERSION,
    SCHEMA_VERSION,
    TREE_LEVEL,
    register_migration,
)
from escrow.store.schema import READ_MODELS_KEY as READ_MODELS_KEY
from escrow.store.sqlite import SQLITE_BUSY_TIMEOUT_MS as SQLITE_BUSY_TIMEOUT_MS
from escrow.store.sqlite import SQLITE_SYNCHRONOUS as SQLITE_SYNCHRONOUS
from escrow.store.sqlite import check_database_path

__all__ = [
    "GENESIS_HASH",
    "OLDEST_READABLE_VERSION",
    "SCHEMA_VERSION",
    "TREE_LEVEL",
    "AppendResult",
    "BatchResult",
    "EventCodec",
    "EventStore",
    "EventStoreLike",
    "PydanticCodec",
    "StoredEvent",
    "StoredRow",
    "TreeHead",
    "VerifyReport",
    "check_database_path",
    "migrate_store",
    "open_store",
    "redact_url",
    "register_migration",
    "row_hash",
]
