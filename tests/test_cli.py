"""The ``leadgate`` command end to end, in-process, on real workspaces."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from leadgate.store.duckdb_store import DuckDBStore
from tests.cli_runs import run

EVENTS = [
    {
        "type": "identify",
        "messageId": "i1",
        "userId": "ann",
        "traits": {"role": "CTO", "budgetEstimate": 20000},
        "timestamp": "2026-11-01T10:00:00Z",
    },
    {
        "type": "group",
        "messageId": "g1",
        "userId": "ann",
        "groupId": "acme",
        "traits": {"name": "Acme", "employees": 300, "industry": "Software"},
        "timestamp": "2026-11-01T10:00:00Z",
    },
    {
        "type": "track",
        "messageId": "t1",
        "userId": "ann",
        "event": "demo_requested",
        "timestamp": "2026-11-20T10:00:00Z",
    },
    {
        "type": "page",
        "messageId": "p1",
        "userId": "ann",
        "properties": {"path": "/pricing"},
        "timestamp": "2026-11-20T11:00:00Z",
    },
    {
        "type": "track",
        "messageId": "t2",
        "userId": "bob",
        "event": "email_clicked",
        "timestamp": "2026-11-10T10:00:00Z",
    },
]


@pytest.fixture
def workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = tmp_path / "ws"
    assert run(capsys, "init", str(root))[0] == 0
    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(message) + "\n" for message in EVENTS))
    assert run(capsys, "-w", str(root), "import", "events", str(events))[0] == 0
    return root


def test_score_leads_explain_and_export(workspace: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status, out, _ = run(capsys, "-w", str(workspace), "score", "--as-of", "2026-11-21T00:00:00Z", "--json")
    assert status == 0 and json.loads(out)["leads_scored"] == 2
    status, out, _ = run(capsys, "-w", str(workspace), "leads", "--json")
    leads = json.loads(out)
    assert [lead["lead_id"] for lead in leads] == ["ann", "bob"]
    assert {"lead_id", "fit", "engagement", "score", "stage"} <= set(leads[0])
    # ann: fit = 20 (>= 200 employees) + 15 (CTO) + 10 (Software) + 15 (budget) = 60
    assert leads[0]["fit"] == 60
    status, out, _ = run(capsys, "-w", str(workspace), "explain", "ann", "--json")
    explanation = json.loads(out)
    assert status == 0
    assert sum(item["points"] for item in explanation["contributions"]) == pytest.approx(explanation["score"], abs=1e-9)
    assert explanation["score"] == pytest.approx(leads[0]["score"], abs=1e-9)  # same as-of as the scoring run
    assert {item["rule"] for item in explanation["contributions"]} >= {"fit_1", "fit_3", "engagement_7"}
    status, out, _ = run(capsys, "-w", str(workspace), "explain", "ann")
    assert status == 0 and "Demo request" in out and "Decision maker" in out
    target = tmp_path / "scores.csv"
    status, out, _ = run(capsys, "-w", str(workspace), "export", "scores", str(target))
    assert status == 0 and target.read_text().splitlines()[0].startswith("lead_id,")
    assert len(target.read_text().splitlines()) == 3


def test_leads_by_stage_and_top(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "-w", str(workspace), "score", "--as-of", "2026-11-21")
    _, out, _ = run(capsys, "-w", str(workspace), "leads", "--stage", "inquiry", "--json")
    inquiries = json.loads(out)
    assert "ann" in [lead["lead_id"] for lead in inquiries]  # scoring alone moves nobody
    assert [lead["lead_id"] for lead in inquiries if lead["qualifies_as"] == "mql"] == ["ann"]  # fit 60, demo
    run(capsys, "-w", str(workspace), "cycle", "--as-of", "2026-11-21")
    _, out, _ = run(capsys, "-w", str(workspace), "leads", "--stage", "sal_pending", "--json")
    assert [(lead["lead_id"], lead["owner"]) for lead in json.loads(out)] == [
        ("ann", "farah")
    ]  # smb, least loaded: all at 0, first member
    _, out, _ = run(capsys, "-w", str(workspace), "leads", "--top", "1", "--json")
    assert len(json.loads(out)) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("explain", "nobody"), "no lead with the id 'nobody' (see 'leadgate leads')"),
        (("leads", "--stage", "hot"), "--stage 'hot': not a stage"),
        (("score", "--as-of", "last week"), "--as-of 'last week'"),
        (("import", "events", "missing.jsonl"), "missing.jsonl: no such file"),
        (("export", "scores", "out.xlsx"), "no scores yet"),
        (("accept", "nobody", "--by", "farah"), "no lead with the id 'nobody'"),
        (("history", "nobody"), "no lead with the id 'nobody'"),
        (("accept", "ann", "--by", "farah"), "cannot record an acceptance for lead ann: it is inquiry"),
        (("accept", "ann", "--by", "zoe"), "'zoe' is not a rep of the playbook's teams"),
        (("accept", "ann", "--by", "crm-import"), "'crm-import' is the name of CRM imports"),
        (("accept", "ann", "--by", "farah", "--at", "2099-01-01"), "--at 2099-01-01 00:00 is in the future"),
        (("reject", "ann", "--by", "farah", "--reason", "meh"), "cannot record a rejection for lead ann"),
        (("outcome", "ann", "accepted", "--by", "farah"), "outcome 'accepted': write one of opportunity, won, lost"),
        (("queue", "--owner", "zoe"), "'zoe' is not a rep of the playbook's teams"),
        (("cycle", "--as-of", "soon"), "--as-of 'soon'"),
        (("cycle", "--as-of", "2099-01-01"), "--as-of 2099-01-01 00:00 is in the future"),
        (("score", "--as-of", "2099-01-01"), "--as-of 2099-01-01 00:00 is in the future"),
        (("reps", "back", "nobody", "--from", "2026-12-01"), "'nobody' is not a rep"),
        (("reps", "away", "carla", "--from", "2026-12-05", "--to", "2026-12-01"), "--to 2026-12-01 is before --from"),
        (("import", "outcomes", "missing.csv"), "missing.csv: no such file"),
        (("tune", "--version", "99"), "--version 99: no such playbook version (known: 1)"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(
    workspace: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    status, _, err = run(capsys, "-w", str(workspace), *argv)
    assert status == 2
    assert message in err and "Traceback" not in err
    assert err.strip().count("\n") == 0


def test_a_score_or_a_cycle_in_the_future_stores_nothing(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A cycle as of 2099 would record moves then, and no cycle could run before 2099 again."""
    from leadgate.workspace import Workspace

    def stored() -> tuple[int, int]:
        opened = Workspace(workspace)
        try:
            return opened.store.count("scoring_runs"), opened.store.count("transitions")
        finally:
            opened.close()

    before = stored()
    for command in ("score", "cycle"):
        assert run(capsys, "-w", str(workspace), command, "--as-of", "2099-01-01")[0] == 2
    assert stored() == before
    assert run(capsys, "-w", str(workspace), "cycle")[0] == 0  # and now still runs


def test_with_json_an_error_is_json_on_standard_output_too(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "leads.csv"
    bad.write_text("lead_id,learnt_at\nx,yesterday\n")
    status, out, err = run(capsys, "-w", str(workspace), "import", "leads", str(bad), "--json")
    assert status == 2 and "nothing was imported" in err
    error = json.loads(out)["error"]
    assert error["status"] == 2 and "1 bad row of 1; nothing was imported" in error["message"]
    assert [(issue["file"], issue["line"], issue["code"]) for issue in error["issues"]] == [(str(bad), 2, "IM003")]
    status, out, _ = run(capsys, "-w", str(workspace), "leads", "--stage", "hot", "--json")
    assert status == 2 and json.loads(out) == {
        "error": {"message": json.loads(out)["error"]["message"], "status": 2, "issues": []}
    }
    assert "--stage 'hot': not a stage" in json.loads(out)["error"]["message"]
    status, out, _ = run(capsys, "-w", str(workspace), "leads", "--stage", "hot")
    assert status == 2 and out == ""  # without --json, standard output stays empty


def test_paths_that_cannot_be_read_or_written_are_said_by_name(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An output in a folder that does not exist, a folder given for a file, a playbook that is
    not UTF-8: one line that names the path, exit 2, no traceback, nothing written."""
    missing = tmp_path / "nowhere" / "out"
    utf16 = tmp_path / "utf16.yaml"
    utf16.write_bytes((workspace / "playbook.yaml").read_text(encoding="utf-8").encode("utf-16"))
    folder = tmp_path / "a-folder.yaml"
    folder.mkdir()
    assert run(capsys, "-w", str(workspace), "score")[0] == 0
    cases = [
        (("report", "--html", f"{missing}.html"), f"{missing}.html: No such file or directory"),
        (("export", "scores", f"{missing}.csv"), f"the folder {missing.parent} does not exist"),
        (("export", "scores", str(tmp_path)), "a folder; give the file to write"),
        (("playbook", "validate", str(utf16)), "PB001 the file is not UTF-8 text"),
        (("playbook", "publish", str(utf16)), "PB001 the file is not UTF-8 text"),
        (("playbook", "validate", str(folder)), f"{folder}: a folder, not a playbook file"),
        (("backtest", str(folder)), f"{folder}: a folder, not a playbook file"),
        (("simulate", "--to-files", str(utf16)), str(utf16)),
    ]
    for argv, says in cases:
        status, _, err = run(capsys, "-w", str(workspace), *argv)
        assert status == 2, (argv, err)
        assert says in " ".join(err.split()) and "Traceback" not in err, (argv, err)
    assert not missing.parent.exists()


@pytest.mark.parametrize("setting", ["TOP_LEADS", "SESSION_HOURS", "NOTIFY_MAX_ATTEMPTS"])
def test_a_negative_number_setting_is_refused_by_name(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, setting: str
) -> None:
    monkeypatch.setenv(f"LEADGATE_{setting}", "-1")
    status, _, err = run(capsys, "-w", str(workspace), "leads")
    assert status == 2 and "Traceback" not in err
    assert f"setting {setting.lower()} from LEADGATE_{setting}: '-1' is negative; give 0 or more" in err


def test_no_workspace_is_said_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEADGATE_WORKSPACE", raising=False)
    status, _, err = run(capsys, "leads")
    assert status == 2 and "no leadgate workspace" in err and "leadgate init" in err


def test_the_workspace_comes_from_the_environment(
    workspace: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADGATE_WORKSPACE", str(workspace))
    monkeypatch.setenv("LEADGATE_TOP_LEADS", "1")
    run(capsys, "score")
    _, out, _ = run(capsys, "settings", "--json")
    top = next(item for item in json.loads(out) if item["name"] == "top_leads")
    assert top == {"name": "top_leads", "value": 1, "source": "environment", "help": top["help"]}
    _, out, _ = run(capsys, "leads", "--json")
    assert len(json.loads(out)) == 1


def test_a_bad_import_lists_its_rows_and_imports_nothing(
    workspace: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"type": "track", "messageId": "z", "userId": "x", "event": "e", "timestamp": "2026-01-01T00:00:00Z"}\n{broken\n'
    )
    status, _, err = run(capsys, "-w", str(workspace), "import", "events", str(bad))
    assert status == 2
    assert f"{bad}:2: IM001" in err and "nothing was imported" in err
    status, out, _ = run(capsys, "-w", str(workspace), "import", "events", str(bad), "--skip-invalid", "--json")
    summary = json.loads(out)
    assert status == 0 and summary["events_added"] == 1 and summary["rows_rejected"] == 1
    assert Path(summary["rejects_file"]).exists()


def test_playbook_validate_and_diff(workspace: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    playbook = workspace / "playbook.yaml"
    status, out, _ = run(capsys, "playbook", "validate", str(playbook))
    assert status == 0 and "valid" in out
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        playbook.read_text().replace('when: "fit >= 30 and engagement >= 40"', 'when: "fit >= 30 and engagment >= 40"')
    )
    status, _, err = run(capsys, "playbook", "validate", str(broken))
    assert status == 2 and f"{broken}:" in err and "PB102" in err and "did you mean 'engagement'" in err
    status, out, _ = run(capsys, "playbook", "validate", str(broken), "--json")
    report = json.loads(out)
    assert status == 2 and report["valid"] is False and report["errors"][0]["code"] == "PB102"
    changed = tmp_path / "changed.yaml"
    changed.write_text(
        playbook.read_text()
        .replace("version: 1", "version: 2")
        .replace('points: 15, label: "Decision maker"', 'points: 25, label: "Decision maker"')
    )
    status, out, _ = run(capsys, "playbook", "diff", str(playbook), str(changed), "--json")
    sentences = [change["sentence"] for change in json.loads(out)]
    assert sentences == ["Version changes from 1 to 2.", "Fit rule “Decision maker”: points changes from 15 to 25."]


def test_a_broken_playbook_in_force_is_never_used(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    playbook = workspace / "playbook.yaml"
    playbook.write_text(playbook.read_text().replace("half_life_days: 30", "half_life_days: -30"))
    status, _, err = run(capsys, "-w", str(workspace), "score")
    assert status == 2 and "PB012" in err and "it was not used" in err
    store = DuckDBStore(workspace / "leadgate.duckdb")
    assert not store.has_table("lead_scores") and store.count("scoring_runs") == 0
    store.close()


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--help")
    assert status == 0
    for command in (
        "init",
        "import",
        "score",
        "leads",
        "explain",
        "export",
        "simulate",
        "demo",
        "playbook",
        "settings",
    ):
        assert command in out


def test_an_absence_can_be_cancelled_and_entered_again(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def absences() -> list[dict[str, str]]:
        _, out, _ = run(capsys, "-w", str(workspace), "reps", "list", "--json")
        return next(rep for rep in json.loads(out) if rep["rep"] == "carla")["absences"]

    run(capsys, "-w", str(workspace), "reps", "away", "carla", "--from", "2026-12-01", "--to", "2026-12-05")
    assert absences() == [{"from": "2026-12-01", "to": "2026-12-05"}]
    run(capsys, "-w", str(workspace), "reps", "back", "carla", "--from", "2026-12-01")
    assert absences() == []
    run(capsys, "-w", str(workspace), "reps", "away", "carla", "--from", "2026-12-01", "--to", "2026-12-05")
    assert absences() == [{"from": "2026-12-01", "to": "2026-12-05"}]
    status, _, err = run(
        capsys, "-w", str(workspace), "reps", "away", "nobody", "--from", "2026-12-01", "--to", "2026-12-02"
    )
    assert status == 2 and "nobody" in err


def test_a_workspace_busy_in_another_process_is_said_plainly(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)",
            str(workspace / "leadgate.duckdb"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        status, _, err = run(capsys, "-w", str(workspace), "queue")
    finally:
        holder.kill()
        holder.communicate()
    assert status == 3
    assert "in use by another leadgate command" in err and str(workspace) not in err


def test_an_outcomes_file_without_rows_is_refused(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = workspace / "deals.csv"
    empty.write_text("lead_id,won_at\n", encoding="utf-8")
    status, _, err = run(capsys, "-w", str(workspace), "import", "outcomes", str(empty))
    assert status == 2 and "no outcome rows" in err


@pytest.mark.slow
def test_the_demo_ends_by_saying_how_to_open_the_web_app_as_whom(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import re

    from leadgate.service.users import sign_in
    from leadgate.workspace import Workspace

    status, out, err = run(capsys, "demo", str(tmp_path / "demo"), "--leads", "300", "--days", "40")
    assert status == 0, err
    text = " ".join(out.split())  # rich wraps long lines
    assert "serve then open http://127.0.0.1:8000/app/" in text
    said = re.search(
        r"sign in as (\w+) \(sales\), (\w+) \(manager\) or (\w+) \(marketing\); every demo user's password is (\S+)",
        text,
    )
    assert said is not None, text
    workspace = Workspace(tmp_path / "demo")
    for name in said.groups()[:3]:
        assert sign_in(workspace.store, name, said.group(4), dt.datetime(2026, 11, 27), hours=1)
    workspace.close()
