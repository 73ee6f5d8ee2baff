#!/usr/bin/env python3
"""Gateway benchmark: `prombox gateway` against the Pushgateway, side by side in one run.

    tests/bench/gateway.py [PUSHES] [CLIENTS] [RUNS]

Both gateways get the same workload: PUSHES pushes (default 1,000) of real node_exporter
scrapes (507 series each, from ../shared/datasets/node-exporter-captures.tar.zst, unpacked
under target/datasets/captures) into 100 groups (job="node", instance="host-00".."host-99"),
PUT from CLIENTS concurrent keep-alive clients (default 8). prombox gateway fsyncs every
push before acknowledging it; the Pushgateway persists to its file every 5 minutes (its
only mode). Reported: pushes/s, the server's peak RSS (VmHWM),
and the median time of `GET /metrics` over all 100 groups (RUNS scrapes, default 7). The
pushes go in 5 rounds; pushes/s is the median of the rounds' rates.
Ratios are prombox/Pushgateway (pushes/s: higher is better; time and memory: lower).
prombox is $PROMBOX (default target/release/prombox; this script never builds it).
Needs: prometheus-pushgateway (Debian), python3, zstd and tar for the captures.
"""
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
PROMBOX = os.environ.get("PROMBOX", os.path.join(ROOT, "target", "release", "prombox"))


def die(msg):
    print(f"gateway.py: {msg}", file=sys.stderr)
    sys.exit(2)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def captures():
    d = os.path.join(ROOT, "target", "datasets", "captures")
    if not os.path.isdir(d) or not os.listdir(d):
        tarball = os.path.join(ROOT, "..", "shared", "datasets", "node-exporter-captures.tar.zst")
        if not os.path.exists(tarball):
            die(f"no {tarball} (the shared folder must sit beside the repository)")
        os.makedirs(d, exist_ok=True)
        tmp = tempfile.mkdtemp()
        subprocess.run(["tar", "--zstd", "-xf", tarball, "-C", tmp], check=True)
        for root, _, files in os.walk(tmp):
            for f in files:
                if f.endswith(".prom"):
                    shutil.move(os.path.join(root, f), os.path.join(d, f))
        shutil.rmtree(tmp)
    files = sorted(os.listdir(d))[:100]
    if not files:
        die(f"no captures in {d}")
    return [open(os.path.join(d, f), "rb").read() for f in files]


def wait_ready(port):
    for _ in range(400):
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/-/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.025)
    die(f"the gateway on port {port} did not start")


def vmhwm_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def workload(port, bodies, pushes, clients):
    """PUTs `pushes` bodies into 100 groups from `clients` threads; returns pushes/s."""
    counter = iter(range(pushes))
    lock = threading.Lock()
    errors = []

    def client():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                return
            body = bodies[i % len(bodies)]
            path = f"/metrics/job/node/instance/host-{i % 100:02d}"
            c.request("PUT", path, body=body, headers={"Content-Type": "text/plain; version=0.0.4"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                errors.append((r.status, path))
                return

    threads = [threading.Thread(target=client) for _ in range(clients)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    if errors:
        die(f"pushes refused: {errors[:3]}")
    return pushes / elapsed


def scrape_time(port, runs):
    times = []
    size = 0
    for _ in range(runs):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        t = time.perf_counter()
        c.request("GET", "/metrics")
        b = c.getresponse().read()
        times.append(time.perf_counter() - t)
        size = len(b)
    return statistics.median(times), size


ROUNDS = 5


def main():
    pushes = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 8
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 7
    if not shutil.which("prometheus-pushgateway"):
        die("prometheus-pushgateway not installed (apt-get install prometheus-pushgateway)")
    if not os.access(PROMBOX, os.X_OK):
        die(f"{PROMBOX} does not run (cargo build --release)")
    bodies = captures()
    work = tempfile.mkdtemp(prefix="gateway-bench-")
    rows = {}
    try:
        for name in ["pushgateway", "prombox"]:
            port = free_port()
            if name == "pushgateway":
                cmd = ["prometheus-pushgateway", f"--web.listen-address=127.0.0.1:{port}",
                       f"--persistence.file={work}/pgw.data"]
            else:
                cmd = [PROMBOX, "gateway", "--listen", f"127.0.0.1:{port}", "--data", f"{work}/prombox"]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_ready(port)
                # The pushes in ROUNDS rounds, the median rate reported (the machine is noisy).
                rate = statistics.median(
                    workload(port, bodies, pushes // ROUNDS, clients) for _ in range(ROUNDS))
                scrape, size = scrape_time(port, runs)
                rows[name] = (rate, vmhwm_mib(p.pid), scrape, size)
            finally:
                p.kill()
                p.wait()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pg, pb = rows["pushgateway"], rows["prombox"]
    print(f"{pushes} pushes of 507 series into 100 groups, {clients} clients, pushes/s median of "
          f"{ROUNDS} rounds; GET /metrics median of {runs}")
    print(f"{'figure':<28}{'Pushgateway':>14}{'prombox':>14}{'ratio':>9}")
    print(f"{'pushes/s':<28}{pg[0]:>14.1f}{pb[0]:>14.1f}{pb[0] / pg[0]:>9.2f}")
    print(f"{'peak RSS, MiB':<28}{pg[1]:>14.0f}{pb[1]:>14.0f}{pb[1] / pg[1]:>9.2f}")
    print(f"{'GET /metrics, ms':<28}{pg[2] * 1000:>14.1f}{pb[2] * 1000:>14.1f}{pb[2] / pg[2]:>9.2f}")
    print(f"{'GET /metrics, bytes':<28}{pg[3]:>14}{pb[3]:>14}")


if __name__ == "__main__":
    main()
