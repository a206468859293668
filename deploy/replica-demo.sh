#!/usr/bin/env bash
# A streaming read replica shown working (README, "Scale"): a throwaway PostgreSQL primary and a
# hot standby streaming from it, the ledger's web server on both (DATABASE_URL, then
# DATABASE_REPLICA_URL) and a Celery worker with beat on the primary; decisions recorded through
# the API, sealed and counted into the roll-ups by the worker, and the public statistics
# answered by the standby while the intake and the notice page stay on the primary. Each server
# logs every statement with the connection's application_name, which shows where each ran.
#
# Both clusters are new ones in a temporary directory (ports 5434 and 5435 by default), so the
# machine's own PostgreSQL is neither used nor reconfigured. Whatever happens, everything the
# script started is stopped and the directory removed on exit; it refuses to start when a port
# it needs is taken, so it never touches what it did not create.
#
#   deploy/replica-demo.sh      (from the repository root, after `make install`)
#
# Needs PostgreSQL's server binaries (PG_BIN, default /usr/lib/postgresql/15/bin), curl and jq.
# As root, the clusters run as the postgres user (initdb refuses root).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PRIMARY_PORT=${REPLICA_DEMO_PRIMARY_PORT:-5434}
REPLICA_PORT=${REPLICA_DEMO_REPLICA_PORT:-5435}
WEB_PORT=${REPLICA_DEMO_WEB_PORT:-8795}
PY="$ROOT/.venv/bin/python"
WEB="http://127.0.0.1:$WEB_PORT"

say() { printf '\n== %s\n' "$*"; }

port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for port in "$PRIMARY_PORT" "$REPLICA_PORT" "$WEB_PORT"; do
    if port_taken "$port"; then
        echo "port $port is in use; set REPLICA_DEMO_*_PORT to free ones" >&2
        exit 1
    fi
done

WORK=$(mktemp -d /tmp/ledger-replica-demo.XXXXXX)
WEB_PID=""
WORKER_PID=""
if [ "$(id -u)" = 0 ]; then
    chown postgres: "$WORK"
    AS=(runuser -u postgres --)
else
    AS=()
fi

cleanup() {
    local status=$?
    set +e
    say "Cleaning up"
    for pid in $WEB_PID $WORKER_PID; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    # The standby first: a primary stopping in fast mode waits for its WAL senders.
    for cluster in replica primary; do
        if [ -f "$WORK/$cluster/postmaster.pid" ]; then
            "${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/$cluster" -m fast -w stop >/dev/null
        fi
    done
    rm -rf "$WORK"
    local left=0
    for port in "$PRIMARY_PORT" "$REPLICA_PORT" "$WEB_PORT"; do
        if port_taken "$port"; then
            echo "still listening on $port" >&2
            left=1
        fi
    done
    for pid in $WEB_PID $WORKER_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            echo "process $pid still running" >&2
            left=1
        fi
    done
    [ "$left" = 0 ] && echo "stopped both clusters, the web server and the worker; removed $WORK"
    exit $((status > 0 ? status : left))
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_at() { # port, SQL: one unaligned result
    "$PG_BIN/psql" -X -h 127.0.0.1 -p "$1" -U postgres -d "${3:-postgres}" -Atc "$2"
}

say "A new primary on port $PRIMARY_PORT"
"${AS[@]}" "$PG_BIN/initdb" -D "$WORK/primary" -U postgres --auth=trust -E UTF8 \
    --locale=C.UTF-8 >/dev/null
# initdb's pg_hba.conf already trusts local replication connections; wal_level=replica and
# max_wal_senders=10 are the defaults. Each statement is logged with the connection's
# application_name (%a); the base backup copies this file to the standby.
cat >>"$WORK/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
log_statement = 'all'
log_line_prefix = '%a: '
CONF
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/primary" -l "$WORK/primary.log" -w \
    -o "-p $PRIMARY_PORT" start >/dev/null
psql_at "$PRIMARY_PORT" "SELECT version()"
psql_at "$PRIMARY_PORT" "CREATE DATABASE ledger" >/dev/null

say "A hot standby on port $REPLICA_PORT: pg_basebackup -R, streaming from the primary"
"${AS[@]}" "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres \
    -D "$WORK/replica" -R -X stream -c fast
"${AS[@]}" "$PG_BIN/pg_ctl" -D "$WORK/replica" -l "$WORK/replica.log" -w \
    -o "-p $REPLICA_PORT" start >/dev/null
echo "standby in recovery: $(psql_at "$REPLICA_PORT" "SELECT pg_is_in_recovery()")"
echo "primary's WAL senders (client, state, sync):"
psql_at "$PRIMARY_PORT" "SELECT client_addr, state, sync_state FROM pg_stat_replication"
echo "a write on the standby:"
psql_at "$REPLICA_PORT" "CREATE TABLE nope (id int)" ledger 2>&1 | sed 's/^/  /' || true

export DATABASE_URL="postgres://postgres@127.0.0.1:$PRIMARY_PORT/ledger?application_name=ledger-primary"
export DATABASE_REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/ledger?application_name=ledger-replica"
# The development broker (files under LEDGER_VAR_DIR) serves the web server and the worker.
export LEDGER_VAR_DIR="$WORK/var"
# Beat seals a checkpoint and counts the roll-ups up to it every second.
export LEDGER_SEAL_EVERY_SECONDS=1 LEDGER_ROLLUP_EVERY_SECONDS=1
cd "$ROOT"

say "The ledger: migrate (the primary only; the standby follows), a platform and its key"
"$PY" manage.py migrate --no-input >/dev/null
KEY=$("$PY" manage.py issue_api_key replica-demo --create --name "replica demo" | tail -n1)
echo "migrated; key issued"

say "The web server (gunicorn, the repository's gunicorn.conf.py) on $WEB"
GUNICORN_BIND="127.0.0.1:$WEB_PORT" WEB_CONCURRENCY=2 GUNICORN_ACCESS_LOG="$WORK/access.log" \
    GUNICORN_ERROR_LOG="$WORK/error.log" "$ROOT/.venv/bin/gunicorn" ledger.wsgi &
WEB_PID=$!
for _ in $(seq 100); do
    curl -fs -o /dev/null "$WEB/health/" && break
    sleep 0.2
done
curl -fs -o /dev/null "$WEB/health/" || { tail -20 "$WORK/error.log" >&2; exit 1; }
echo "up (pid $WEB_PID)"

say "A Celery worker with beat: seals checkpoints and counts the roll-ups, on the primary"
# Its own application_name, so that its statements are not counted as the web server's below.
DATABASE_URL="${DATABASE_URL/ledger-primary/ledger-worker}" "$ROOT/.venv/bin/celery" \
    -A ledger.celery worker --beat --concurrency 1 --loglevel warning \
    --logfile "$WORK/worker.log" >"$WORK/worker.out" 2>&1 &
WORKER_PID=$!
echo "started (pid $WORKER_PID)"

api() { # method, path, body
    curl -s -X "$1" "$WEB$2" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -d "$3"
}

# What each server ran from the web server between two marks of its log.
mark() { stat -c %s "$WORK/primary.log" "$WORK/replica.log" | paste -sd' '; }
ran_since() { # primary_offset replica_offset
    for pair in "primary $1" "replica $2"; do
        set -- $pair
        local lines
        lines=$(tail -c +$(($2 + 1)) "$WORK/$1.log" | grep -E '^ledger-(primary|replica): LOG' || true)
        printf '  on the %s: %s statement(s) from the ledger\n' "$1" \
            "$(printf '%s' "$lines" | grep -c . || true)"
        printf '%s\n' "$lines" | grep . | cut -c1-150 | sed 's/^/    /' | head -n 8 || true
    done
}

say "A model version and 12 decisions recorded through the API (written on the primary)"
api POST /api/v1/models \
    '{"name": "hate-speech", "version": "v1", "released_at": "2026-01-15", "threshold": 0.8}' \
    | jq -c '{name, version}'
before=$(mark)
NOTICE=""
for n in $(seq 12); do
    answer=$(api POST /api/v1/decisions '{
        "puid": "replica-demo-'"$n"'",
        "subject": {"account": "user-'"$n"'", "content": "post-'"$n"'"},
        "decision_visibility": ["DECISION_VISIBILITY_SEARCH_EXCLUDED"],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": "Community guidelines 4.2",
        "incompatible_content_explanation": "Classified as hate speech.",
        "category": "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH",
        "decision_facts": "white knight captures black queen",
        "source_type": "SOURCE_VOLUNTARY",
        "automated_detection": "Yes",
        "automated_decision": "AUTOMATED_DECISION_FULLY",
        "model": "hate-speech", "model_version": "v1", "score": 0.91,
        "content_type": ["CONTENT_TYPE_TEXT"],
        "content_date": "2026-11-01", "application_date": "2026-11-02"
    }')
    NOTICE=${NOTICE:-$(jq -r .notice_url <<<"$answer")}
    printf '%s ' "$(jq -r .log_index <<<"$answer")"
done
echo "<- their log indices"
ran_since $before

say "Beat seals a checkpoint and the worker counts it; the standby replays it"
counted=""
for _ in $(seq 150); do
    counted=$(psql_at "$REPLICA_PORT" "SELECT upto FROM public_rollupmark" ledger 2>/dev/null || true)
    [ "${counted:-0}" -ge 13 ] && break
    sleep 0.2
done
echo "log entries counted by the roll-ups, as read on the standby: ${counted:-none}"
echo "the worker's statements: $(grep -c '^ledger-worker: LOG' "$WORK/primary.log" || true) on the" \
    "primary, $(grep -c '^ledger-worker: LOG' "$WORK/replica.log" || true) on the standby"
for _ in $(seq 50); do
    lag=$(psql_at "$PRIMARY_PORT" \
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) FROM pg_stat_replication")
    [ "$lag" = 0 ] && break
    sleep 0.1
done
echo "replay lag: $lag bytes; decisions on the standby: $(psql_at "$REPLICA_PORT" \
    "SELECT count(*) FROM moderation_decision" ledger)"

say "GET /api/v1/stats/models (public, anonymous: read on the standby)"
before=$(mark)
curl -fs "$WEB/api/v1/stats/models" | jq -c '.results[] | {model, version, decisions, appeals}'
sleep 0.3 # the logging collector writes asynchronously
ran_since $before

say "GET the notice page of the first decision (not a public read: on the primary)"
before=$(mark)
curl -fs -o /dev/null -w '%{http_code}\n' "$NOTICE"
sleep 0.3
ran_since $before

say "GET /api/v1/stats/models with an API key (a platform may read what it wrote: the primary)"
before=$(mark)
curl -fs -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $KEY" "$WEB/api/v1/stats/models"
sleep 0.3
ran_since $before

say "Connections on the standby (pg_stat_activity): the web server's pool"
psql_at "$REPLICA_PORT" "SELECT application_name, state, left(query, 60) FROM pg_stat_activity
    WHERE application_name LIKE 'ledger-%'" ledger
