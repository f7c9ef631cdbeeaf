"""The web app's lead page over a store of 1M leads: the issue's target is ≤ 200 ms.

    .venv/bin/python bench/web_pages.py [--leads 1000000] [--events 5000000] [--requests 200] [--json]

The store is the funnel bench's (``bench/funnel_report.py``: leads, traits, accounts, events and
a year of lifecycle history), copied once into ``bench-workspace/web`` and scored there. A real
server (uvicorn on a socket, the server's worker included) serves it; after its first cycle, a
marketing user signs in and opens the pages of randomly drawn leads one after the other. Each
figure is the whole request as a browser's HTML fetch sees it: connection reused, server-side
rendering, transfer. The page explains the scores the server's runs stored; how long explaining
a lead on the spot takes (its fallback) is timed in the process for the record, and so are the
funnel, playbook and team pages (a manager of two teams).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from funnel_report import prepare
from generate import DatasetSize

from leadgate.api.app import create_app
from leadgate.service.explain import explain_lead
from leadgate.service.runtime import Runtime
from leadgate.service.scoring import run_scoring, utc_now
from leadgate.service.users import create_user
from leadgate.store.users_store import UsersStore
from leadgate.workspace import Workspace

TARGET_MS = 200.0


class ServedLater(Runtime):
    """The server an hour after the generated history's last hand-off fact (which lies past today)."""

    moment: dt.datetime

    def now(self) -> dt.datetime:
        return self.moment


USER, PASSWORD = "bench-marketer", "bench-password"
MANAGER = "erin"  # manages two of the bench playbook's three teams


def scored_workspace(funnel: Path, web: Path, size: DatasetSize) -> Workspace:
    """The funnel bench's store, copied and scored once (reused while the size matches)."""
    prepare(funnel, size)
    stamp = web / "web-dataset.json"
    if not (stamp.exists() and json.loads(stamp.read_text()) == size.as_dict()):
        shutil.rmtree(web, ignore_errors=True)
        shutil.copytree(funnel, web, ignore=shutil.ignore_patterns("*.html", "*.wal"))
        workspace = Workspace(web)
        started = time.perf_counter()
        run = run_scoring(workspace.store, workspace.playbook())
        print(f"scored {run.leads_scored:,} leads in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        workspace.close()
        stamp.write_text(json.dumps(size.as_dict()))
    workspace = Workspace(web)
    for name, role in ((USER, "marketing"), (MANAGER, "manager")):
        if UsersStore(workspace.store).by_name(name) is None:
            create_user(workspace.store, workspace.playbook().model, name, role, None, PASSWORD, utc_now())
    return workspace


def timings(client: httpx.Client, paths: list[str]) -> list[float]:
    found = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        found.append((time.perf_counter() - started) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
    return found


def summary(milliseconds: list[float]) -> dict[str, float]:
    ordered = sorted(milliseconds)
    return {
        "requests": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "p99_ms": round(ordered[int(0.99 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--funnel-workspace", type=Path, default=Path("bench-workspace") / "funnel")
    parser.add_argument("--workspace", type=Path, default=Path("bench-workspace") / "web")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON only")
    args = parser.parse_args()
    size = DatasetSize(events=args.events, leads=args.leads, accounts=max(args.leads // 20, 1))
    workspace = scored_workspace(args.funnel_workspace, args.workspace, size)
    lead_ids = [row[0] for row in workspace.store._run("SELECT lead_id FROM lead_scores USING SAMPLE 2000 ROWS")]
    latest = workspace.store._one('SELECT max("at") FROM transitions')
    workspace.close()

    runtime = ServedLater(workspace, idle_seconds=3600)
    runtime.moment = (latest[0] if latest and latest[0] else utc_now()) + dt.timedelta(hours=1)
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    started = time.perf_counter()
    while runtime.worker.cycles < 1:  # the catch-up cycle at start: measure the steady state after it
        if runtime.worker.last_error:
            raise SystemExit(f"the server's cycle failed: {runtime.worker.last_error}")
        time.sleep(0.2)
    print(f"first cycle after {time.perf_counter() - started:.1f} s", file=sys.stderr)

    picked = random.Random(7).sample(lead_ids, min(args.requests, len(lead_ids)))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        token = client.get("/app/login").cookies["leadgate_login_csrf"]
        client.post("/app/login", data={"user_name": USER, "password": PASSWORD, "csrf_token": token})
        timings(client, [f"/app/leads/{lead}" for lead in picked[:10]])  # warm: templates, compiled queries
        figures = {
            "leads": args.leads,
            "events": args.events,
            "lead_page": summary(timings(client, [f"/app/leads/{lead}" for lead in picked])),
            "funnel_page": summary(timings(client, ["/app/funnel"] * 3)),
            # a signed-in request that reads nothing else: the session check, the template and HTTP
            "playbook_page": summary(timings(client, ["/app/playbook"] * 20)),
            "target_ms": TARGET_MS,
        }
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        token = client.get("/app/login").cookies["leadgate_login_csrf"]
        client.post("/app/login", data={"user_name": MANAGER, "password": PASSWORD, "csrf_token": token})
        figures["team_page"] = summary(timings(client, ["/app/team"] * 10))
    server.should_exit = True
    thread.join(timeout=60)
    figures["explained_on_the_spot"] = on_the_spot(workspace, picked[:50], runtime.moment)
    print(json.dumps(figures, indent=2))


def on_the_spot(workspace: Workspace, lead_ids: list[str], moment: dt.datetime) -> dict[str, float]:
    """For the record, in the process: the page's fallback when no stored scores stand for the
    lead (the playbook changed and its first run has not finished): scoring it on the spot."""
    store, playbook = workspace.open_store(), workspace.playbook()
    explain_lead(store, playbook, lead_ids[0], moment)  # compile once
    found = []
    for lead_id in lead_ids:
        started = time.perf_counter()
        explain_lead(store, playbook, lead_id, moment)
        found.append((time.perf_counter() - started) * 1000)
    store.close()
    return {key.replace("requests", "leads"): value for key, value in summary(found).items()}


if __name__ == "__main__":
    main()
