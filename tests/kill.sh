#!/usr/bin/env bash
# The long reliability run: SIGKILL `store` and `compact` at random moments N times (default
# 1,000), then check every acknowledged run is exported exactly once and every killed run is
# there completely or not at all. `cargo test` runs the same test with 60 iterations.
#   tests/kill.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
PROMBOX_KILL_ITERATIONS=${1:-1000} cargo test --test tests sigkill_store_and_compact -- --nocapture
