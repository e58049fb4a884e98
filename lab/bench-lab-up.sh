#!/usr/bin/env bash
# Measures how long `lab.sh up` takes from nothing on a warm cache (keys and packages present):
# runs up once to warm, then down, then a timed up. Leaves the lab up.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$here/lab.sh" up >/dev/null
bash "$here/lab.sh" down
start=$EPOCHREALTIME
bash "$here/lab.sh" up >/dev/null
end=$EPOCHREALTIME
awk -v a="$start" -v b="$end" 'BEGIN { printf "lab.sh up (warm cache, from down): %.1f s\n", b - a }'
start=$EPOCHREALTIME
bash "$here/lab.sh" up >/dev/null
end=$EPOCHREALTIME
awk -v a="$start" -v b="$end" 'BEGIN { printf "lab.sh up (already up): %.1f s\n", b - a }'
