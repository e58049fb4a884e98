#!/usr/bin/env bash
# Runs a command with the project's own Node.js (scripts/ensure-node.sh) first on PATH: `bash scripts/with-node.sh node -v`.
set -euo pipefail
PATH="$(bash "$(dirname "${BASH_SOURCE[0]}")/ensure-node.sh" | tail -n1):$PATH"
export PATH
exec "$@"
