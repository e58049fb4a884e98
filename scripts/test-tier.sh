#!/usr/bin/env bash
# Runs one test tier: unit | lab | xen | e2e. Lab-backed tiers bring the lab up first.
# Tiers that share the lab run their files one at a time.
set -euo pipefail
cd "$(dirname "$0")/.."
tier="${1:?usage: test-tier.sh unit|lab|xen|e2e|faults}"
# The project's own Node.js (scripts/ensure-node.sh) first on PATH: for npm, the build, the lab, the engine and the
# dynamic-provider process, whatever the machine's system node is.
PATH="$(bash scripts/ensure-node.sh | tail -n1):$PATH"; export PATH
[ "${PULUMI_VIRT_SKIP_SETUP:-}" = 1 ] || bash scripts/setup.sh
case "$tier" in
  unit) files=$(ls dist/test/unit/*.test.js) ;;
  lab) bash lab/lab.sh up >&2; files=$(ls dist/test/lab/*.test.js | grep -v '/xen-') ;;
  xen) bash lab/lab.sh up >&2; files=$(ls dist/test/lab/xen-*.test.js 2>/dev/null || true) ;;
  e2e) bash lab/lab.sh up >&2; bash scripts/ensure-pulumi.sh >/dev/null; files=$(ls dist/test/e2e/*.test.js) ;;
  faults) bash lab/lab.sh up >&2; bash scripts/ensure-pulumi.sh >/dev/null; files=$(ls dist/test/faults/*.test.js) ;;
  *) echo "unknown tier $tier" >&2; exit 2 ;;
esac
[ -n "$files" ] || { echo "no test files for tier $tier" >&2; exit 1; }
# CLI tiers: pack this checkout and install it into one consumer directory for all their files (as users consume it).
if [ "$tier" = e2e ] || [ "$tier" = faults ]; then
  if [ -z "${PULUMI_VIRT_E2E_CONSUMER:-}" ]; then
    PULUMI_VIRT_E2E_CONSUMER=$(node -e 'require("./dist/test/e2e/harness").consumerDir().then((d) => console.log(d), (e) => { console.error(e); process.exit(1); })')
    export PULUMI_VIRT_E2E_CONSUMER
  fi
fi
# shellcheck disable=SC2086
exec node --test --test-concurrency=1 --test-reporter=spec $files
