#!/usr/bin/env bash
# Writes a large valid text exposition: the 237-family sample of Prometheus's textparse test
# data, repeated with every metric name prefixed by the copy number (r<N>_) so no family
# repeats. Usage: gen_expfmt.sh OUT [MIN_MB]
set -euo pipefail
out=$1
min_mb=${2:-100}
src="$(dirname "$0")/../../../shared/conformance/textparse/alltypes.237mfs.prom.txt"
[ -f "$src" ] || { echo "gen_expfmt.sh: $src not found (needs ../shared)" >&2; exit 2; }
size=$(grep -v '^# EOF' "$src" | wc -c)
copies=$(( (min_mb * 1000000 + size - 1) / size ))
grep -v '^# EOF' "$src" | awk -v n="$copies" '
  { lines[NR] = $0 }
  END {
    for (c = 1; c <= n; c++)
      for (i = 1; i <= NR; i++) {
        l = lines[i]
        if (l ~ /^# (HELP|TYPE) /) { split(l, f, " "); sub("^# " f[2] " ", "# " f[2] " r" c "_", l) }
        else { l = "r" c "_" l }
        print l
      }
  }' > "$out"
