#!/usr/bin/env python3
"""Scrape benchmark: one cron-style `prombox scrape` round over 200 local targets serving the
real node_exporter exposition, and Prometheus scraping the same targets, in one run.

    tests/bench/scrape.py [TARGETS] [RUNS]      defaults: 200 targets, 7 runs; medians

The script:
  1. starts prometheus-node-exporter on 127.0.0.1 (random port) and records one exposition
     of this host (about 500 series), plain and gzipped;
  2. serves it from one local server (python asyncio) on TARGETS paths, gzipped when
     asked, as node_exporter answers;
  3. runs `prombox scrape --config bench.yml --data DIR` RUNS times on the same data dir, as
     cron would (the first run has no state, later ones mark staleness against it): wall
     time, CPU time (user + sys) and peak RSS of the whole process (wait4), and samples/s
     stored (from `scrape_samples_post_metric_relabeling` plus the report series);
  4. runs one more round with `--concurrency 1` (one target at a time), then starts
     `prometheus` scraping the same targets every 5 s and compares the per-target
     `scrape_duration_seconds` (fetch + parse + append, as both measure it; medians over
     targets), and the CPU per target scrape (prombox: the whole process / targets;
     Prometheus: its process CPU over 20 s / the scrapes in them).

Needs: prometheus-node-exporter and prometheus (Debian packages), python3. Builds nothing:
set PROMBOX (default target/release/prombox). Goal: <= 1 s wall and <= 1 CPU-s per round.
"""

import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

PROMBOX = os.environ.get("PROMBOX", "target/release/prombox")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read()
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"no answer from {url}")


def exposition():
    port = free_port()
    ne = subprocess.Popen(
        ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        return wait_http(f"http://127.0.0.1:{port}/metrics")
    finally:
        ne.kill()
        ne.wait()


def serve(body):
    """An asyncio HTTP/1.1 server in a thread (a thread per connection would make the
    server, not the scraper, the bottleneck)."""
    import asyncio

    zipped = gzip.compress(body, 6)

    def head(data, gz):
        h = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
        if gz:
            h += "Content-Encoding: gzip\r\n"
        return (h + f"Content-Length: {len(data)}\r\n\r\n").encode()

    plain_resp = head(body, False) + body
    gz_resp = head(zipped, True) + zipped

    async def handle(reader, writer):
        try:
            while True:
                req = await reader.readuntil(b"\r\n\r\n")
                writer.write(gz_resp if b"gzip" in req.lower() else plain_resp)
                await writer.drain()
        except Exception:
            pass
        finally:
            writer.close()

    ready = threading.Event()
    port = [0]

    def run():
        loop = asyncio.new_event_loop()
        srv = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024))
        port[0] = srv.sockets[0].getsockname()[1]
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    ready.wait()
    return port[0]


def config(port, n, interval):
    lines = [f"global:\n  scrape_interval: {interval}\n  scrape_timeout: {interval}\nscrape_configs:\n- job_name: bench\n  static_configs:\n"]
    for i in range(n):
        lines.append(f"  - targets: ['127.0.0.1:{port}']\n    labels: {{__metrics_path__: /t{i}, instance: t{i}}}\n")
    return "".join(lines)


def run_measured(args):
    start = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    err = p.stderr.read().decode()
    if status != 0:
        raise SystemExit(f"{args}: exit {status}: {err}")
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024, err


def query(data, q):
    out = subprocess.run([PROMBOX, "query", "--data", data, "--format", "json", q], capture_output=True, check=True)
    return json.loads(out.stdout)["data"]["result"]


def check_tools():
    """Everything the run needs, before anything starts."""
    for tool, package in (("prometheus-node-exporter", "prometheus-node-exporter"),
                          ("prometheus", "prometheus")):
        if not shutil.which(tool):
            print(f"scrape.py: {tool} not installed (apt-get install {package})", file=sys.stderr)
            sys.exit(2)
    if not os.access(PROMBOX, os.X_OK):
        print(f"scrape.py: {PROMBOX} not found (cargo build --release, or set PROMBOX)",
              file=sys.stderr)
        sys.exit(2)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 7
    check_tools()
    body = exposition()
    series = sum(1 for l in body.decode().splitlines() if l and not l.startswith("#"))
    port = serve(body)
    work = tempfile.mkdtemp(prefix="prombox-bench-scrape-")
    try:
        cfg = os.path.join(work, "bench.yml")
        with open(cfg, "w") as f:
            f.write(config(port, n, "5s"))
        data = os.path.join(work, "data")
        walls, cpus, rsss = [], [], []
        for _ in range(runs):
            wall, cpu, rss, err = run_measured([PROMBOX, "scrape", "--config", cfg, "--data", data])
            if err.strip():
                print(err.strip())
            walls.append(wall)
            cpus.append(cpu)
            rsss.append(rss)
            time.sleep(0.2)
        ups = query(data, 'sum(up{job="bench"})')
        post = query(data, 'sum(scrape_samples_post_metric_relabeling{job="bench"})')
        # Per-target cost without contention: one round with one target at a time.
        time.sleep(0.2)
        run_measured([PROMBOX, "scrape", "--config", cfg, "--data", data, "--concurrency", "1"])
        ours = [float(s["value"][1]) for s in query(data, 'scrape_duration_seconds{job="bench"}')]
        stored = float(post[0]["value"][1]) + 5 * n
        wall = statistics.median(walls)
        print(f"exposition: {series} samples, {len(body)} bytes ({len(gzip.compress(body, 6))} gzipped)")
        print(f"prombox scrape, {n} targets, median of {runs} rounds:")
        print(f"  wall {wall*1000:.0f} ms   CPU {statistics.median(cpus)*1000:.0f} ms   peak RSS {statistics.median(rsss):.0f} MiB")
        print(f"  targets up {float(ups[0]['value'][1]):.0f}/{n}, {stored:.0f} samples per round, {stored / wall:,.0f} samples/s")
        print(f"  all rounds (wall ms): {' '.join(f'{w*1000:.0f}' for w in walls)}")

        # Prometheus on the same targets.
        pport = free_port()
        pdir = os.path.join(work, "prom")
        prom = subprocess.Popen(
            ["prometheus", f"--config.file={cfg}", f"--storage.tsdb.path={pdir}", f"--web.listen-address=127.0.0.1:{pport}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{pport}/-/ready")
            time.sleep(11)
            hz = os.sysconf("SC_CLK_TCK")

            def cpu():
                f = open(f"/proc/{prom.pid}/stat").read().rsplit(")", 1)[1].split()
                return (int(f[11]) + int(f[12])) / hz

            c0, t0 = cpu(), time.time()
            time.sleep(20)
            c1, t1 = cpu(), time.time()
            prom_cpu_per_scrape = (c1 - c0) / (n * (t1 - t0) / 5)
            q = urllib.parse.urlencode({"query": 'scrape_duration_seconds{job="bench"}'})
            res = json.loads(wait_http(f"http://127.0.0.1:{pport}/api/v1/query?{q}"))["data"]["result"]
            theirs = [float(s["value"][1]) for s in res]
        finally:
            prom.kill()
            prom.wait()
        mo, mt = statistics.median(ours), statistics.median(theirs)
        print(f"per-target scrape_duration_seconds (fetch + parse + append), median over {n} targets:")
        print(f"  prombox {mo*1000:.2f} ms (one target at a time)   Prometheus {mt*1000:.2f} ms   ratio {mo/mt:.2f}")
        print("CPU per target scrape:")
        ours_cpu = statistics.median(cpus) / n
        print(f"  prombox {ours_cpu*1000:.2f} ms (whole process / {n}: start, state, segment commit included)   "
              f"Prometheus {prom_cpu_per_scrape*1000:.2f} ms (process CPU over 20 s / scrapes)   ratio {ours_cpu/prom_cpu_per_scrape:.2f}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
