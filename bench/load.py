"""Load test of the real app: N concurrent gradio_client users for a fixed time.

Starts ``python app.py --port P`` on loopback (shipped models, or ``--models DIR``; a
temporary ``--runs`` folder so no job worker starts), warms it up with one request per
endpoint, then runs ``--users`` users, each with its own ``gradio_client.Client`` (its own
session), each looping ``/classify`` and ``/segment`` back to back (no think time) with real
images from ``../shared`` written as PNGs, for ``--seconds``. A request still in flight at the
end is waited for (up to ``--timeout``) and counted.

The users run in ``--client-processes`` separate processes (threads inside), so the
client's Python does not share the server's GIL; their CPU time is measured (getrusage)
and reported beside the server's (``/proc/PID/stat``) and the whole machine's
(``/proc/stat``), so the client overhead on the same cores is visible. The server's RSS is
read before and after the run.

``--explain`` makes each user behave like the Classify tab in a browser: every answered
``/classify`` is followed by its ``/explain`` (the occlusion map, queued one at a time by the
app), recorded as its own endpoint; the p95 target applies to ``/classify`` and ``/segment``.

Reports, per endpoint: requests, errors, p50/p95/p99/max latency and throughput.
Target (issue 7): 20 users for 60 s, every request answered, p95 <= 1 s, no error.

Usage::

    python bench/load.py [--users 20] [--seconds 60] [--client-processes 2] [--concurrency N]
                         [--models DIR] [--out bench/results/load.json]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import queue
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS, ROOT, SHARED, command_line, load_average, machine, table, write_json  # noqa: E402

ENDPOINTS = ("classify", "segment")
TARGET_P95_MS = 1000.0
CLOCK = os.sysconf("SC_CLK_TCK")


# ----------------------------------------------------------------------------- inputs and the server
def write_images(folder: Path, shared: Path, n: int) -> dict[str, list[str]]:
    """``n`` real blood-cell PNGs (from pbc96, classes in turn) and ``n`` real 64x128 Mars PNGs."""
    import numpy as np
    from PIL import Image

    pbc, mars = shared / "data" / "blood" / "pbc96", shared / "data" / "mars" / "mars_dev.npz"
    if not pbc.is_dir() or not mars.is_file():
        raise SystemExit(f"error: the load test reads real images from {shared}/data (blood/pbc96, "
                         f"mars/mars_dev.npz); set --shared or AUTOBOT_SHARED")
    folder.mkdir(parents=True, exist_ok=True)
    classes = [sorted(d.glob("*.jpg")) for d in sorted(pbc.iterdir()) if d.is_dir()]
    files: dict[str, list[str]] = {"classify": [], "segment": []}
    for i in range(n):
        source = classes[i % len(classes)][i // len(classes)]
        path = folder / f"cell_{i}.png"
        Image.open(source).convert("RGB").save(path)
        files["classify"].append(str(path))
    with np.load(mars) as data:
        frames = data["training_set"]
        rows = np.linspace(0, len(frames) - 1, n).astype(int)
        for i, row in enumerate(rows):
            path = folder / f"terrain_{i}.png"
            Image.fromarray(frames[row, 0]).save(path)
            files["segment"].append(str(path))
    return files


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(args, runs: Path, log: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "app.py", "--port", str(port), "--runs", str(runs)]
    if args.models:
        command += ["--models", str(args.models)]
    if args.concurrency:
        command += ["--concurrency", str(args.concurrency)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, f"http://127.0.0.1:{port}/"
        except OSError:
            if process.poll() is not None:
                break
            time.sleep(0.5)
    process.kill()
    raise SystemExit(f"error: app.py did not start; its output:\n{log.read_text()[-3000:]}")


def proc_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK


def proc_memory_mb(pid: int) -> dict[str, float]:
    """Resident (VmRSS) and peak resident (VmHWM) memory of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": out.get("VmRSS"), "peak_rss_mb": out.get("VmHWM")}


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (``/proc/stat``: everything but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values[:8]) - values[3] - values[4]) / CLOCK


def sample_rss(pid: int, start: float, out: list, stop: threading.Event, every: float = 5.0) -> None:
    """``(seconds since start, RSS MB)`` of the server every ``every`` seconds until ``stop``."""
    while not stop.wait(every):
        try:
            out.append((round(time.time() - start, 1), proc_memory_mb(pid)["rss_mb"]))
        except OSError:
            return


# ----------------------------------------------------------------------------- clients
_SSL_CONTEXT = None


def make_client(url: str, download_dir: str, shared_ssl: bool = True):
    """A gradio_client.Client that reuses one SSL context for all its HTTP calls.

    gradio_client opens a fresh httpx client for every upload, queue join, event stream and
    download, and each builds an SSL context from the certifi bundle (~22 ms CPU here), even
    for plain http: ~100 ms of client CPU per request, which on 2 shared cores starves the
    server it measures. httpx accepts a ready ``ssl.SSLContext`` as ``verify`` and
    gradio_client passes ``ssl_verify`` through as that, so one context per process brings
    the client's cost down to a few ms per request (measured and reported by the bench).
    """
    import ssl

    from gradio_client import Client

    global _SSL_CONTEXT
    if _SSL_CONTEXT is None:
        _SSL_CONTEXT = ssl.create_default_context()
    return Client(url, verbose=False, analytics_enabled=False, download_files=download_dir,
                  ssl_verify=_SSL_CONTEXT if shared_ssl else True)


def check_answer(endpoint: str, answer) -> str | None:
    """None when a response looks like what the endpoint promises, else what is wrong."""
    if not isinstance(answer, (list, tuple)) or len(answer) != {"classify": 3, "explain": 2}.get(endpoint, 4):
        return f"unexpected answer shape: {type(answer).__name__}"
    if endpoint == "classify":
        label, votes, summary = answer
        if not (isinstance(label, dict) and label.get("label") and "agree" in str(summary)):
            return "classify answer without a label or an agreement summary"
    elif endpoint == "explain":
        heatmap, sentence = answer
        if not (heatmap and os.path.exists(heatmap) and sentence):
            return "explain answer without a heatmap file or its sentence"
    else:
        shown, shares, uncertainty, note = answer
        if not (shown and os.path.exists(shown) and isinstance(shares, dict) and "Segmented" in str(note)):
            return "segment answer without an overlay, shares or note"
    return None


def user_loop(client, user: int, users: int, files: dict[str, list[str]], deadline: float, timeout: float,
              records: list, explain: bool = False) -> None:
    """Alternate the endpoints; user ``u`` sends images ``u, u + users, ...`` of each (no repeats until they run out)."""
    from gradio_client import handle_file

    k = 0
    while time.time() < deadline:
        endpoint = ENDPOINTS[(user + k) % 2]
        images = files[endpoint]
        path = images[(user + (k // 2) * users) % len(images)]
        calls = [endpoint, "explain"] if endpoint == "classify" and explain else [endpoint]
        for call in calls:
            start, error = time.time(), None
            try:
                answer = client.submit(handle_file(path), api_name=f"/{call}").result(timeout=timeout)
                error = check_answer(call, answer)
            except TimeoutError:
                error = f"no answer within {timeout:.0f} s"
            except Exception as err:  # noqa: BLE001  (every failure is counted and sampled)
                error = f"{type(err).__name__}: {err}"[:300]
            records.append((call, start, time.time() - start, error))
            if error:
                break
        k += 1


def client_process(users: list[int], n_users: int, url: str, files, seconds: float, timeout: float, barrier, results,
                   nice: int, download_dir: str, shared_ssl: bool, explain: bool = False) -> None:
    """One client process: its users' Clients, then (after the barrier) their loops in threads."""
    if nice:
        os.nice(nice)
    setup_start = time.time()
    clients = [make_client(url, download_dir, shared_ssl) for _ in users]
    setup = time.time() - setup_start
    barrier.wait()
    cpu_start, start = resource.getrusage(resource.RUSAGE_SELF), time.time()
    deadline = start + seconds
    records: list = []
    threads = [threading.Thread(target=user_loop, args=(c, u, n_users, files, deadline, timeout, records, explain),
                                daemon=True)
               for c, u in zip(clients, users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout + 30)
    cpu_end = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu_end.ru_utime - cpu_start.ru_utime) + (cpu_end.ru_stime - cpu_start.ru_stime)
    stuck = sum(t.is_alive() for t in threads)
    results.put({"records": list(records), "cpu_s": cpu, "start": start, "setup_s": setup, "stuck_users": stuck})
    for c in clients:
        try:
            c.close()
        except Exception:  # noqa: BLE001
            pass


def warm_up(url: str, files, download_dir: str) -> None:
    """One request per endpoint first: the server traces its model functions on the first call."""
    from gradio_client import handle_file

    client = make_client(url, download_dir)
    for endpoint in ENDPOINTS:
        for path in files[endpoint][:2]:
            problem = check_answer(endpoint, client.predict(handle_file(path), api_name=f"/{endpoint}"))
            if problem:
                raise SystemExit(f"error: warm-up /{endpoint}: {problem}")
    client.close()


# ----------------------------------------------------------------------------- report
def summarize(records: list, wall: float) -> dict:
    import numpy as np

    out = {}
    for endpoint in (*ENDPOINTS, *({r[0] for r in records} - set(ENDPOINTS)), "all"):
        rows = [r for r in records if endpoint in ("all", r[0])]
        ok = np.array([r[2] for r in rows if r[3] is None]) * 1000
        errors = [r[3] for r in rows if r[3] is not None]
        stats = {"requests": len(rows), "ok": int(len(ok)), "errors": len(errors),
                 "error_samples": sorted(set(errors))[:5],
                 "throughput_per_s": round(len(ok) / wall, 2) if wall > 0 else 0.0}
        for name, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
            stats[name] = round(float(np.percentile(ok, q)), 1) if len(ok) else None
        stats["max_ms"] = round(float(ok.max()), 1) if len(ok) else None
        stats["mean_ms"] = round(float(ok.mean()), 1) if len(ok) else None
        out[endpoint] = stats
    return out


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent users (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the users send requests (default 60)")
    parser.add_argument("--client-processes", type=int, default=2, help="processes the users are spread over")
    parser.add_argument("--client-nice", type=int, default=0, help="niceness added to the client processes")
    parser.add_argument("--stock-client", action="store_true",
                        help="gradio_client as it comes (a new SSL context per HTTP call: ~100 ms client CPU per request)")
    parser.add_argument("--explain", action="store_true",
                        help="like the Classify tab: every answered /classify is followed by its /explain")
    parser.add_argument("--concurrency", type=int, help="app.py --concurrency (default: the app's default)")
    parser.add_argument("--models", type=Path, help="app.py --models DIR (default: the shipped ensembles)")
    parser.add_argument("--images", type=int, default=400,
                        help="distinct images per endpoint (enough that no image repeats in a default run)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds a request may take before it counts as an error")
    parser.add_argument("--shared", type=Path, default=SHARED)
    parser.add_argument("--out", type=Path, default=RESULTS / "load.json")
    args = parser.parse_args(argv)
    if args.users < 1 or args.seconds <= 0 or args.client_processes < 1 or args.images < 1:
        parser.error("--users, --seconds, --client-processes and --images must be positive")
    procs = min(args.client_processes, args.users)

    with tempfile.TemporaryDirectory(prefix="autobot-load-") as tmp:
        tmp = Path(tmp)
        files = write_images(tmp / "images", args.shared, args.images)
        server, url = start_server(args, tmp / "runs", tmp / "server.log")
        try:
            warm_up(url, files, str(tmp / "downloads"))
            memory_before, load_before = proc_memory_mb(server.pid), load_average()
            ctx = mp.get_context("spawn")
            barrier, results = ctx.Barrier(procs + 1), ctx.Queue()
            groups = [list(range(args.users))[i::procs] for i in range(procs)]
            workers = [ctx.Process(target=client_process, args=(g, args.users, url, files, args.seconds, args.timeout, barrier,
                                                                 results, args.client_nice, str(tmp / f"downloads{i}"),
                                                                 not args.stock_client, args.explain))
                       for i, g in enumerate(groups)]
            for w in workers:
                w.start()
            try:
                barrier.wait(timeout=300)
            except threading.BrokenBarrierError:
                raise SystemExit("error: the client processes did not get ready in 300 s (see their output above)") from None
            server_cpu, busy, start = proc_cpu_seconds(server.pid), machine_busy_seconds(), time.time()
            rss_timeline, sampling = [], threading.Event()
            sampler = threading.Thread(target=sample_rss, args=(server.pid, start, rss_timeline, sampling), daemon=True)
            sampler.start()
            try:
                parts = [results.get(timeout=args.seconds + args.timeout + 120) for _ in workers]
            except queue.Empty:
                raise SystemExit("error: a client process sent no results (see its output above)") from None
            end = time.time()
            sampling.set()
            sampler.join(5)
            server_cpu, busy = proc_cpu_seconds(server.pid) - server_cpu, machine_busy_seconds() - busy
            memory_after, load_after = proc_memory_mb(server.pid), load_average()
            for w in workers:
                w.join(30)
            alive = server.poll() is None
        finally:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
            log_tail = (tmp / "server.log").read_text()[-2000:]

    records = [r for p in parts for r in p["records"]]
    first = min(p["start"] for p in parts)
    last = max([r[1] + r[2] for r in records] or [end])
    wall = last - first
    endpoints = summarize(records, wall)
    client_cpu = sum(p["cpu_s"] for p in parts)
    cpus = os.cpu_count() or 1
    usage = {"wall_s": round(wall, 1), "server_cpu_s": round(server_cpu, 1), "server_cores": round(server_cpu / wall, 2),
             "client_cpu_s": round(client_cpu, 1), "client_cores": round(client_cpu / wall, 2),
             "machine_busy_cores": round(busy / wall, 2),
             "other_cores": round(max(busy - server_cpu - client_cpu, 0.0) / wall, 2), "cpus": cpus,
             "client_cpu_per_request_ms": round(1000 * client_cpu / max(len(records), 1), 1),
             "server_cpu_per_request_ms": round(1000 * server_cpu / max(len(records), 1), 1)}
    usage["client_share_of_machine"] = round(client_cpu / (wall * cpus), 3)
    stuck = sum(p["stuck_users"] for p in parts)
    meets = (alive and stuck == 0 and endpoints["all"]["errors"] == 0
             and all(endpoints[e]["p95_ms"] is not None and endpoints[e]["p95_ms"] <= TARGET_P95_MS for e in ENDPOINTS))

    print(table([{"endpoint": e, **stats} for e, stats in endpoints.items()],
                [("endpoint", "endpoint", ""), ("requests", "requests", "d"), ("errors", "errors", "d"),
                 ("p50_ms", "p50 ms", ".0f"), ("p95_ms", "p95 ms", ".0f"), ("p99_ms", "p99 ms", ".0f"),
                 ("max_ms", "max ms", ".0f"), ("throughput_per_s", "req/s", ".2f")]))
    for e in endpoints:
        for sample in endpoints[e]["error_samples"]:
            print(f"  {e} error: {sample}")
    print(f"{args.users} users in {procs} client processes for {args.seconds:g} s (wall {wall:.1f} s); "
          f"app --concurrency {args.concurrency or 'default'}")
    print(f"CPU cores used: server {usage['server_cores']}, clients {usage['client_cores']} "
          f"({usage['client_cpu_per_request_ms']} ms client CPU per request, {100 * usage['client_share_of_machine']:.1f}% "
          f"of the machine), others {usage['other_cores']} of {cpus}")
    print(f"server RSS {memory_before['rss_mb']} MB before, {memory_after['rss_mb']} MB after "
          f"(peak {memory_after['peak_rss_mb']} MB); server alive after the run: {alive}")
    if rss_timeline:
        print("server RSS during the run (s: MB): " + ", ".join(f"{t:g}: {m:g}" for t, m in rss_timeline[::max(1, len(rss_timeline) // 8)]))
    print(f"load average before {load_before}, after {load_after}")
    print(f"targets (every request answered, no error, p95 <= {TARGET_P95_MS:.0f} ms): {'met' if meets else 'MISSED'}")
    data = {"bench": "load", "command": command_line(), "machine": machine(),
            "settings": {"users": args.users, "seconds": args.seconds, "client_processes": procs,
                         "client_nice": args.client_nice, "explain": args.explain,
                         "stock_client": args.stock_client, "concurrency": args.concurrency,
                         "models": str(args.models) if args.models else "assets/models", "images": args.images,
                         "timeout_s": args.timeout},
            "endpoints": endpoints, "cpu": usage,
            "client_setup_s": round(max(p["setup_s"] for p in parts), 2), "stuck_users": stuck,
            "server": {"alive_after": alive, "memory_before": memory_before, "memory_after": memory_after,
                       "rss_growth_mb": round(memory_after["rss_mb"] - memory_before["rss_mb"], 1),
                       "rss_timeline_mb": rss_timeline},
            "load_average_before": load_before, "load_average_after": load_after,
            "targets": {"p95_ms": TARGET_P95_MS, "errors": 0}, "meets_targets": bool(meets)}
    if not alive:
        data["server_log_tail"] = log_tail
        print(f"server log tail:\n{log_tail}")
    print(f"wrote {write_json(args.out, data)}")
    return data


if __name__ == "__main__":
    main()
