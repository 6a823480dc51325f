#!/usr/bin/env bash
# Builds the control plane (a no-op when the pins are unchanged) and runs the workspace's tests
# including the ones that need it (they are #[ignore]d otherwise).
# Extra arguments go to `cargo test` before `--`, e.g. `-p bluegreen-control-plane`.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v kubectl >/dev/null 2>&1 || { echo "run-tests: kubectl is not on PATH (the tests drive the real kubectl)" >&2; exit 1; }
"$here/build.sh"
cd "$here/../.."
if [[ $# -eq 0 ]]; then set -- --workspace; fi
exec cargo test "$@" -- --include-ignored
