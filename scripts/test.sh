#!/usr/bin/env bash
# Every check a change must pass: types, lint, all test suites (unit, integration, end-to-end, SIP, CDK).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== typecheck"; npx tsc -p . --noEmit
echo "== lint"; npx eslint . --max-warnings=0
echo "== tests"
results="$(mktemp -d)/vitest.json"
status=0
CDK_VALIDATION=false NODE_OPTIONS="${NODE_OPTIONS:-} --openssl-legacy-provider" \
  npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@" || status=$?
# One plain closing line for CI: "tests: N passed, N failed, N skipped".
if [ -f "$results" ]; then
  node -e 'const r=require(process.argv[1]);console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests+r.numTodoTests} skipped`)' "$results"
fi
exit $status
