#!/usr/bin/env bash
# The whole suite: set-up, then unit, lab, xen, e2e and faults tiers; prints one closing "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
# The project's own Node.js (scripts/ensure-node.sh) first on PATH: for npm, the build, the lab, the engine and the
# dynamic-provider process, whatever the machine's system node is.
node_bin=$(bash scripts/ensure-node.sh | tail -n1) || { echo "setup failed: no project Node.js"; exit 1; }
PATH="$node_bin:$PATH"; export PATH
bash scripts/setup.sh || { echo "setup failed"; exit 1; }
export PULUMI_VIRT_SKIP_SETUP=1
pass=0; fail=0; status=0
# Each tier's failure details, printed again at the end: a CI log is often read from its tail.
failures=$(mktemp)
for tier in ${PULUMI_VIRT_TIERS:-unit lab xen e2e faults}; do
  log=$(mktemp)
  echo "=== tier: $tier"
  bash scripts/test-tier.sh "$tier" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -E '^ℹ pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
  f=$(grep -E '^ℹ fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0}))
  if [ "$rc" != 0 ]; then
    status=1; [ "${f:-0}" = 0 ] && fail=$((fail + 1)); echo "=== tier $tier failed (exit $rc)"
    { echo "=== failures of tier $tier (exit $rc)"; sed -n '/^✖ failing tests:/,$p' "$log" | grep -v '^ℹ ' | head -n 300; } >> "$failures"
  fi
  rm -f "$log"
done
[ -s "$failures" ] && cat "$failures"
rm -f "$failures"
echo "tests: $pass passed, $fail failed"
exit $status
