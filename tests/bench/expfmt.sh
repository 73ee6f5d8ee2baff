#!/usr/bin/env bash
# Exposition parsing benchmark: prombox against promtool (Debian package prometheus) on the
# same ≥100 MB text exposition. Prints library throughput (MB/s, samples/s), whole-process
# times of `check metrics` for both (hyperfine, medians), their ratio, and peak RSS.
# Usage: tests/bench/expfmt.sh [MIN_MB] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
min_mb=${1:-100}
runs=${2:-3}
input=target/bench/expfmt-${min_mb}mb.prom
# Needs: promtool (Debian package prometheus), hyperfine, python3, GNU time, ../shared.
for tool in promtool hyperfine python3 /usr/bin/time; do
  command -v $tool >/dev/null || { echo "expfmt.sh: $tool not installed (apt-get install prometheus hyperfine python3 time)" >&2; exit 2; }
done
mkdir -p target/bench
[ -s "$input" ] || tests/bench/gen_expfmt.sh "$input" "$min_mb"
cargo build --release --quiet
bin=target/release/prombox
bytes=$(stat -c %s "$input")
samples=$(grep -vc '^#' "$input")
echo "input: $input, $((bytes / 1000000)) MB, $samples samples"
echo
echo "== library parse throughput (in memory, median of 5)"
cargo bench --quiet --bench expfmt -- "$input" 5
echo
echo "== whole process: check metrics, $runs runs each (median)"
json=target/bench/expfmt-hyperfine.json
hyperfine --style basic --runs "$runs" -i --export-json "$json" \
  -n prombox "$bin check metrics $input" \
  -n prombox-nolint "$bin check metrics --lint none $input" \
  -n promtool "promtool check metrics < $input" >/dev/null
rss() { # median peak RSS in MB of a shell command over 3 runs
  for _ in 1 2 3; do { /usr/bin/time -f %M sh -c "$1" 2>&1 >/dev/null || true; } | tail -1; done | sort -n | sed -n 2p | awk '{printf "%.0f", $1/1024}'
}
rss_p=$(rss "$bin check metrics $input")
rss_n=$(rss "$bin check metrics --lint none $input")
rss_t=$(rss "promtool check metrics < $input")
python3 - "$json" "$bytes" "$samples" "$rss_p" "$rss_n" "$rss_t" <<'PY'
import json, sys
res = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
nbytes, samples = int(sys.argv[2]), int(sys.argv[3])
rss = {"prombox": sys.argv[4], "prombox-nolint": sys.argv[5], "promtool": sys.argv[6]}
base = res["promtool"]["median"]
print(f"{'tool':16} {'median s':>9} {'MB/s':>8} {'Msamples/s':>11} {'peak RSS MB':>12} {'vs promtool':>12}")
for name in ["prombox", "prombox-nolint", "promtool"]:
    m = res[name]["median"]
    print(f"{name:16} {m:9.3f} {nbytes/m/1e6:8.1f} {samples/m/1e6:11.2f} {rss[name]:>12} {base/m:11.1f}x")
PY
