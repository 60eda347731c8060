#!/bin/sh
# The whole suite: type-check, then every *.test.ts under tests/ with node's test runner, one file at a time
# (files share the 2 cores with ONNX sessions and SQLite; running them side by side only makes timings noisy).
set -e
cd "$(dirname "$0")/.."
npx tsc -p tsconfig.json
npm run --silent typecheck:renderer
node --import tsx --test --test-concurrency=1 $(find tests -name '*.test.ts' | sort)
