#!/usr/bin/env bash
# Starts or stops an in-memory DynamoDB Local.
#
#   scripts/ddb-local.sh start [PORT]   prints the endpoint URL once it answers
#   scripts/ddb-local.sh stop  [PORT]
#
# The PID is kept in target/ddb-local-PORT.pid, the log in target/ddb-local-PORT.log.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
# shellcheck source=env.sh
source "$here/env.sh"

cmd="${1:-}"
port="${2:-8000}"
mkdir -p "$root/target"
pidfile="$root/target/ddb-local-$port.pid"
logfile="$root/target/ddb-local-$port.log"

answers() {
  # Any HTTP answer (DynamoDB Local replies 400 to a bare GET) means it is up.
  curl -s -o /dev/null -m 2 "http://127.0.0.1:$port/" 2>/dev/null
}

case "$cmd" in
  start)
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && answers; then
      echo "http://127.0.0.1:$port"
      exit 0
    fi
    if answers; then
      echo "ddb-local: port $port is taken by another process" >&2
      exit 1
    fi
    "$here/tools.sh" ddb
    jar="$(ddb_jar)"
    lib="$(dirname "$jar")/DynamoDBLocal_lib"
    # -sharedDb: one database whatever the access key id, since the tests
    # sign each binary's calls with a key of its own (tests/it/iam.rs).
    nohup java -Xmx512m -Djava.library.path="$lib" -jar "$jar" \
      -inMemory -sharedDb -port "$port" >"$logfile" 2>&1 &
    echo $! >"$pidfile"
    for _ in $(seq 1 120); do
      # Ours must be alive too: an answer from someone else's server on this port is not ours.
      if kill -0 "$(cat "$pidfile")" 2>/dev/null && answers; then
        echo "http://127.0.0.1:$port"
        exit 0
      fi
      if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
        echo "ddb-local: DynamoDB Local exited; its log:" >&2
        cat "$logfile" >&2
        exit 1
      fi
      sleep 0.5
    done
    echo "ddb-local: DynamoDB Local did not answer on port $port within 60 s" >&2
    exit 1
    ;;
  stop)
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    fi
    ;;
  *)
    echo "usage: scripts/ddb-local.sh start|stop [PORT]" >&2
    exit 2
    ;;
esac
