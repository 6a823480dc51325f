#!/usr/bin/env bash
# Builds the control plane (a no-op when the pins are unchanged), then runs this crate's tests
# including the ones that need it (#[ignore]d otherwise):
#   cargo test -p bluegreen-control-plane -- --include-ignored
# Arguments replace `-p bluegreen-control-plane`, e.g. `run-tests.sh -p bluegreen-control-plane
# --test cluster`, or `--workspace` for everything (the README's test command).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v kubectl >/dev/null 2>&1 || { echo "run-tests: kubectl is not on PATH (the tests drive the real kubectl)" >&2; exit 1; }
"$here/build.sh"
cd "$here/../.."
if [[ $# -eq 0 ]]; then set -- -p bluegreen-control-plane; fi
exec cargo test "$@" -- --include-ignored
