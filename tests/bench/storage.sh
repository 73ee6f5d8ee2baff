#!/usr/bin/env bash
# Storage benchmark: prombox against two reference TSDBs on the same OpenMetrics dataset, side by side
# in one run (never against remembered figures).
#
#   tests/bench/storage.sh DATASET.om [RUNS]      RUNS defaults to 3; every figure is the median
#
# DATASET is real.om or scaled.om built by ../shared/datasets/make.sh (e.g.
# `bash ../shared/datasets/make.sh target/datasets all`); the sample count comes from the
# DATASET's .stats.json beside it, else from counting non-comment lines.
#
#  promtool          `promtool tsdb create-blocks-from openmetrics` (Debian package prometheus):
#                    wall, peak RSS (includes the mmapped input), block bytes.
#  victoria-metrics  (Debian package victoria-metrics) on 127.0.0.1, random port, fresh data dir,
#                    -retentionPeriod=100y so old timestamps are kept. The dataset is converted once
#                    (untimed) to Prometheus text with integer-ms timestamps, then streamed to
#                    /api/v1/import/prometheus; the import + /internal/force_flush is timed, then
#                    /internal/force_merge, waiting until no merge is active and the size is stable.
#                    Bytes = du -sb data + indexdb. Peak RSS = VmHWM of the server. VM drops NaN
#                    samples on import; the stored count is verified with count_over_time and shown.
#  prombox           $PROMBOX (default target/release/prombox), only if `prombox store --help` works:
#                    `store --data D < DATASET`, `compact --data D`, du -sb D, and
#                    `export --data D --match '{__name__="node_load1",instance="…"}'` (median of 5).
#                    Otherwise a "not built" row. This script never builds it.
#
# bytes/sample divides by the dataset's sample count for every tool. Ratios are prombox/promtool.
# Needs: promtool, victoria-metrics, curl, python3, mawk or awk, GNU time (/usr/bin/time).
# Temp dirs live under target/bench-tmp and are removed on exit. The input is read once first so
# every tool sees a warm page cache.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
file=$(readlink -f "${1:?usage: tests/bench/storage.sh DATASET.om [RUNS]}")
runs=${2:-3}
PROMBOX=${PROMBOX:-$root/target/release/prombox}
VM_BIN=${VM_BIN:-$(command -v victoria-metrics || echo /usr/bin/victoria-metrics)}
[ -s "$file" ] || { echo "storage.sh: no dataset $file" >&2; exit 2; }
for tool in promtool curl python3 /usr/bin/time "$VM_BIN"; do
  command -v "$tool" >/dev/null || { echo "storage.sh: $tool not installed (apt-get install prometheus victoria-metrics time curl)" >&2; exit 2; }
done
AWK=$(command -v mawk || command -v awk)

mkdir -p "$root/target/bench-tmp"
tmp=$(mktemp -d "$root/target/bench-tmp/storage.XXXXXX")
vm_pid=
cleanup() {
  if [ -n "$vm_pid" ]; then kill "$vm_pid" 2>/dev/null || true; wait "$vm_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
res=$tmp/results.tsv
: >"$res"
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$res"; } # key metric value
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }
dsize() { du -sb "$@" | "$AWK" '{s += $1} END {print s + 0}'; }

# ---- dataset facts
stats=${file%.om}.stats.json
samples=
if [ -s "$stats" ]; then
  samples=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("samples", ""))' "$stats")
fi
[ -n "$samples" ] || samples=$(grep -vc '^#' "$file")
bytes=$(stat -c %s "$file")
instance=$(grep -m1 '^node_load1{' "$file" | sed -n 's/.*[{,]instance="\([^"]*\)".*/\1/p')
match=${PROMBOX_MATCH:-"{__name__=\"node_load1\",instance=\"${instance:-host-000}\"}"}
echo "dataset: $file, $bytes bytes, $samples samples, $runs run(s)"
cat "$file" >/dev/null # warm the page cache for every tool alike

# ---- the VM input: Prometheus text, integer ms, no # EOF (untimed); also count NaN samples
conv=$tmp/vm-input.prom
t0=$(now)
"$AWK" -v statsfile="$tmp/conv.stats" '
  /^#/ { if ($0 ~ /^# (HELP|TYPE) /) print; next }
  {
    ts = $NF; n = index(ts, ".")
    if (n) { ip = substr(ts, 1, n - 1); fr = substr(substr(ts, n + 1) "000", 1, 3) } else { ip = ts; fr = "000" }
    ms = ip fr; print substr($0, 1, length($0) - length(ts)) ms
    total++; if (tolower($(NF - 1)) ~ /nan/) nan++
    if (mint == "" || ms + 0 < mint + 0) mint = ms; if (maxt == "" || ms + 0 > maxt + 0) maxt = ms
  }
  END { printf "%d %d %s %s\n", total, nan, mint, maxt > statsfile }
' "$file" >"$conv"
read -r conv_total conv_nan conv_mint conv_maxt <"$tmp/conv.stats"
echo "converted for victoria-metrics in $(elapsed "$t0" "$(now)") s (untimed): $conv_total samples, $conv_nan NaN"
vm_expect=$((conv_total - conv_nan))

# ---- prombox available?
prombox_ok=0
if [ -x "$PROMBOX" ] && "$PROMBOX" store --help >/dev/null 2>&1; then prombox_ok=1; fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
vm_metric_sum() { curl -fsS "http://127.0.0.1:$1/metrics" | "$AWK" -v m="$2" 'index($0, m) == 1 {s += $NF} END {print s + 0}'; }

run_promtool() {
  local out=$tmp/promtool t0 t1
  rm -rf "$out"; mkdir -p "$out"
  t0=$(now)
  /usr/bin/time -f %M -o "$tmp/rss" promtool tsdb create-blocks-from openmetrics "$file" "$out" >"$tmp/promtool.log" 2>&1 \
    || { cat "$tmp/promtool.log" >&2; exit 1; }
  t1=$(now)
  record promtool wall "$(elapsed "$t0" "$t1")"
  record promtool rss_kb "$(tail -1 "$tmp/rss")"
  record promtool bytes "$(dsize "$out")"
  rm -rf "$out"
}

run_vm() {
  local d=$tmp/vm port t0 t1 stable=0 last=-1 size lines window
  rm -rf "$d"; mkdir -p "$d"
  port=$(free_port)
  "$VM_BIN" -httpListenAddr="127.0.0.1:$port" -storageDataPath="$d/storage" -retentionPeriod=100y \
    -search.latencyOffset=0s -search.maxQueryDuration=10m -search.maxUniqueTimeseries=10000000 \
    >"$d/vm.log" 2>&1 &
  vm_pid=$!
  for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
  t0=$(now)
  # -T streams the file (--data-binary @- would buffer all of it in curl's memory first)
  curl -fsS -X POST -H 'Expect:' -H 'Content-Type: text/plain' -T "$conv" "http://127.0.0.1:$port/api/v1/import/prometheus"
  curl -fsS "http://127.0.0.1:$port/internal/force_flush"
  t1=$(now)
  lines=$(wc -l <"$d/vm.log")
  curl -fsS "http://127.0.0.1:$port/internal/force_merge" >/dev/null
  for _ in $(seq 3600); do # merges done: log says so, none active, size unchanged for 3 polls 1 s apart
    sleep 1
    size=$(dsize "$d/storage/data" "$d/storage/indexdb")
    if tail -n +"$((lines + 1))" "$d/vm.log" | grep -q 'forced merge for partition_prefix="" has been successfully finished' \
      && [ "$(vm_metric_sum "$port" vm_active_merges)" = 0 ] && [ "$size" = "$last" ]; then
      stable=$((stable + 1)); [ "$stable" -ge 3 ] && break
    else stable=0; fi
    last=$size
  done
  # verify: stored samples and series over the whole span
  window=$(( (conv_maxt - conv_mint) / 1000 + 60 ))
  q() { curl -fsS "http://127.0.0.1:$port/api/v1/query" --data-urlencode "query=$1" --data-urlencode "time=$((conv_maxt / 1000 + 1))" \
    | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'; }
  record vm stored "$(q "sum(count_over_time({__name__=~\".+\"}[${window}s]))")"
  record vm series "$(q "count(last_over_time({__name__=~\".+\"}[${window}s]))")"
  record vm wall "$(elapsed "$t0" "$t1")"
  record vm merge_s "$(tail -n +"$((lines + 1))" "$d/vm.log" | sed -n 's/.*partition_prefix="" has been successfully finished in \([0-9.]*\) seconds.*/\1/p' | tail -1)"
  record vm rss_kb "$("$AWK" '/^VmHWM/ {print $2}' "/proc/$vm_pid/status")"
  record vm bytes "$size"
  kill "$vm_pid"; wait "$vm_pid" 2>/dev/null || true; vm_pid=
  rm -rf "$d"
}

run_prombox() {
  local d=$tmp/prombox t0 t1 i ok=1
  rm -rf "$d"; mkdir -p "$d"
  t0=$(now)
  /usr/bin/time -f %M -o "$tmp/rss" "$PROMBOX" store --data "$d" <"$file" >"$tmp/prombox.log" 2>&1 || ok=0
  t1=$(now)
  if [ $ok = 0 ]; then echo "prombox store failed:" >&2; tail -5 "$tmp/prombox.log" >&2; record prombox failed store; return; fi
  record prombox store_wall "$(elapsed "$t0" "$t1")"
  record prombox store_rss_kb "$(tail -1 "$tmp/rss")"
  record prombox store_bytes "$(dsize "$d")"
  t0=$(now)
  /usr/bin/time -f %M -o "$tmp/rss" "$PROMBOX" compact --data "$d" >"$tmp/prombox.log" 2>&1 || ok=0
  t1=$(now)
  if [ $ok = 0 ]; then echo "prombox compact failed:" >&2; tail -5 "$tmp/prombox.log" >&2; record prombox failed compact; return; fi
  record prombox compact_wall "$(elapsed "$t0" "$t1")"
  record prombox compact_rss_kb "$(tail -1 "$tmp/rss")"
  record prombox bytes "$(dsize "$d")"
  for i in 1 2 3 4 5; do
    t0=$(now)
    "$PROMBOX" export --data "$d" --match "$match" >"$tmp/export.out" 2>"$tmp/prombox.log" || ok=0
    t1=$(now)
    if [ $ok = 0 ]; then echo "prombox export failed:" >&2; tail -5 "$tmp/prombox.log" >&2; record prombox failed export; return; fi
    record prombox export_s "$(elapsed "$t0" "$t1")"
  done
  record prombox export_lines "$(wc -l <"$tmp/export.out")"
  rm -rf "$d"
}

for r in $(seq "$runs"); do
  t_run=$(now)
  run_promtool
  run_vm
  if [ $prombox_ok = 1 ]; then run_prombox; fi
  echo "run $r/$runs done in $(elapsed "$t_run" "$(now)") s" >&2
done

python3 - "$res" "$samples" "$prombox_ok" "$vm_expect" "$PROMBOX" "$match" <<'PY'
import statistics, sys
from collections import defaultdict
path, samples, pok, vm_expect, prombox, match = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4]), sys.argv[5], sys.argv[6]
vals, failed = defaultdict(list), []
for line in open(path):
    key, metric, value = line.rstrip("\n").split("\t")
    if metric == "failed":
        failed.append(value)
    else:
        vals[(key, metric)].append(float(value))
med = lambda k, m: statistics.median(vals[(k, m)]) if vals.get((k, m)) else None
mib = lambda kb: f"{kb / 1024:.0f}" if kb is not None else "–"
def row(tool, step, wall, rss_kb, nbytes, note=""):
    sps = f"{samples / wall / 1e6:.2f}" if wall else "–"
    bps = f"{nbytes / samples:.3f}" if nbytes is not None else "–"
    w = f"{wall:.3f}" if wall is not None else "–"
    b = f"{nbytes:,.0f}" if nbytes is not None else "–"
    print(f"| {tool} | {step} | {w} | {mib(rss_kb)} | {sps} | {b} | {bps} | {note} |")
print()
print(f"samples: {samples:,}; medians of {len(vals[('promtool', 'wall')])} run(s)")
print()
print("| tool | step | wall s | peak RSS MiB | M samples/s | disk bytes | bytes/sample | notes |")
print("|---|---|---:|---:|---:|---:|---:|---|")
row("promtool", "create-blocks-from openmetrics", med("promtool", "wall"), med("promtool", "rss_kb"), med("promtool", "bytes"),
    "RSS includes the mmapped input")
stored, series = med("vm", "stored"), med("vm", "series")
row("victoria-metrics", "import + force_flush", med("vm", "wall"), med("vm", "rss_kb"), med("vm", "bytes"),
    f"bytes after force_merge ({med('vm', 'merge_s'):.2f} s by VM's log); stored {stored:,.0f} samples"
    f" ({'=' if stored == vm_expect else '≠'} {vm_expect:,} non-NaN), {series:,.0f} series; RSS = server VmHWM")
if not pok:
    print(f"| prombox | store / compact / export | – | – | – | – | – | not built (`{prombox} store --help` failed) |")
elif failed:
    print(f"| prombox | {', '.join(sorted(set(failed)))} | – | – | – | – | – | failed (see stderr) |")
else:
    sw, cw = med("prombox", "store_wall"), med("prombox", "compact_wall")
    sr, cr = med("prombox", "store_rss_kb"), med("prombox", "compact_rss_kb")
    row("prombox", "store", sw, sr, med("prombox", "store_bytes"), "bytes before compact")
    row("prombox", "compact", cw, cr, med("prombox", "bytes"))
    row("prombox", "store + compact", sw + cw, max(sr, cr), med("prombox", "bytes"))
    print(f"| prombox | export 1 series | {med('prombox', 'export_s'):.3f} | – | – | – | – | median of 5, `{match}`, "
          f"{med('prombox', 'export_lines'):.0f} output lines |")
    pt_w, pt_r, pt_b = med("promtool", "wall"), med("promtool", "rss_kb"), med("promtool", "bytes")
    print()
    print("| prombox / promtool | ratio |")
    print("|---|---:|")
    print(f"| bytes/sample | {med('prombox', 'bytes') / pt_b:.2f} |")
    print(f"| throughput (store+compact samples/s) | {pt_w / (sw + cw):.2f} |")
    print(f"| peak RSS (max of store, compact) | {max(sr, cr) / pt_r:.2f} |")
    print(f"| bytes/sample vs victoria-metrics (info) | {med('prombox', 'bytes') / med('vm', 'bytes'):.2f} |")
PY
