#!/usr/bin/env bash
# One idempotent set-up for every entry point: Debian packages, npm packages, build.
# The lab and the Pulumi CLI are set up by their own scripts (lab/lab.sh up, scripts/ensure-pulumi.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
# The project's own Node.js (scripts/ensure-node.sh) first on PATH: for npm, the build, the lab, the engine and the
# dynamic-provider process, whatever the machine's system node is.
PATH="$(bash scripts/ensure-node.sh | tail -n1):$PATH"; export PATH
bash scripts/ensure-packages.sh
if [ ! -d node_modules/@pulumi/pulumi ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --prefer-offline >&2
fi
npm run --silent build >&2
# The quickstart runs from the repository root and imports "pulumi-virt" as users do: point it at this checkout.
[ -e node_modules/pulumi-virt ] || ln -s .. node_modules/pulumi-virt
