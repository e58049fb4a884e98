#!/usr/bin/env bash
# The review workflow a team runs in CI for a pull request:
#   1. preview as JSON, 2. a review report (Markdown for the PR comment, a table for the log),
#   3. fail the check when the change would restart or replace a machine, 4. after approval: up.
set -euo pipefail
pulumi preview --json > preview.json
npx pulumi-virt review preview.json --format markdown > review.md
npx pulumi-virt review preview.json --format table --fail-on "${FAIL_ON:-restart}"
[ "${APPLY:-0}" = 1 ] && pulumi up --yes
