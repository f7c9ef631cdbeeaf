"""`make bench-service`: the HTTP service under a sustained load of Segment batches.

    python bench/service.py [--duration 60] [--clients 4] [--in-flight 4] [--leads 100000]
                            [--rate MESSAGES_PER_SECOND] [--postgres] [--workers N] [--json]

Starts ``leadgate serve`` on a fresh workspace (the example playbook) in its own process.
``--clients`` client processes each keep ``--in-flight`` requests going, every one a
``/v1/batch`` of 100 messages (a Segment-like mix of page, track, identify and group messages
over ``--leads`` leads), for ``--duration`` seconds. 16 requests in flight by default: by
Little's law, 30,000 messages a second answered in 50 ms on average need 15 requests of 100
in flight; with 4, every answer would have to come within 13 ms. That is a closed loop: the
server's pace sets the load, and the figures are what it takes at its fastest. With ``--rate R``
the clients offer R messages a second between them instead (open loop: a batch is due at its
time whether or not earlier ones were answered, and waits for a free connection of its
client; its latency counts from when it was due), which shows what the server holds at a
given load; batches that found no free connection before the run ended are reported as
unsent. Meanwhile a probe process sends, every
second, a demo request from a new lead whose fit qualifies it at once, and reads the leads
awaiting acceptance (``GET /v1/leads``) every 0.2 s until the lead shows an owner: the
event-to-assignment latency, as a reader sees it. It does not poll ``GET /v1/leads/{id}``: that
explains the lead's score, which costs up to a second a call, under the lock the cycles need.
The probe also receives the example playbook's webhook (``stage becomes sal_pending``, signed
with a secret the bench sets) on a local port: the event-to-notification latency, from the
demo request's send to the webhook's arrival, the issue's target, and how many probes missed it
(over 1 s: with 60 probes a run, the p99 is the slowest or the next). The server's resident memory is
sampled every second, and the server's own durations of its last 1,000 commits, cycles and checkpoints
are read from ``GET /v1/health`` at the end. Then the server stops and the stored events are
counted against the acknowledged ones (a figure of work that was not done would be worthless).
With ``--json``, the notification latencies are also listed in the order the probes were sent
(``notification_ms.in_order_sent``, one probe a second): when in the run the slow ones came.

With ``--postgres`` the workspace's database is a throwaway PostgreSQL 15 server started for the
run (the test suite's: initdb and pg_ctl on a free port, durability off, as in tests), and
``--workers N`` serves it with N processes.

Each client and the probe run this file again (``--as-client N``, ``--as-probe``) and print
one marked JSON line with what they measured.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import httpx
import psycopg
from report import Target
from service_load import RESULT_MARK, assignments_readable, percentile, run_client, run_probe

from leadgate.service.keys import create_key
from leadgate.service.scoring import utc_now
from leadgate.workspace import init_workspace

MB = 1024**2
NOTIFICATION_LIMIT_MS = 1000  # the event-to-notification target (p99)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the test suite's PostgreSQL server and webhook receiver
EXAMPLE_HOOK = "https://crm.example/hooks/leadgate"  # the example playbook's webhook, on "stage becomes sal_pending"
HOOK_SECRET = "bench-webhook-secret"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--clients", type=int, default=4, help="client processes (default 4)")
    parser.add_argument("--in-flight", type=int, default=4, help="requests each client keeps going (default 4)")
    parser.add_argument("--leads", type=int, default=100_000, help="distinct leads the messages name (default 100k)")
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="messages a second the clients offer between them (default 0: each connection sends again once answered)",
    )
    parser.add_argument("--postgres", action="store_true", help="store in a throwaway PostgreSQL server")
    parser.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL only; default 1)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON instead of a table")
    parser.add_argument("--workspace", type=Path, help="where the fresh workspace goes (default: a temporary folder)")
    parser.add_argument("--as-client", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--as-probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--reader-key", help=argparse.SUPPRESS)
    parser.add_argument("--hook-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.rate < 0:
        parser.error(f"--rate {args.rate:g}: a rate is 0 (closed loop) or more messages a second")
    return args


def progress(message: str) -> None:
    print(f"[{dt.datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def prepare_workspace(root: Path, hook_url: str) -> tuple[str, str]:
    """A fresh workspace with the example playbook, its webhook sent to ``hook_url`` (the
    probe's receiver); an ingest key and an admin key (the probe reads leads)."""
    workspace = init_workspace(root)
    text = workspace.playbook_path.read_text(encoding="utf-8")
    assert EXAMPLE_HOOK in text, "the example playbook's webhook moved: update EXAMPLE_HOOK"
    workspace.playbook_path.write_text(text.replace(EXAMPLE_HOOK, hook_url), encoding="utf-8")
    playbook = workspace.playbook().model
    ingest, _ = create_key(workspace.store, playbook, "ingest", None, None, utc_now())
    admin, _ = create_key(workspace.store, playbook, "admin", None, None, utc_now())
    workspace.close()
    return ingest, admin


def start_server(root: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    leadgate = str(Path(sys.executable).with_name("leadgate"))
    command = [leadgate, "--workspace", str(root), "serve", "--port", str(port), "--log-level", "warning"]
    command += ["--workers", str(workers)] if workers > 1 else []
    server = subprocess.Popen(command, stdout=sys.stderr, env={**os.environ, "LEADGATE_WEBHOOK_SECRET": HOOK_SECRET})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"bench: the server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit("bench: the server did not answer within 60 s")


def rss_bytes(pid: int) -> tuple[int, int]:
    """A process's resident memory now and its peak (VmRSS, VmHWM)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024
    return fields["VmRSS"], fields["VmHWM"]


def launch_helpers(
    args: argparse.Namespace, url: str, key: str, reader_key: str, hook_port: int
) -> list[subprocess.Popen[str]]:
    common = [sys.executable, __file__, "--url", url, "--key", key, "--duration", str(args.duration)]
    common += ["--leads", str(args.leads), "--in-flight", str(args.in_flight), "--rate", str(args.rate / args.clients)]
    helpers = [
        subprocess.Popen([*common, "--as-client", str(number)], stdout=subprocess.PIPE, text=True)
        for number in range(args.clients)
    ]
    probe = [*common, "--as-probe", "--reader-key", reader_key, "--hook-port", str(hook_port)]
    helpers.append(subprocess.Popen(probe, stdout=subprocess.PIPE, text=True))
    return helpers


def collect(helper: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    output, _ = helper.communicate(timeout=timeout)
    marked = [line for line in output.splitlines() if line.startswith(RESULT_MARK)]
    if helper.returncode != 0 or not marked:
        raise SystemExit(f"bench: a load process failed (exit {helper.returncode})")
    return dict(json.loads(marked[-1][len(RESULT_MARK) :]))


def sample_memory(pid: int, duration: float) -> list[tuple[float, int]]:
    """The server's RSS every second during the load: (seconds since the start, bytes)."""
    started = time.monotonic()
    samples = [(0.0, tree_rss_bytes(pid)[0])]
    while (elapsed := time.monotonic() - started) < duration:
        time.sleep(min(1.0, duration - elapsed))
        samples.append((time.monotonic() - started, tree_rss_bytes(pid)[0]))
    return samples


def stored_events(root: Path) -> int:
    url = os.environ.get("LEADGATE_DATABASE")
    if url:
        with psycopg.connect(url) as connection:
            found = connection.execute("SELECT count(*) FROM events").fetchone()
    else:
        with duckdb.connect(str(root / "leadgate.duckdb"), read_only=True) as connection:
            found = connection.execute("SELECT count(*) FROM events").fetchone()
    return int(found[0]) if found else 0


def tree_rss_bytes(pid: int) -> tuple[int, int]:
    """Resident memory of the server and its worker processes (``--workers``), now and peak."""
    pids = [pid] + [int(child) for child in _children(pid)]
    sizes = [rss_bytes(one) for one in pids]
    return sum(size[0] for size in sizes), sum(size[1] for size in sizes)


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) the server and its worker processes have used so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for one in [pid] + [int(child) for child in _children(pid)]:
        fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / ticks  # utime and stime, fields 14 and 15
    return total


def _children(pid: int) -> list[str]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return found.read_text().split() if found.exists() else []


def run_bench(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    progress(f"workspace {root}; starting the server")
    hook_port = free_port()
    key, reader_key = prepare_workspace(root, f"http://127.0.0.1:{hook_port}/hooks/leadgate")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(root, port, args.workers)
    try:
        has_lead_route = assignments_readable(url)
        load_before = os.getloadavg()
        progress(f"{args.clients} clients x {args.in_flight} in flight for {args.duration:.0f} s, and the probe")
        cpu_before = tree_cpu_seconds(server.pid)
        helpers = launch_helpers(args, url, key, reader_key, hook_port)
        samples = sample_memory(server.pid, args.duration)
        server_cpu = tree_cpu_seconds(server.pid) - cpu_before
        load_after = os.getloadavg()
        *clients, probe = [collect(helper, timeout=args.duration + 120) for helper in helpers]
        peak = tree_rss_bytes(server.pid)[1]
        health = httpx.get(f"{url}/v1/health", timeout=30).json()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
    stored = stored_events(root)
    results = summarise(args, clients, probe, samples, peak, stored, has_lead_route, (load_before, load_after))
    kept = ("commits", "cycles", "checkpoints", "commit_ms", "cycle_ms", "checkpoint_ms")
    kept += ("leads_rescored", "leads_folded")
    results["server"] = {key: health.get(key) for key in kept}  # older servers do not report every figure
    results["cpu_seconds"] = {
        "server": server_cpu,
        "clients": sum(client["cpu_seconds"] for client in clients),
        "probe": probe["cpu_seconds"],
    }
    return results


def _count(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _durations(summary: dict[str, float] | None) -> str:
    """The server's own figures for its recent commits, cycles or checkpoints (one process's, with several)."""
    if summary is None:
        return "none"
    return f"p50 {summary['p50_ms']:.0f} ms  p99 {summary['p99_ms']:.0f} ms  max {summary['max_ms']:.0f} ms"


def summarise(
    args: argparse.Namespace,
    clients: list[dict[str, Any]],
    probe: dict[str, Any],
    samples: list[tuple[float, int]],
    peak: int,
    stored: int,
    has_lead_route: bool,
    loads: tuple[tuple[float, ...], tuple[float, ...]],
) -> dict[str, Any]:
    latencies = sorted(value for client in clients for value in client["latencies_ms"])
    messages = sum(client["messages"] for client in clients)
    seconds = max(client["seconds"] for client in clients)
    middle = min(samples, key=lambda sample: abs(sample[0] - args.duration / 2))
    acknowledged_events = sum(client["events"] for client in clients) + probe["events"]
    assignment = probe["assignment_ms"]
    notification = sorted(probe["notification_ms"])
    return {
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "settings": {
            "duration": args.duration,
            "clients": args.clients,
            "in_flight": args.in_flight,
            "rate": args.rate,  # messages a second offered (0: closed loop)
            "database": "postgresql" if args.postgres else "duckdb",
            "workers": args.workers,
        },
        "machine": {"cpus": os.cpu_count(), "load_before": loads[0], "load_after": loads[1]},
        "requests": len(latencies),
        "failed_requests": sum(client["failed"] for client in clients),
        "unsent_requests": sum(client["unsent"] for client in clients),
        "messages": messages,
        "messages_per_second": messages / seconds,
        "latency_ms": {"p50": percentile(latencies, 50), "p99": percentile(latencies, 99), "max": latencies[-1]},
        "server_rss_bytes": {"start": samples[0][1], "middle": middle[1], "end": samples[-1][1], "peak": peak},
        "rss_samples": samples,
        "events": {"acknowledged": acknowledged_events, "stored": stored},
        "assignment_ms": {
            "measured": has_lead_route,
            "probes": probe["probes"],
            "assigned": len(assignment),
            "p50": percentile(sorted(assignment), 50) if assignment else None,
            "p99": percentile(sorted(assignment), 99) if assignment else None,
        },
        "notification_ms": {
            "probes": probe["probes"],
            "notified": len(notification),
            "webhooks_received": probe["webhooks_received"],
            "p50": percentile(notification, 50) if notification else None,
            "p99": percentile(notification, 99) if notification else None,
            # with 60 probes a run, the p99 is its slowest probe or the next: how many missed says more
            "over_limit": sum(1 for latency in notification if latency > NOTIFICATION_LIMIT_MS),
            "in_order_sent": probe["notification_ms"],
        },
    }


def _offered(rate: float) -> str:
    return f"{rate:,.0f} messages a second offered" if rate > 0 else "each sending again once answered"


def _unsent(results: dict[str, Any]) -> str:
    if not results["settings"]["rate"]:
        return ""  # a closed loop sends nothing late
    return f", {results['unsent_requests']} due but not sent: no connection was free before the run ended"


def bench_targets(results: dict[str, Any]) -> list[Target]:
    rss = results["server_rss_bytes"]
    postgres = results["settings"]["database"] == "postgresql"
    found = [
        Target(
            f"messages per second ({'PostgreSQL' if postgres else 'DuckDB'})",
            results["messages_per_second"],
            15_000 if postgres else 30_000,
            "msg/s",
            at_most=False,
        ),
        Target("request latency p99", results["latency_ms"]["p99"], 100, "ms", at_most=True),
        Target("server RSS growth, middle to end", 100 * (rss["end"] / rss["middle"] - 1), 10, "%", at_most=True),
    ]
    notification = results["notification_ms"]
    if notification["p99"] is not None:
        found.append(
            Target("event to notification p99", notification["p99"], NOTIFICATION_LIMIT_MS, "ms", at_most=True)
        )
    return found


def table(results: dict[str, Any]) -> str:
    machine, rss, latency = results["machine"], results["server_rss_bytes"], results["latency_ms"]
    settings, events, assignment = results["settings"], results["events"], results["assignment_ms"]
    notification = results["notification_ms"]
    server, cpu = results["server"], results["cpu_seconds"]
    lines = [
        f"leadgate service bench: {settings['clients']} clients x {settings['in_flight']} requests in flight, "
        f"{_offered(settings['rate'])}, batches of 100 messages, {settings['duration']:.0f} s, {settings['database']} "
        f"({settings['workers']} server process{'es' if settings['workers'] > 1 else ''})",
        f"machine: {machine['cpus']} CPUs, load average {machine['load_before'][0]:.2f} before, "
        f"{machine['load_after'][0]:.2f} after (others' work makes timings noisy)",
        "",
        f"requests                {results['requests']:,} ({results['failed_requests']} failed{_unsent(results)})",
        f"messages per second     {results['messages_per_second']:,.0f} (sustained over the run; Segment calls "
        f"every message an event)",
        f"server                  {server['commits']:,} commits ({results['messages'] / max(server['commits'], 1):,.0f} "
        f"messages each on average), {server['cycles']:,} qualification cycles, {server['checkpoints']:,} checkpoints",
        f"commit, cycle (last 1k) {_durations(server['commit_ms'])}; {_durations(server['cycle_ms'])}",
        f"checkpoint (last 1k)    {_durations(server['checkpoint_ms'])}",
        f"leads rescored          {_count(server['leads_rescored'])} by the cycles, {_count(server['leads_folded'])} of "
        f"them folded into their kept event state",
        f"CPU over the run        server {cpu['server']:.1f} s ({cpu['server'] / settings['duration']:.2f} of a core), "
        f"clients {cpu['clients']:.1f} s, probe {cpu['probe']:.1f} s; "
        f"{1e6 * cpu['server'] / max(results['messages'], 1):.0f} µs of server CPU a message",
        f"request latency         p50 {latency['p50']:.1f} ms   p99 {latency['p99']:.1f} ms   max {latency['max']:.1f} ms",
        f"server RSS              start {rss['start'] / MB:.0f} MB   middle {rss['middle'] / MB:.0f} MB   "
        f"end {rss['end'] / MB:.0f} MB   peak {rss['peak'] / MB:.0f} MB",
        f"events                  {events['acknowledged']:,} acknowledged, {events['stored']:,} stored",
    ]
    if assignment["p99"] is not None:
        lines.append(
            f"event to assignment     p50 {assignment['p50']:.0f} ms   p99 {assignment['p99']:.0f} ms   "
            f"({assignment['assigned']} of {assignment['probes']} probe leads assigned during the run)"
        )
    else:
        lines.append("event to assignment     not measured: this server has no GET /v1/leads/{id} to read it")
    if notification["p99"] is not None:
        lines.append(
            f"event to notification   p50 {notification['p50']:.0f} ms   p99 {notification['p99']:.0f} ms   "
            f"(webhook received for {notification['notified']} of {notification['probes']} probe leads, "
            f"{notification['over_limit']} of them after more than {NOTIFICATION_LIMIT_MS / 1000:g} s; "
            f"{notification['webhooks_received']:,} leads notified in all)"
        )
    else:
        lines.append("event to notification   not measured: no probe lead's webhook arrived")
    lines += ["", f"{'target':<38} {'measured':>14} {'limit':>14}  result"]
    for target in bench_targets(results):
        sign = "<=" if target.at_most else ">="
        lines.append(
            f"{target.name:<38} {target.measured:>10,.1f} {target.unit:<3} {sign} {target.limit:>8,.0f} "
            f"{target.unit:<5} {'PASS' if target.met else 'MISS'}"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def throwaway_postgres(wanted: bool) -> Iterator[None]:
    """With ``wanted``: a PostgreSQL server for the run, named by LEADGATE_DATABASE (which the
    workspace, the server and its workers read)."""
    if not wanted:
        yield
        return
    from tests.postgres_server import PostgresServer

    server = PostgresServer()
    server.start()
    try:
        os.environ["LEADGATE_DATABASE"] = server.new_database()
        progress(f"PostgreSQL at {os.environ['LEADGATE_DATABASE']}")
        yield
    finally:
        os.environ.pop("LEADGATE_DATABASE", None)
        server.stop()


def helper_main(args: argparse.Namespace) -> int:
    """In a load process: run the client or the probe, print its result as one marked JSON line."""
    if args.as_probe:
        result = run_probe(args.url, args.key, args.reader_key, args.duration, args.hook_port)
    else:
        result = run_client(args.url, args.key, args.as_client, args.leads, args.duration, args.in_flight, args.rate)
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.as_client is not None or args.as_probe:
        return helper_main(args)
    with throwaway_postgres(args.postgres):
        if args.workspace is not None:
            results = run_bench(args, args.workspace)
        else:
            with tempfile.TemporaryDirectory(prefix="leadgate-bench-service-") as folder:
                results = run_bench(args, Path(folder) / "ws")
    results["targets"] = [target.as_dict() for target in bench_targets(results)]
    if results["events"]["acknowledged"] != results["events"]["stored"]:
        print("VERIFICATION FAILED: the stored events are not the acknowledged ones", file=sys.stderr)
        return 2
    print(json.dumps(results, indent=2) if args.json else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
