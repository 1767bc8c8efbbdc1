#!/usr/bin/env bash
# Every check a change must pass: types, lint, all test suites (unit, integration, end-to-end, CDK).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; npx tsc -p . --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== tests"; CDK_VALIDATION=false NODE_OPTIONS="${NODE_OPTIONS:-} --openssl-legacy-provider" npx vitest run "$@"
