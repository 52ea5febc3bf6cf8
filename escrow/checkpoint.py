"""Checkpoints kept outside the ledger, receipts for one event, and proofs that a ledger grew.

A **checkpoint** says: the ledger whose first event hashes to ``ledger`` held ``events`` events
whose Merkle tree (RFC 9162, :mod:`escrow.merkle`) has root ``root``, at ``time``; optionally
signed with Ed25519 by a key that is never stored in the ledger. It is one line of JSON, to be
appended to a file, mailed to a regulator or published. The signed text is a C2SP
``tlog-checkpoint`` note body (origin line, tree size, base64 root, then one extension line with
the time)::

    escrow/<ledger>
    <events>
    <base64 of root>
    time <time>

and the signature is a C2SP ``signed-note`` Ed25519 signature over it, from a key named
``escrow`` (its 4-byte key id is ``key``), so the checkpoint can be rebuilt as a signed note and
checked by any tool of that ecosystem.

Whoever keeps checkpoints can later prove, with ``escrow verify --checkpoints``, that the ledger
still holds every event a checkpoint covered, unchanged and in order (the roots are recomputed
from the rows, so rewriting the rows, their hashes, the chain head and the kept tree together
does not help), and that it has not shrunk. A **receipt** proves one event is in the tree of a
checkpoint (an RFC 9162 inclusion proof), with no database at all; a **consistency proof** proves
that the tree of a later checkpoint extends an earlier one, in O(log n) hashes.

Outside what this protects: an attacker who also holds the signing key (and the checkpoints'
keepers' copies), and a rewrite made before any checkpoint was kept.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from escrow import merkle
from escrow.errors import InputError, IntegrityError
from escrow.store import EventStore, StoredRow, TreeHead, VerifyReport, row_hash

__all__ = [
    "KEY_NAME",
    "Checkpoint",
    "ConsistencyProof",
    "ProofFailed",
    "Receipt",
    "check_checkpoints",
    "check_consistency",
    "check_receipt",
    "checkpoints_in",
    "generate_keys",
    "key_id",
    "load_private_key",
    "load_public_key",
    "make_checkpoint",
    "make_consistency",
    "make_receipt",
    "read_checkpoints",
]

KEY_NAME = "escrow"
"""The signed-note key name of escrow's signing keys."""

_ORIGIN = "escrow/"
_FIELDS = ("ledger", "events", "root", "time")
_SIGNED = ("key", "signature")


class ProofFailed(IntegrityError):
    """A checkpoint, receipt or consistency proof that does not hold."""


# --- keys -------------------------------------------------------------------------------------


def key_id(public: Ed25519PublicKey) -> str:
    """The signed-note key id (hex): SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(KEY_NAME.encode() + b"\n\x01" + raw).digest()[:4].hex()


def generate_keys(path: Path) -> tuple[Path, Path, str]:
    """Write a new Ed25519 key pair: ``path`` (private, PKCS#8 PEM, mode 0600) and
    ``path.pub`` (public, PEM). Refuses to overwrite either. Returns both paths and the key id."""
    public_path = path.with_name(path.name + ".pub")
    for p in (path, public_path):
        if p.exists():
            raise InputError(f"{p}: already exists (not overwritten)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise InputError(f"{path}: cannot write the key: {exc.strerror}") from None
    return path, public_path, key_id(key.public_key())


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{what} {path}: cannot read it: {exc.strerror}") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """The Ed25519 private key in the PEM file ``path`` (InputError otherwise)."""
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"signing key {path}: not an unencrypted PEM private key ({exc})"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(f"signing key {path}: not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The Ed25519 public key in the PEM file ``path`` (InputError otherwise)."""
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise InputError(f"public key {path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError(f"public key {path}: not an Ed25519 key")
    return key


# --- checkpoints ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The tree of the first ``events`` events of ``ledger`` had ``root`` at ``time``."""

    ledger: str | None
    """The hash of the ledger's first event (None for an empty ledger)."""
    events: int
    root: bytes
    time: str
    key: str | None = None
    signature: bytes | None = field(default=None, repr=False)

    def note(self) -> str:
        """The C2SP tlog-checkpoint text the signature covers."""
        root = base64.b64encode(self.root).decode()
        return f"{_ORIGIN}{self.ledger or '-'}\n{self.events}\n{root}\ntime {self.time}\n"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "ledger": self.ledger,
            "events": self.events,
            "root": self.root.hex(),
            "time": self.time,
        }
        if self.signature is not None:
            data["key"] = self.key
            data["signature"] = base64.b64encode(self.signature).decode()
        return data

    def line(self) -> str:
        """One line of JSON."""
        return json.dumps(self.as_json(), separators=(", ", ": "))

    def signed(self, key: Ed25519PrivateKey) -> Checkpoint:
        return Checkpoint(
            self.ledger,
            self.events,
            self.root,
            self.time,
            key_id(key.public_key()),
            key.sign(self.note().encode()),
        )

    def signature_problem(self, public: Ed25519PublicKey) -> str | None:
        """Why the signature does not hold for ``public`` (None when it does)."""
        if self.signature is None:
            return "it is not signed"
        if self.key != key_id(public):
            return f"it is signed by key {self.key}, not by the public key given ({key_id(public)})"
        try:
            public.verify(self.signature, self.note().encode())
        except InvalidSignature:
            return "its signature does not verify: the checkpoint was altered or forged"
        return None

    @classmethod
    def from_json(cls, data: object, where: str) -> Checkpoint:
        """A checkpoint from its JSON object; InputError naming ``where`` and the field."""
        if not isinstance(data, Mapping):
            raise InputError(f"{where}: a checkpoint is a JSON object")
        unknown = sorted(set(data) - {*_FIELDS, *_SIGNED})
        if unknown:
            raise InputError(f"{where}: unknown checkpoint field {unknown[0]!r}")
        for name in _FIELDS:
            if name not in data:
                raise InputError(f"{where}: the checkpoint has no {name!r}")
        ledger, events, time = data["ledger"], data["events"], data["time"]
        if ledger is not None and not _is_hex(ledger, 64):
            raise InputError(f"{where}: 'ledger' is not a hash (64 hexadecimal digits) or null")
        if not isinstance(events, int) or isinstance(events, bool) or events < 0:
            raise InputError(f"{where}: 'events' is not a whole number >= 0")
        if not isinstance(time, str) or not _is_time(time):
            raise InputError(f"{where}: 'time' is not an ISO time with a time zone")
        root = _hash_field(data["root"], where, "root")
        key = data.get("key")
        signature = data.get("signature")
        if (key is None) != (signature is None):
            raise InputError(f"{where}: 'key' and 'signature' go together")
        raw_signature = None
        if signature is not None:
            if not _is_hex(key, 8):
                raise InputError(f"{where}: 'key' is not a key id (8 hexadecimal digits)")
            raw_signature = _base64(signature, where, "signature")
            if len(raw_signature) != 64:
                raise InputError(f"{where}: 'signature' is not an Ed25519 signature (64 bytes)")
        return cls(ledger, events, root, time, key, raw_signature)

    @classmethod
    def parse(cls, text: str, where: str) -> Checkpoint:
        return cls.from_json(_json(text, where), where)


def make_checkpoint(
    head: TreeHead, now: dt.datetime, key: Ed25519PrivateKey | None = None
) -> Checkpoint:
    """The checkpoint of ``head`` at ``now``, signed when a key is given."""
    checkpoint = Checkpoint(head.first_hash, head.size, head.root, _utc(now))
    return checkpoint.signed(key) if key is not None else checkpoint


def read_checkpoints(path: Path) -> list[tuple[int, Checkpoint]]:
    """The checkpoints of a file, one JSON line each (blank lines skipped), with line numbers."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise InputError(f"--checkpoints {path}: cannot read it: {reason}") from None
    found = [
        (n, Checkpoint.parse(line, f"{path}: line {n}"))
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not found:
        raise InputError(f"--checkpoints {path}: holds no checkpoint")
    return found


def check_checkpoints(
    report: VerifyReport,
    checkpoints: Sequence[tuple[int, Checkpoint]],
    public: Ed25519PublicKey | None,
    source: str,
) -> list[str]:
    """What no longer matches, comparing the roots ``verify`` recomputed from the rows with
    each kept checkpoint (an empty list when the ledger still holds all of them)."""
    problems: list[str] = []
    held = report.events_checked
    matching: list[tuple[int, Checkpoint]] = []  # the ones that still match, smallest first
    for line, cp in sorted(checkpoints, key=lambda c: (c[1].events, c[0])):
        name = f"checkpoint {source}:{line} ({cp.events} events, {cp.time})"
        if public is not None and (why := cp.signature_problem(public)) is not None:
            problems.append(f"{name}: {why}")
            continue
        if cp.events > held:
            missing = f"{held + 1}..{cp.events}" if cp.events > held + 1 else f"{cp.events}"
            problems.append(
                f"{name}: the ledger holds {held} events, fewer than the {cp.events} it"
                f" covered: event{'s' if cp.events > held + 1 else ''} {missing} missing"
                " (rows deleted, or a copy made without its -wal file)"
            )
            continue
        if cp.events and cp.ledger != report.first_hash:
            problems.append(
                f"{name}: it is of ledger {cp.ledger}, but this ledger's first event hashes to"
                f" {report.first_hash}: event 1 was changed, or it is another ledger"
            )
            continue
        root = report.roots.get(cp.events)
        if root != cp.root:
            before = [c for c in matching if c[1].events < cp.events]
            since = (
                f" (the first {before[-1][1].events} still match checkpoint"
                f" {source}:{before[-1][0]}: the change is among events"
                f" {before[-1][1].events + 1}..{cp.events})"
                if before
                else ""
            )
            problems.append(
                f"{name}: events 1..{cp.events} no longer match it: their root is"
                f" {root.hex() if root else '?'}, the checkpoint says {cp.root.hex()}{since}"
            )
            continue
        matching.append((line, cp))
    return problems


# --- receipts ---------------------------------------------------------------------------------

_ROW_FIELDS = StoredRow._fields


@dataclass(frozen=True)
class Receipt:
    """Event ``position`` is leaf ``position - 1`` of the tree of the first ``events`` events."""

    row: StoredRow
    events: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    checkpoint: Checkpoint | None = None
    """The checkpoint made for the receipt (None when it was made against a kept one)."""

    def as_json(self) -> dict[str, Any]:
        event = {name: getattr(self.row, name) for name in _ROW_FIELDS if name != "position"}
        data: dict[str, Any] = {
            "position": self.row.position,
            "events": self.events,
            "event": event,
            "leaf_hash": self.leaf_hash.hex(),
            "proof": [p.hex() for p in self.proof],
        }
        if self.checkpoint is not None:
            data["checkpoint"] = self.checkpoint.as_json()
        return data

    def line(self) -> str:
        return json.dumps(self.as_json(), ensure_ascii=False, separators=(", ", ": "))

    @classmethod
    def parse(cls, text: str, where: str) -> Receipt:
        data = _json(text, where)
        if not isinstance(data, Mapping):
            raise InputError(f"{where}: a receipt is a JSON object")
        for name in ("position", "events", "event", "leaf_hash", "proof"):
            if name not in data:
                raise InputError(f"{where}: the receipt has no {name!r}")
        position, events, event = data["position"], data["events"], data["event"]
        for name, value in (("position", position), ("events", events)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"{where}: {name!r} is not a whole number >= 1")
        if not isinstance(event, Mapping) or set(event) != set(_ROW_FIELDS) - {"position"}:
            raise InputError(f"{where}: 'event' must have exactly the fields of a stored row")
        values: dict[str, Any] = {"position": position}
        for name in _ROW_FIELDS[1:]:
            value = event[name]
            want_int = name == "version"
            nullable = name == "idempotency_key"
            ok = (
                (isinstance(value, int) and not isinstance(value, bool))
                if want_int
                else isinstance(value, str) or (nullable and value is None)
            )
            if not ok:
                raise InputError(f"{where}: event field {name!r} has the wrong type")
            values[name] = value
        proof = data["proof"]
        if not isinstance(proof, list):
            raise InputError(f"{where}: 'proof' is not a list of hashes")
        checkpoint = data.get("checkpoint")
        return cls(
            StoredRow(**values),
            events,
            _hash_field(data["leaf_hash"], where, "leaf_hash"),
            tuple(_hash_field(p, where, f"proof[{i}]") for i, p in enumerate(proof)),
            Checkpoint.from_json(checkpoint, f"{where}: checkpoint") if checkpoint else None,
        )


def make_receipt(
    store: EventStore,
    position: int,
    checkpoint: Checkpoint | None,
    now: dt.datetime,
    key: Ed25519PrivateKey | None = None,
) -> Receipt:
    """A receipt for the event at ``position`` against ``checkpoint`` (a kept one, which the
    ledger must still match), or against a checkpoint made now and put in the receipt."""
    made = None
    if checkpoint is None:
        made = checkpoint = make_checkpoint(store.tree_head(), now, key)
    else:
        _still_matches(store, checkpoint)
    if not 1 <= position <= checkpoint.events:
        raise InputError(
            f"--position: {position} is not among the {checkpoint.events} events of the checkpoint"
        )
    row = store.row(position)
    proof = store.inclusion_proof(position, checkpoint.events)
    return Receipt(row, checkpoint.events, _leaf(row.hash), tuple(proof), made)


def check_receipt(receipt: Receipt, checkpoint: Checkpoint, public: Ed25519PublicKey | None) -> str:
    """Check ``receipt`` against ``checkpoint`` with no database: the event's fields hash to its
    hash, its leaf is in the checkpoint's tree, the checkpoint is of its ledger (and signed by
    ``public`` when given). The one-line summary, or ProofFailed naming what does not hold."""
    _check_signature(checkpoint, public)
    row = receipt.row
    if row_hash(row) != row.hash:
        raise ProofFailed("the event's fields do not hash to the event's hash: it was altered")
    if _leaf(row.hash) != receipt.leaf_hash:
        raise ProofFailed("the leaf hash is not SHA-256(0x00 || the event's hash)")
    if receipt.events != checkpoint.events:
        raise ProofFailed(
            f"the receipt is for a tree of {receipt.events} events, the checkpoint covers"
            f" {checkpoint.events}: check it against the checkpoint it was made for"
        )
    first = row.hash if row.position == 1 else None
    if first is not None and checkpoint.ledger != first:
        raise ProofFailed("the event is the first of another ledger than the checkpoint's")
    try:
        merkle.verify_inclusion(
            row.position - 1, receipt.events, receipt.leaf_hash, receipt.proof, checkpoint.root
        )
    except merkle.ProofError as exc:
        raise ProofFailed(f"the inclusion proof does not hold: {exc}") from None
    signed = (
        f", signed by key {checkpoint.key}" if public is not None else " (signature not checked)"
    )
    return (
        f"receipt holds: event {row.position} ({row.type}, stream {row.stream}, recorded"
        f" {row.recorded_at}) is in the {checkpoint.events} events of ledger"
        f" {checkpoint.ledger} checkpointed at {checkpoint.time}{signed}"
    )


# --- consistency between two checkpoints -------------------------------------------------------


@dataclass(frozen=True)
class ConsistencyProof:
    """The tree of ``new`` events extends the tree of ``old`` events."""

    old: int
    new: int
    proof: tuple[bytes, ...]
    checkpoint: Checkpoint | None = None
    """The newer checkpoint, when it was made for the proof."""

    def line(self) -> str:
        data: dict[str, Any] = {
            "old": self.old,
            "new": self.new,
            "proof": [p.hex() for p in self.proof],
        }
        if self.checkpoint is not None:
            data["checkpoint"] = self.checkpoint.as_json()
        return json.dumps(data, separators=(", ", ": "))

    @classmethod
    def parse(cls, text: str, where: str) -> ConsistencyProof:
        data = _json(text, where)
        if not isinstance(data, Mapping) or not {"old", "new", "proof"} <= set(data):
            raise InputError(f"{where}: a consistency proof has 'old', 'new' and 'proof'")
        old, new, proof = data["old"], data["new"], data["proof"]
        for name, value in (("old", old), ("new", new)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise InputError(f"{where}: {name!r} is not a whole number >= 0")
        if not isinstance(proof, list):
            raise InputError(f"{where}: 'proof' is not a list of hashes")
        checkpoint = data.get("checkpoint")
        return cls(
            old,
            new,
            tuple(_hash_field(p, where, f"proof[{i}]") for i, p in enumerate(proof)),
            Checkpoint.from_json(checkpoint, f"{where}: checkpoint") if checkpoint else None,
        )


def make_consistency(
    store: EventStore,
    old: Checkpoint,
    new: Checkpoint | None,
    now: dt.datetime,
    key: Ed25519PrivateKey | None = None,
) -> ConsistencyProof:
    """The proof that ``new`` (a kept checkpoint, or one made now) extends ``old``."""
    made = None
    if new is None:
        made = new = make_checkpoint(store.tree_head(), now, key)
    for cp in (old, new):
        _still_matches(store, cp)
    if not 0 < old.events <= new.events:
        raise InputError(f"no consistency proof from {old.events} events to {new.events}")
    proof = store.consistency_proof(old.events, new.events)
    return ConsistencyProof(old.events, new.events, tuple(proof), made)


def check_consistency(
    proof: ConsistencyProof, old: Checkpoint, new: Checkpoint, public: Ed25519PublicKey | None
) -> str:
    """Check that ``new`` extends ``old`` by ``proof``, with no database; the one-line summary,
    or ProofFailed naming what does not hold."""
    for cp in (old, new):
        _check_signature(cp, public)
    if (proof.old, proof.new) != (old.events, new.events):
        raise ProofFailed(
            f"the proof is from {proof.old} to {proof.new} events, the checkpoints cover"
            f" {old.events} and {new.events}"
        )
    if old.ledger != new.ledger:
        raise ProofFailed("the two checkpoints are of different ledgers")
    try:
        merkle.verify_consistency(old.events, new.events, old.root, new.root, proof.proof)
    except merkle.ProofError as exc:
        raise ProofFailed(f"the consistency proof does not hold: {exc}") from None
    return (
        f"consistent: the {new.events} events of {new.time} extend the {old.events} events of"
        f" {old.time} unchanged ({len(proof.proof)} hashes)"
    )


# --- helpers ----------------------------------------------------------------------------------


def _still_matches(store: EventStore, checkpoint: Checkpoint) -> None:
    head = store.tree_head(None)
    if checkpoint.events > head.size:
        raise ProofFailed(
            f"the ledger holds {head.size} events, fewer than the checkpoint's {checkpoint.events}"
        )
    if checkpoint.events and checkpoint.ledger != head.first_hash:
        raise ProofFailed("the checkpoint is of another ledger (its first event differs)")
    if store.tree_head(checkpoint.events).root != checkpoint.root:
        raise ProofFailed(
            f"the ledger's first {checkpoint.events} events no longer match the checkpoint"
            f" of {checkpoint.time}: run escrow verify --checkpoints"
        )


def _check_signature(checkpoint: Checkpoint, public: Ed25519PublicKey | None) -> None:
    if public is not None and (why := checkpoint.signature_problem(public)) is not None:
        raise ProofFailed(f"the checkpoint of {checkpoint.time}: {why}")


def _leaf(digest: str) -> bytes:
    try:
        raw = bytes.fromhex(digest)
    except ValueError:
        raw = b""
    if len(raw) != merkle.HASH_SIZE:
        raise ProofFailed("the event's hash is not 64 hexadecimal digits")
    return merkle.leaf_hash(raw)


def _utc(now: dt.datetime) -> str:
    if now.tzinfo is None:
        raise InputError("a checkpoint's time needs a time zone")
    return now.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _is_time(text: str) -> bool:
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _is_hex(value: object, digits: int) -> bool:
    return (
        isinstance(value, str)
        and len(value) == digits
        and all(c in "0123456789abcdef" for c in value)
    )


def _hash_field(value: object, where: str, name: str) -> bytes:
    if not _is_hex(value, 64):
        raise InputError(f"{where}: {name!r} is not a hash (64 lowercase hexadecimal digits)")
    assert isinstance(value, str)
    return bytes.fromhex(value)


def _base64(value: object, where: str, name: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"{where}: {name!r} is not base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: {name!r} is not base64 text") from None


def _json(text: str, where: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not JSON ({exc.msg} at line {exc.lineno})") from None


def checkpoints_in(text: str, where: str) -> Iterable[Checkpoint]:
    """The checkpoints in ``text``: one JSON line each."""
    for n, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield Checkpoint.parse(line, f"{where}: line {n}")
