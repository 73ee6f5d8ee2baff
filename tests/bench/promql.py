#!/usr/bin/env python3
"""PromQL benchmark: prombox against Prometheus on the same data, side by side in one run.

    tests/bench/promql.py DATASET.om [RUNS]        RUNS defaults to 5; figures are medians

DATASET is real.om or scaled.om from ../shared/datasets/make.sh. The script:
  1. loads it into a prombox data dir (`store` + `compact`, untimed),
  2. backfills it into a Prometheus TSDB (`promtool tsdb create-blocks-from openmetrics`,
     untimed) and starts `prometheus` on 127.0.0.1 (random port) over it,
  3. imports it into VictoriaMetrics (`prombox export --format jsonl` into
     /api/v1/import, untimed) and starts `victoria-metrics` on 127.0.0.1 over it, when the
     Debian package victoria-metrics is installed,
  4. runs each range query over the dataset's whole span at step 60 s: Prometheus and
     VictoriaMetrics through their HTTP APIs (warm: one untimed run first, then RUNS timed,
     latency as curl would see it; VictoriaMetrics with nocache=1), prombox as a whole
     process (`prombox query --format json`, start-up included, RUNS timed),
  5. checks prombox's result equals Prometheus's (same series, same timestamps, values
     within 1e-6 relative; NaN equal to NaN) and prints the medians and the ratios
     prombox/Prometheus and prombox/VictoriaMetrics. VictoriaMetrics' MetricsQL differs from
     PromQL in places; whether its result equals Prometheus's is shown, not required.

The loaded stores are kept in target/bench-cache/<dataset>/ (the loads take minutes on
scaled.om) and reused while the dataset file is unchanged; BENCH_FRESH=1 reloads them.

Needs: prometheus and promtool (Debian package prometheus), curl, python3; optionally
victoria-metrics. Builds nothing: set PROMBOX (default target/release/prombox).
"""

import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

QUERIES = [
    ("rate sum", 'sum by (instance) (rate(node_cpu_seconds_total[5m]))'),
    ("quantile_over_time", 'quantile_over_time(0.9, node_scrape_collector_duration_seconds[30m])'),
    ("count by name", 'count by (__name__) ({__name__=~".+"})'),
    ("histogram_quantile",
     'histogram_quantile(0.9, sum by (le, handler) (rate(prometheus_http_request_duration_seconds_bucket[5m])))'),
    ("group_left join",
     'rate(node_network_receive_bytes_total[5m]) * on (instance) group_left (nodename) node_uname_info'),
    ("subquery", 'max_over_time(rate(node_cpu_seconds_total{mode="idle"}[1m])[10m:1m])'),
]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def close(a, b):
    if a == b:
        return True
    if math.isnan(a) and math.isnan(b):
        return True
    if a == 0 or b == 0:
        return abs(a - b) < 1e-9
    return abs(a - b) / (abs(a) + abs(b)) < 1e-6


def fval(s):
    return float(s.replace("+Inf", "inf").replace("-Inf", "-inf"))


def equal(a, b):
    """Compares two API matrix results; returns (equal, reason)."""
    ra = {json.dumps(s["metric"], sort_keys=True): s["values"] for s in a["data"]["result"]}
    rb = {json.dumps(s["metric"], sort_keys=True): s["values"] for s in b["data"]["result"]}
    if ra.keys() != rb.keys():
        only_a = list(ra.keys() - rb.keys())[:2]
        only_b = list(rb.keys() - ra.keys())[:2]
        return False, f"series differ ({len(ra)} vs {len(rb)}): {only_a} / {only_b}"
    for k in ra:
        va, vb = ra[k], rb[k]
        if [p[0] for p in va] != [p[0] for p in vb]:
            return False, f"timestamps differ for {k}"
        for pa, pb in zip(va, vb):
            if not close(fval(pa[1]), fval(pb[1])):
                return False, f"value differs for {k} at {pa[0]}: {pa[1]} vs {pb[1]}"
    return True, f"{len(ra)} series"


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    dataset = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
    prombox = os.environ.get("PROMBOX", os.path.join(root, "target/release/prombox"))
    for tool in ("prometheus", "promtool", "curl"):
        if not shutil.which(tool):
            print(f"promql.py: {tool} not installed (apt-get install prometheus curl)",
                  file=sys.stderr)
            sys.exit(2)
    if not os.access(prombox, os.X_OK):
        print(f"promql.py: {prombox} not found (cargo build --release, or set PROMBOX)",
              file=sys.stderr)
        sys.exit(2)
    if not os.path.exists(dataset):
        print(f"promql.py: no dataset {dataset} "
              "(bash ../shared/datasets/make.sh target/datasets all)", file=sys.stderr)
        sys.exit(2)
    with_vm = shutil.which("victoria-metrics") is not None
    if not with_vm:
        print("promql.py: victoria-metrics not installed (apt-get install victoria-metrics): "
              "its column is left out", file=sys.stderr)
    stats = json.load(open(dataset[: -len(".om")] + ".stats.json"))
    start = math.ceil(stats["mint_ms"] / 1000)
    end = math.floor(stats["maxt_ms"] / 1000)
    name = os.path.basename(dataset)[: -len(".om")]
    cache = os.path.join(root, "target/bench-cache", name)
    st = os.stat(dataset)
    stamp = f"{st.st_size} {st.st_mtime_ns}\n"
    stamp_file = os.path.join(cache, "dataset.stamp")
    if os.environ.get("BENCH_FRESH") or not os.path.exists(stamp_file) \
            or open(stamp_file).read() != stamp:
        shutil.rmtree(cache, ignore_errors=True)
        os.makedirs(cache)
        open(stamp_file, "w").write(stamp)
    data = os.path.join(cache, "prombox")
    tsdb = os.path.join(cache, "prom")
    vmdata = os.path.join(cache, "vm")
    procs = []
    try:
        if not os.path.exists(data + ".done"):
            shutil.rmtree(data, ignore_errors=True)
            with open(dataset, "rb") as f:
                subprocess.run([prombox, "store", "--data", data], stdin=f, check=True)
            subprocess.run([prombox, "compact", "--data", data, "-q"], check=True)
            open(data + ".done", "w").close()
        if not os.path.exists(tsdb + ".done"):
            shutil.rmtree(tsdb, ignore_errors=True)
            subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", dataset,
                            tsdb], check=True, stdout=subprocess.DEVNULL)
            open(tsdb + ".done", "w").close()
        cfg = os.path.join(cache, "prometheus.yml")
        open(cfg, "w").write("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        port = free_port()
        procs.append(subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
             "--query.max-samples=500000000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        wait_ready(base + "/-/ready")
        vm = None
        if with_vm:
            vport = free_port()
            procs.append(subprocess.Popen(
                ["victoria-metrics", f"-storageDataPath={vmdata}",
                 f"-httpListenAddr=127.0.0.1:{vport}", "-retentionPeriod=100y",
                 "-search.maxUniqueTimeseries=10000000", "-search.latencyOffset=0s"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            vm = f"http://127.0.0.1:{vport}"
            wait_ready(vm + "/health")
            if not os.path.exists(vmdata + ".done"):
                export = subprocess.Popen([prombox, "export", "--data", data, "--format",
                                           "jsonl"], stdout=subprocess.PIPE)
                subprocess.run(["curl", "-sSf", "-X", "POST", "-T", "-",
                                vm + "/api/v1/import"], stdin=export.stdout, check=True)
                export.stdout.close()
                if export.wait() != 0:
                    raise SystemExit("promql.py: prombox export failed")
                urllib.request.urlopen(vm + "/internal/force_flush", timeout=600).read()
                open(vmdata + ".done", "w").close()
        print(f"dataset {os.path.basename(dataset)}: {stats['series']} series, "
              f"{stats['samples']} samples, {end - start} s at step 60 s; medians of {runs}")
        head = f"{'query':<20} {'Prometheus ms':>14} {'prombox ms':>11} {'ratio':>6}"
        if vm:
            head += f" {'VM ms':>9} {'ratio':>6}"
        print(head + "  result")
        for qname, q in QUERIES:
            params = {"query": q, "start": start, "end": end, "step": 60}
            url = f"{base}/api/v1/query_range?{urllib.parse.urlencode(params)}"
            ref = json.load(urllib.request.urlopen(url, timeout=600))
            ptimes = http_times(url, runs)
            vtimes, vm_same = None, None
            if vm:
                vurl = f"{vm}/api/v1/query_range?" + urllib.parse.urlencode(
                    {**params, "nocache": 1})
                vres = json.load(urllib.request.urlopen(vurl, timeout=600))
                vm_same = equal(vres, ref)[0]
                vtimes = http_times(vurl, runs)
            cmd = [prombox, "query", "--data", data, "--start", str(start), "--end", str(end),
                   "--step", "60s", "--format", "json", q]
            btimes = []
            out = None
            for _ in range(runs):
                t0 = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, check=False)
                btimes.append(time.perf_counter() - t0)
                out = r
            if out.returncode != 0:
                print(f"{qname:<20} prombox failed: {out.stderr.decode()[:200]}")
                continue
            ok, why = equal(json.loads(out.stdout), ref)
            pm, bm = statistics.median(ptimes) * 1000, statistics.median(btimes) * 1000
            line = f"{qname:<20} {pm:>14.1f} {bm:>11.1f} {bm / pm:>6.2f}"
            if vtimes:
                vmm = statistics.median(vtimes) * 1000
                line += f" {vmm:>9.1f} {bm / vmm:>6.2f}"
            line += f"  {'equal' if ok else 'DIFFERENT'} ({why})"
            if vm:
                line += "; VM " + ("equal" if vm_same else "differs")
            print(line)
    finally:
        for p in procs:
            p.terminate()
            p.wait()


def wait_ready(url):
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"promql.py: {url} not ready after 2 minutes")


def http_times(url, runs):
    """Latency of RUNS requests after one untimed warm-up (done by the caller)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        urllib.request.urlopen(url, timeout=600).read()
        times.append(time.perf_counter() - t0)
    return times


if __name__ == "__main__":
    main()
