#!/usr/bin/env bash
# schemathesis against the API's own OpenAPI schema (/api/v1/schema): generated requests, valid
# and invalid, to every operation, checking that none gets a 5xx and that every documented
# response matches its schema. Bounded in examples and time so that CI stays predictable.
#
# It starts its own server (runserver, 127.0.0.1, a free port) on a fresh SQLite database in a
# temporary directory, with a platform, its API key and the demo policies and models, and
# stops it on any exit. Tune with SCHEMATHESIS_MAX_EXAMPLES, SCHEMATHESIS_MAX_TIME (seconds)
# and SCHEMATHESIS_SEED; extra arguments go to `schemathesis run` (e.g. --include-path-regex).
# SCHEMATHESIS_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432) runs on a fresh PostgreSQL
# database made on that server instead, dropped afterwards: some bad inputs fail only there.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=.venv/bin/python
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
MAX_TIME="${SCHEMATHESIS_MAX_TIME:-180}"
SEED="${SCHEMATHESIS_SEED:-1}"

WORK="$(mktemp -d)"
SERVER_PID=""
FUZZER_PID=""
PG_DATABASE=""
pg_admin() {
    "$PYTHON" -c 'import sys, psycopg
with psycopg.connect(sys.argv[1] + "/postgres", autocommit=True) as c:
    c.execute(sys.argv[2])' "$SCHEMATHESIS_POSTGRES_URL" "$1"
}
cleanup() {
    local pid
    for pid in $FUZZER_PID $SERVER_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n "$PG_DATABASE" ]]; then
        pg_admin "DROP DATABASE IF EXISTS $PG_DATABASE WITH (FORCE)" || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
# EXIT alone does not fire when bash is killed by a signal it does not trap. Both children run
# in the background and are waited for, because bash runs a trap only once the foreground
# command has returned.
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Everything the server writes (database, log signing key, Celery's filesystem queue) stays in
# $WORK: nothing touches var/ or another run's data.
export LEDGER_VAR_DIR="$WORK/var"
export DATABASE_URL="sqlite:///$WORK/ledger.sqlite3"
if [[ -n "${SCHEMATHESIS_POSTGRES_URL:-}" ]]; then
    SCHEMATHESIS_POSTGRES_URL="${SCHEMATHESIS_POSTGRES_URL%/}"
    PG_DATABASE="schemathesis_${$}_${RANDOM}"
    pg_admin "CREATE DATABASE $PG_DATABASE"
    export DATABASE_URL="$SCHEMATHESIS_POSTGRES_URL/$PG_DATABASE"
fi
export DEBUG=1
# The EU endpoints' rate limits would answer 429 to a fuzzer's burst; they are tested elsewhere.
export LEDGER_DSA_RATE_PER_SECOND=100000/s
export LEDGER_DSA_RATE_PER_MINUTE=1000000/m

# Runs a set-up command quietly, showing its output only when it fails.
quietly() {
    if ! "$@" >"$WORK/setup.log" 2>&1; then
        cat "$WORK/setup.log"
        echo "failed: $*" >&2
        exit 1
    fi
}

echo "-- fresh database: $DATABASE_URL"
quietly "$PYTHON" manage.py migrate --noinput
if ! API_KEY="$("$PYTHON" manage.py issue_api_key schemathesis --create 2>"$WORK/setup.log")"; then
    cat "$WORK/setup.log"
    exit 1
fi
# The demo platform's policies and models (and a few decisions), so that generated decisions can
# name a real policy and model version; its own key is not needed.
quietly "$PYTHON" manage.py seed_demo --platform schemathesis --decisions 50 --days 3
quietly "$PYTHON" manage.py seal_checkpoint
# A senior reviewer of the platform, whose token the reviewer API's operations are sent with
# (the platform key is refused there, as a reviewer token is on the platform's operations).
if ! REVIEWER_TOKEN="$("$PYTHON" manage.py create_reviewer schemathesis-reviewer \
    --platform schemathesis --senior 2>"$WORK/setup.log" | tail -n 1)"; then
    cat "$WORK/setup.log"
    exit 1
fi
export REVIEWER_TOKEN
# Half of the generated identifiers are real ones, so that requests get past "not found": detail
# endpoints see recorded decisions, and decisions name the demo policies and model versions.
quietly "$PYTHON" manage.py shell -v 0 -c '
import json
import os
from appeals.models import Appeal, Dispute, ReviewItem
from moderation.models import Decision, ModelVersion, Platform, Policy

def values(items):
    return json.dumps(sorted({str(item) for item in items}))

decisions = Decision.objects.order_by("pk")[:10]
# The demo files appeals: their ids share the path parameter name with decisions, and notice
# tokens (of appealed and other decisions) are the appeals API credential.
appeals = Appeal.objects.select_related("decision").order_by("pk")[:10]
dictionaries = {
    "public_ids": values([d.public_id for d in decisions] + [a.public_id for a in appeals]),
    "tokens": values(
        [a.decision.notice_token for a in appeals] + [d.notice_token for d in decisions]
    ),
    "puids": values(d.puid for d in decisions),
    "policies": values(Policy.objects.values_list("key", flat=True)),
    "models": values(ModelVersion.objects.values_list("model__name", flat=True)),
    "model_versions": values(ModelVersion.objects.values_list("version", flat=True)),
    # The public statistics and the DSA report refuse an unknown platform: these get past it.
    "platforms": values(Platform.objects.values_list("slug", flat=True)),
}
review_items = list(ReviewItem.objects.order_by("pk").values_list("pk", flat=True)[:50])
if review_items:
    dictionaries["review_items"] = json.dumps(review_items)
# A few out-of-court disputes, so that the disputes API gets past "not found".
from appeals.disputes import refer_dispute
for decision in decisions[:3]:
    refer_dispute(
        decision=decision,
        complainant="subject",
        body="Appeals Centre Europe",
        referred_at=decision.decided_at,
        actor="schemathesis set-up",
    )
dispute_ids = Dispute.objects.order_by("pk").values_list("public_id", flat=True)[:10]
dictionaries["disputes"] = values(dispute_ids)
bindings = {
    "path.public_id": "public_ids",
    "path.puid": "puids",
    "body.token": "tokens",
    "query.token": "tokens",
    "body.policy": "policies",
    "body.decisions[*].policy": "policies",
    "body.model": "models",
    "body.decisions[*].model": "models",
    "body.model_version": "model_versions",
    "body.decisions[*].model_version": "model_versions",
    "query.platform": "platforms",
    "query.model": "models",
    "query.version": "model_versions",
}
if review_items:
    bindings["path.item_id"] = "review_items"
bindings["path.dispute_id"] = "disputes"
bindings["body.decision"] = "public_ids"
with open("'"$WORK/schemathesis.toml"'", "w") as config:
    for name, listed in dictionaries.items():
        config.write(f"[dictionaries.{name}]\nvalues = {listed}\n\n")
    # Each run starts from nothing: no cache of earlier runs in the working tree.
    config.write("[cache]\nenabled = false\n\n")
    # The reviewer API takes a reviewer token, not the platform key the CLI sends.
    config.write("[[operations]]\ninclude-path-regex = \"^/api/v1/review/\"\n")
    token = os.environ["REVIEWER_TOKEN"]
    config.write(f"headers = {{ Authorization = \"Bearer {token}\" }}\n\n")
    config.write("[parameters]\n")
    for key, name in bindings.items():
        config.write(f"\"{key}\" = {{ dictionary = \"{name}\", probability = 0.5 }}\n")
'

PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
BASE="http://127.0.0.1:$PORT"
echo "-- server on $BASE (log: server.log, printed on failure)"
"$PYTHON" manage.py runserver "127.0.0.1:$PORT" --noreload >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
ready=""
for _ in $(seq 1 60); do
    if "$PYTHON" -c "import urllib.request, sys; urllib.request.urlopen(sys.argv[1], timeout=2)" \
        "$BASE/api/v1/schema" 2>/dev/null; then
        ready=1
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.5
done
if [[ -z "$ready" ]]; then
    cat "$WORK/server.log"
    echo "the server did not serve $BASE/api/v1/schema" >&2
    exit 1
fi

# tests/schemathesis_hooks.py gives generated EU statements unique puids, so that a 422 means the
# statement itself was refused and not that "0" was sent twice.
export SCHEMATHESIS_HOOKS=tests.schemathesis_hooks
echo "-- schemathesis: at most $MAX_EXAMPLES examples per operation, $MAX_TIME s in all, seed $SEED"
status=0
.venv/bin/schemathesis --config-file "$WORK/schemathesis.toml" run "$BASE/api/v1/schema" \
    --header "Authorization: Bearer $API_KEY" \
    --checks not_a_server_error,response_schema_conformance \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_TIME" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 30 \
    --generation-database none \
    --no-color \
    "$@" &
FUZZER_PID=$!
wait "$FUZZER_PID" || status=$?
FUZZER_PID=""
if [[ $status -ne 0 ]]; then
    echo "-- the server's tracebacks, one per distinct error"
    # Django logs each 5xx as "Internal Server Error: <path>" and its traceback; runserver's
    # request lines start with "[", Django's 4xx warnings with "<Reason>: /".
    "$PYTHON" - "$WORK/server.log" <<'SUMMARY'
import collections, re, sys
blocks, block = [], None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if line.startswith("Internal Server Error: "):
        block = [line]
        blocks.append(block)
    elif block is not None and (line.startswith("[") or re.match(r"[A-Z][A-Za-z ]+: /", line)):
        block = None
    elif block is not None:
        block.append(line)
seen = collections.Counter()
first = {}
for block in blocks:
    # The exception's own line: a dotted name, then ": message" or nothing.
    last = next((l for l in reversed(block) if re.match(r"[A-Za-z_][\w.]*(:|$)", l)), "?")
    key = (block[0].strip(), last.split(":")[0].strip())
    seen[key] += 1
    first.setdefault(key, block)
if not blocks:
    print("(none: the server answered no 5xx)")
for key, count in seen.items():
    print(f"== {key[0]} ({count} times): {key[1]}")
    print("".join(first[key][-12:]))
SUMMARY
fi
exit "$status"
