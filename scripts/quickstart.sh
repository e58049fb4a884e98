#!/usr/bin/env bash
# The main job: bring up the local lab, then `pulumi up` the quickstart against lab host h1 and print its outputs.
# Idempotent: a second run is a no-op `up`. State lives in .pulumi-state/ (a file backend) in this checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# The project's own Node.js (scripts/ensure-node.sh) first on PATH: for npm, the build, the lab, the engine and the
# dynamic-provider process, whatever the machine's system node is.
PATH="$(bash scripts/ensure-node.sh | tail -n1):$PATH"; export PATH
bash scripts/setup.sh
bash lab/lab.sh up
bin=$(bash scripts/ensure-pulumi.sh | tail -n1)
export PATH="$bin:$PATH"
export PULUMI_BACKEND_URL="file://$root/.pulumi-state"
export PULUMI_CONFIG_PASSPHRASE="${PULUMI_CONFIG_PASSPHRASE:-pulumi-virt-quickstart}"
export PULUMI_SKIP_UPDATE_CHECK=1 PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=1
mkdir -p .pulumi-state
lab="${PULUMI_VIRT_LAB_DIR:-/run/pulumi-virt-lab}/lab.json"
stack="${QUICKSTART_STACK:-lab}"
cd "$root/${QUICKSTART_DIR:-.}"
pulumi stack select --create "$stack" --non-interactive >/dev/null
# Point the stack at lab host h1 (address, pinned host key, key file) unless the user configured a host already.
if ! pulumi config get host >/dev/null 2>&1; then
  hostjson=$(node -e '
    const lab = require(process.argv[1]); const h = lab.hosts.find((x) => x.name === "h1");
    process.stdout.write(JSON.stringify({ address: h.address, port: h.port, user: h.user, hostKey: h.hostKey, bridge: h.bridge, guestSubnet: h.guestSubnet }));
  ' "$lab")
  pulumi config set host "$hostjson" --non-interactive >/dev/null
  keyfile=$(node -e 'const lab = require(process.argv[1]); process.stdout.write(lab.hosts.find((x) => x.name === "h1").privateKeyPath)' "$lab")
  # The key goes in as a secret through stdin: it never appears in a process list or in plain text in state.
  pulumi config set --secret privateKey --non-interactive < "$keyfile" >/dev/null
fi
pulumi up --yes --non-interactive --skip-preview=false
pulumi stack output --json
