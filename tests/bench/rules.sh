#!/usr/bin/env bash
# Rules benchmark: `prombox rules check|test` against `promtool check|test rules` on the same
# files, side by side in one run (never against remembered figures).
#
#   tests/bench/rules.sh [RUNS]        RUNS defaults to 5; every figure is the median
#
# The files come from ../shared/datasets/gen_rules.py over target/datasets/real.om (built by
# `bash ../shared/datasets/make.sh target/datasets real`), written under target/datasets/rules:
# a 2,002-rule file, a 10,002-rule file, and a unit test evaluating all 2,002 rules every 1 m
# for 90 steps. Whole-process wall time and peak RSS (GNU time) of each command; prombox is
# $PROMBOX (default target/release/prombox; this script never builds it). Ratios are
# prombox/promtool. Both tools must give the same exit status, or the script stops.
# Needs: promtool (Debian package prometheus), python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
runs=${1:-5}
PROMBOX=${PROMBOX:-$root/target/release/prombox}
for tool in promtool python3 /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "rules.sh: $tool not installed (apt-get install prometheus time python3)" >&2; exit 2; }
done
"$PROMBOX" rules check --help >/dev/null 2>&1 || { echo "rules.sh: $PROMBOX does not run (cargo build --release)" >&2; exit 2; }
om=$root/target/datasets/real.om
[ -s "$om" ] || { echo "rules.sh: no $om (bash ../shared/datasets/make.sh target/datasets real)" >&2; exit 2; }
dir=$root/target/datasets/rules
mkdir -p "$dir"
gen=$root/../shared/datasets/gen_rules.py
[ -s "$dir/rules.yml" ] || python3 "$gen" --om "$om" --groups 100 --per-group 20 -o "$dir/rules.yml" --test "$dir/rules_test.yml" >/dev/null
[ -s "$dir/rules10k.yml" ] || python3 "$gen" --om "$om" --groups 500 --per-group 20 -o "$dir/rules10k.yml" --test "$dir/rules10k_test.yml" >/dev/null

# measure NAME CMD...: median wall seconds and median peak RSS (MiB) of RUNS runs.
measure() {
  local name=$1; shift
  local walls=() rss=() st=0 want=
  for _ in $(seq "$runs"); do
    st=0
    /usr/bin/time -f '%e %M' -o "$dir/time.txt" "$@" >/dev/null 2>&1 || st=$?
    [ -z "$want" ] && want=$st
    read -r w m <"$dir/time.txt"
    walls+=("$w"); rss+=("$m")
  done
  python3 - "$name" "$want" "${walls[@]}" -- "${rss[@]}" <<'EOF'
import statistics, sys
name, status = sys.argv[1], sys.argv[2]
rest = sys.argv[3:]
i = rest.index("--")
walls = [float(x) for x in rest[:i]]
rss = [int(x) / 1024 for x in rest[i + 1:]]
print(f"{name}\t{statistics.median(walls):.3f}\t{statistics.median(rss):.0f}\t{status}")
EOF
}

cd "$dir"
rows=$(
  measure "check 2,002 rules|promtool" promtool check rules rules.yml
  measure "check 2,002 rules|prombox" "$PROMBOX" rules check rules.yml
  measure "check 10,002 rules|promtool" promtool check rules rules10k.yml
  measure "check 10,002 rules|prombox" "$PROMBOX" rules check rules10k.yml
  measure "test 2,002 rules x 90 steps|promtool" promtool test rules rules_test.yml
  measure "test 2,002 rules x 90 steps|prombox" "$PROMBOX" rules test rules_test.yml
)
rm -f "$dir/time.txt"
python3 - "$rows" <<'EOF'
import sys
rows = {}
for line in sys.argv[1].splitlines():
    name, wall, rss, status = line.split("\t")
    case, tool = name.split("|")
    rows.setdefault(case, {})[tool] = (float(wall), int(rss), status)
print("| | promtool 2.42 | prombox | ratio (wall) |")
print("|---|---:|---:|---:|")
bad = False
for case, t in rows.items():
    p, b = t["promtool"], t["prombox"]
    if p[2] != b[2]:
        bad = True
    print(f"| {case} | {p[0]:.3f} s, {p[1]} MiB | {b[0]:.3f} s, {b[1]} MiB | {b[0] / p[0]:.3f} |")
if bad:
    sys.exit("rules.sh: exit statuses differ between promtool and prombox")
EOF
