"""Screenshots of the web app's main pages, for docs/ and the README.

    .venv/bin/python scripts/app_screenshots.py [--workspace demo-workspace] [--out docs/images]

Builds the demo workspace when it is missing (``leadgate demo``), serves it on a free port,
signs in as the demo's rep, manager and marketer in Debian's chromium (Playwright), and saves
one PNG per page at a laptop's 1280 x 800.
"""

from __future__ import annotations

import argparse
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import Page, sync_playwright

from leadgate.api.app import create_app
from leadgate.cli.workspace_commands import DEMO_MARKETER, DEMO_PASSWORD
from leadgate.service.queue import rep_queue
from leadgate.service.runtime import Runtime
from leadgate.workspace import Workspace

FULL_PAGES = {"app-lead.png"}  # the lead page reads top to bottom: scores, account, prediction, timeline
LEADGATE = str(Path(sys.executable).parent / "leadgate")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def sign_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/app/login")
    page.get_by_label("User name").fill(name)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workspace", type=Path, default=Path("demo-workspace"))
    parser.add_argument("--out", type=Path, default=Path("docs") / "images")
    args = parser.parse_args()
    if not (args.workspace / "leadgate.toml").exists():
        subprocess.run([LEADGATE, "demo", str(args.workspace)], check=True)
    workspace = Workspace(args.workspace)
    runtime = Runtime(workspace)
    with runtime.locked() as store:
        queue = rep_queue(store, runtime.playbook(), None, runtime.now())
    rep = max({item.owner for item in queue if item.owner}, key=lambda owner: sum(i.owner == owner for i in queue))
    lead = next(item.lead_id for item in queue if item.owner == rep)
    manager = next(team.manager for team in runtime.playbook().model.teams.values() if rep in team.members)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    shots = {
        rep: [("app-queue.png", "/app/queue"), ("app-lead.png", f"/app/leads/{lead}")],
        manager: [("app-team.png", "/app/team")],
        DEMO_MARKETER: [
            ("app-funnel.png", "/app/funnel"),
            ("app-rules.png", "/app/rules"),
            ("app-playbook.png", "/app/playbook"),
        ],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or "chromium", headless=True)
        for user, pages in shots.items():
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            sign_in(page, base, user)
            for name, path in pages:
                page.goto(base + path)
                page.wait_for_load_state("networkidle")
                page.screenshot(path=str(args.out / name), full_page=name in FULL_PAGES)
                print(f"{args.out / name}: {path} as {user}")
            context.close()
        browser.close()
    server.should_exit = True
    thread.join(timeout=30)


if __name__ == "__main__":
    main()
