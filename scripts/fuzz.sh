#!/usr/bin/env bash
# Runs every native Go fuzz target of the workspace's modules for a set time
# each (default 10s), with FUZZPARALLEL workers (default: one per core).
# A target is any `func FuzzX(f *testing.F)` in a _test.go file; a crash
# fails the run and leaves its input under the package's testdata/fuzz/,
# to be committed as a regression case.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-10s}
mods=(shared mcp-kubernetes mcp-logs mcp-gitea mcp-swarm mcp-docs orchestrator)
failed=()
count=0
while IFS= read -r file; do
  dir=$(dirname "$file")
  while IFS= read -r fn; do
    count=$((count + 1))
    echo "fuzz ./$dir $fn for $fuzztime"
    if ! go test ${FUZZPARALLEL:+-parallel "$FUZZPARALLEL"} -run '^$' -fuzz "^${fn}\$" -fuzztime "$fuzztime" "./$dir/" >"/tmp/fuzz-$$.log" 2>&1; then
      cat "/tmp/fuzz-$$.log"
      failed+=("./$dir $fn")
    fi
  done < <(grep -hoE '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+).*/\1/')
done < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' "${mods[@]}" | sort)
rm -f "/tmp/fuzz-$$.log"
echo "fuzz: $count targets, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz target failed: %s\n' "${failed[@]}"
  exit 1
fi
