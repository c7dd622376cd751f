#!/usr/bin/env bash
# The load check (npm run test:load): the suite must pass on a busy host, not only on an idle one.
#
#   1. `npm test` TEST_LOAD_RUNS times (default 3) in a row while two busy loops take both cores;
#   2. `npm test` once more beside a second sandq (`start all`, default settings, its own
#      private redis-server) that is given an execution every second throughout.
#
# Prints one line per run (pass/fail, duration) and exits non-zero if any run failed.
# Arguments go to vitest, e.g. `TEST_LOAD_RUNS=1 npm run test:load -- test/unit` for a quick look;
# TEST_LOAD_BESIDE_SANDQ=0 leaves out step 2.
set -uo pipefail
cd "$(dirname "$0")/.."

RUNS="${TEST_LOAD_RUNS:-3}"
BESIDE_SANDQ="${TEST_LOAD_BESIDE_SANDQ:-1}"
LOGS="$(mktemp -d "${TMPDIR:-/tmp}/sandq-test-load.XXXXXX")"

busy_pids=()
sandq_pid=""
submitter_pid=""
suite_pid=""
results=()
failed=0

stop_busy_loops() {
  for pid in "${busy_pids[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${busy_pids[@]}"; do wait "$pid" 2>/dev/null; done
  busy_pids=()
}

stop_sandq() {
  if [ -n "$submitter_pid" ]; then
    kill "$submitter_pid" 2>/dev/null
    wait "$submitter_pid" 2>/dev/null
    submitter_pid=""
  fi
  if [ -n "$sandq_pid" ]; then
    # SIGTERM to sandq alone, which stops its own sandboxes and redis-server; whatever of its
    # process group (setsid below) is still there after 90 s, past its default grace, is killed.
    kill -TERM "$sandq_pid" 2>/dev/null
    for _ in $(seq 1 900); do kill -0 "$sandq_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$sandq_pid" 2>/dev/null
    wait "$sandq_pid" 2>/dev/null
    sandq_pid=""
  fi
}

# Each run of the suite is a process group of its own (setsid), so that an interrupted check
# ends vitest and its workers too, not only npm.
stop_suite() {
  if [ -n "$suite_pid" ]; then
    kill -TERM -- "-$suite_pid" 2>/dev/null
    wait "$suite_pid" 2>/dev/null
    suite_pid=""
  fi
}

cleanup() {
  stop_suite
  stop_busy_loops
  stop_sandq
}
trap cleanup EXIT
trap 'echo "load check interrupted" >&2; exit 130' INT TERM

# Runs `npm test` with the given label; records a summary line.
run_suite() {
  local label="$1" log="$2"
  shift 2
  local started=$SECONDS
  echo "==> $label (log: $log)"
  # In the background and waited for, so that Ctrl-C or SIGTERM reach the trap at once.
  setsid npm test -- "$@" >"$log" 2>&1 &
  suite_pid=$!
  wait "$suite_pid"
  local status=$?
  suite_pid=""
  if [ "$status" -eq 0 ]; then
    results+=("PASS  $label  in $((SECONDS - started)) s")
  else
    results+=("FAIL  $label  in $((SECONDS - started)) s  (see $log)")
    failed=$((failed + 1))
    tail -n 40 "$log"
  fi
}

free_port() {
  node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); });"
}

# 1. Both cores busy with something else.
yes >/dev/null &
busy_pids+=($!)
yes >/dev/null &
busy_pids+=($!)
for i in $(seq 1 "$RUNS"); do
  run_suite "run $i/$RUNS beside 2 busy loops" "$LOGS/loaded-$i.log" "$@"
done
stop_busy_loops

# 2. Beside a second sandq doing work: another redis-server, another API, other sandboxes.
if [ "$BESIDE_SANDQ" != "0" ]; then
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  echo "==> starting a second sandq on $base (log: $LOGS/sandq.log)"
  # `npm start` without npm in between, so that the signal below reaches sandq itself.
  env -u REDIS_URL PORT="$port" setsid node --import tsx src/cli/sandq.ts start all >"$LOGS/sandq.log" 2>&1 &
  sandq_pid=$!
  ready=0
  for _ in $(seq 1 600); do
    if curl -fs -o /dev/null "$base/readyz"; then ready=1; break; fi
    kill -0 "$sandq_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ "$ready" != "1" ]; then
    results+=("FAIL  the second sandq did not become ready within 60 s  (see $LOGS/sandq.log)")
    failed=$((failed + 1))
    tail -n 40 "$LOGS/sandq.log"
  else
    # One execution a second for as long as the suite runs; each answer's status goes to a file.
    (
      while :; do
        curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'content-type: application/json' \
          -d '{"language":"python","code":"print(sum(range(100000)))"}' "$base/v1/executions" >>"$LOGS/submissions.txt"
        sleep 1
      done
    ) &
    submitter_pid=$!
    run_suite "run beside a second sandq taking an execution a second" "$LOGS/beside-sandq.log" "$@"
    accepted="$(grep -c '^202$' "$LOGS/submissions.txt" 2>/dev/null || true)"
    stop_sandq
    results+=("      the second sandq accepted ${accepted:-0} executions during that run")
    if [ "${accepted:-0}" -eq 0 ]; then
      results+=("FAIL  the second sandq took no work, so the last run was not beside a busy sandq")
      failed=$((failed + 1))
    fi
  fi
fi

echo
echo "load check summary (logs in $LOGS):"
for line in "${results[@]}"; do echo "  $line"; done
total=$(printf '%s\n' "${results[@]}" | grep -c '^PASS\|^FAIL')
echo "load check: $((total - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
