#!/usr/bin/env python3
"""PromQL benchmark: prombox against Prometheus on the same data, side by side in one run.

    tests/bench/promql.py DATASET.om [RUNS]        RUNS defaults to 5; figures are medians

DATASET is real.om or scaled.om from ../shared/datasets/make.sh. The script:
  1. loads it into a prombox data dir (`store` + `compact`, untimed),
  2. backfills it into a Prometheus TSDB (`promtool tsdb create-blocks-from openmetrics`,
     untimed) and starts `prometheus` on 127.0.0.1 (random port) over it,
  3. runs each range query over the dataset's whole span at step 60 s: Prometheus through
     its HTTP API (warm: one untimed run first, then RUNS timed, latency as curl would see
     it), prombox as a whole process (`prombox query --format json`, start-up included,
     RUNS timed),
  4. checks the two results are equal (same series, same timestamps, values within 1e-6
     relative; NaN equal to NaN) and prints the medians and prombox/Prometheus ratios.

Needs: prometheus and promtool (Debian package prometheus), python3. Builds nothing: set
PROMBOX (default target/release/prombox). Temp dirs live under target/bench-tmp.
"""

import json
import math
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
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
    for tool in ("prometheus", "promtool"):
        if not shutil.which(tool):
            print(f"promql.py: {tool} not installed (apt-get install prometheus)", file=sys.stderr)
            sys.exit(2)
    stats = json.load(open(dataset[: -len(".om")] + ".stats.json"))
    start = math.ceil(stats["mint_ms"] / 1000)
    end = math.floor(stats["maxt_ms"] / 1000)
    os.makedirs(os.path.join(root, "target/bench-tmp"), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.join(root, "target/bench-tmp"), prefix="promql.")
    prom = None
    try:
        data = os.path.join(tmp, "prombox")
        with open(dataset, "rb") as f:
            subprocess.run([prombox, "store", "--data", data], stdin=f, check=True)
        subprocess.run([prombox, "compact", "--data", data, "-q"], check=True)
        tsdb = os.path.join(tmp, "prom")
        subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", dataset, tsdb],
                       check=True, stdout=subprocess.DEVNULL)
        cfg = os.path.join(tmp, "prometheus.yml")
        open(cfg, "w").write("global:\n  scrape_interval: 1h\nscrape_configs: []\n")
        port = free_port()
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={tsdb}",
             f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=100y",
             "--query.max-samples=500000000"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        print(f"dataset {os.path.basename(dataset)}: {stats['series']} series, "
              f"{stats['samples']} samples, {end - start} s at step 60 s; medians of {runs}")
        print(f"{'query':<20} {'Prometheus ms':>14} {'prombox ms':>11} {'ratio':>6}  result")
        for name, q in QUERIES:
            params = urllib.parse.urlencode({"query": q, "start": start, "end": end, "step": 60})
            url = f"{base}/api/v1/query_range?{params}"
            ref = json.load(urllib.request.urlopen(url, timeout=600))
            ptimes = []
            for _ in range(runs):
                t0 = time.perf_counter()
                urllib.request.urlopen(url, timeout=600).read()
                ptimes.append(time.perf_counter() - t0)
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
                print(f"{name:<20} prombox failed: {out.stderr.decode()[:200]}")
                continue
            ok, why = equal(json.loads(out.stdout), ref)
            pm, bm = statistics.median(ptimes) * 1000, statistics.median(btimes) * 1000
            print(f"{name:<20} {pm:>14.1f} {bm:>11.1f} {bm / pm:>6.2f}  "
                  f"{'equal' if ok else 'DIFFERENT'} ({why})")
    finally:
        if prom:
            prom.terminate()
            prom.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
