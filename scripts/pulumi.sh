#!/usr/bin/env bash
# Runs the pulumi CLI with the quickstart's settings (file backend in .pulumi-state/, local passphrase, the CLI
# from ensure-pulumi.sh, offline flags): `bash scripts/pulumi.sh preview --diff` after `npm run quickstart`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
PATH="$(bash "$root/scripts/ensure-node.sh" | tail -n1):$PATH" # the project's own Node.js, as the quickstart uses
bin=$(bash "$root/scripts/ensure-pulumi.sh" | tail -n1)
export PATH="$bin:$PATH"
export PULUMI_BACKEND_URL="${PULUMI_BACKEND_URL:-file://$root/.pulumi-state}"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-pulumi-virt-quickstart}"
export PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=1
mkdir -p "$root/.pulumi-state"
cd "$root"
exec pulumi "$@"
