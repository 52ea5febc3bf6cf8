#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for escrow's tests and print its URL on stdout.
#
#   export ESCROW_TEST_POSTGRES_URL="$(tests/postgres/pg-server.sh)"
#
# Installs Debian's `postgresql` package when no server binaries are present (needs root or
# sudo), creates a private cluster in $ESCROW_PG_DATA (default /tmp/escrow-pg-$PORT) listening
# on 127.0.0.1:$ESCROW_PG_PORT (default 5433) only, and a role `escrow` (password `escrow`) that
# owns the database `escrow_test`. Idempotent: a cluster that is already running, and a role or
# database that already exist, are left as they are. Durability is off (fsync=off): the data is
# thrown away. Stop it with: pg_ctl -D /tmp/escrow-pg-5433 stop (as its owner).
set -euo pipefail

PORT="${ESCROW_PG_PORT:-5433}"
DATA="${ESCROW_PG_DATA:-/tmp/escrow-pg-$PORT}"
ROLE=escrow
PASSWORD=escrow
DATABASE=escrow_test

log() { echo "pg-server: $*" >&2; }

bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
        echo "$dir"
    fi
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null; then
        sudo "$@"
    else
        log "PostgreSQL is not installed and neither root nor sudo is available to install it"
        exit 1
    fi
}

BIN="$(bindir)"
if [ -z "$BIN" ]; then
    log "installing PostgreSQL from Debian packages"
    as_root apt-get update -qq >&2
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends postgresql >&2
    BIN="$(bindir)"
    [ -n "$BIN" ] || { log "no initdb/pg_ctl under /usr/lib/postgresql after installing"; exit 1; }
fi

# The server refuses to run as root: as root, the cluster belongs to the postgres user.
if [ "$(id -u)" -eq 0 ]; then
    OWNER=postgres
    as_owner() { (cd / && runuser -u "$OWNER" -- "$@"); }
else
    OWNER="$(id -un)"
    as_owner() { "$@"; }
fi

if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    log "already running ($DATA)"
else
    if [ ! -s "$DATA/PG_VERSION" ]; then
        log "creating a cluster in $DATA"
        mkdir -p "$DATA"
        chown "$OWNER" "$DATA"
        chmod 700 "$DATA"
        as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C --no-sync \
            --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    fi
    log "starting on 127.0.0.1:$PORT"
    if ! as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w -t 60 -o \
        "-h 127.0.0.1 -p $PORT -k $DATA -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >/dev/null; then
        log "the server did not start; the end of $DATA/server.log:"
        tail -n 20 "$DATA/server.log" >&2 || true
        exit 1
    fi
fi

# Administration goes through the Unix socket in the data directory (trusted, local only).
psql_admin() {
    "$BIN/psql" -h "$DATA" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAX "$@"
}
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]; then
    psql_admin -c "CREATE ROLE $ROLE LOGIN PASSWORD '$PASSWORD'"
fi
if [ -z "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$DATABASE'")" ]; then
    psql_admin -c "CREATE DATABASE $DATABASE OWNER $ROLE"
fi

echo "postgresql://$ROLE:$PASSWORD@127.0.0.1:$PORT/$DATABASE"
