"""Playbook versions: publish, history, roll back, diff; the service on real workspaces, and the CLI."""

from __future__ import annotations

import datetime as dt
import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from leadgate.errors import NotFound, PlaybookInvalid
from leadgate.lifecycle.decisions import Conflict
from leadgate.service.playbooks import PlaybookVersions
from leadgate.workspace import Workspace, init_workspace
from tests.cli_runs import run
from tests.playbook_texts import V1, edited, line_of

NOW = dt.datetime(2026, 11, 26, 9, 0)
LATER = dt.datetime(2026, 11, 26, 10, 0)


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    opened = init_workspace(tmp_path / "ws")
    yield opened
    opened.close()


@pytest.fixture
def versions(workspace: Workspace) -> PlaybookVersions:
    return PlaybookVersions(workspace.store, workspace.playbook_path)


def test_the_file_in_force_is_recorded_as_the_first_version(versions: PlaybookVersions) -> None:
    (first,) = versions.versions(NOW)
    assert (first.seq, first.version, first.name, first.action, first.published_by) == (
        1,
        1,
        "acme-saas",
        "initial",
        None,
    )
    assert first.text == V1 and first.replaced_version is None
    assert versions.versions(LATER) == [first]  # recorded once
    assert versions.text_of(1, NOW) == V1


def test_publish_replaces_the_file_and_records_who_and_what(workspace: Workspace, versions: PlaybookVersions) -> None:
    v2 = edited(2, decision_maker_points=20)
    published = versions.publish(v2, "ann", LATER)
    assert workspace.playbook_path.read_text(encoding="utf-8") == v2
    assert workspace.playbook().version == 2
    record = published.record
    assert (record.seq, record.version, record.action, record.published_by, record.published_at) == (
        2,
        2,
        "publish",
        "ann",
        LATER,
    )
    assert record.replaced_version == 1 and record.replaced_digest == versions.history.history()[0].digest
    assert [change.sentence for change in published.changes] == [
        "Version changes from 1 to 2.",
        "Fit rule “Decision maker”: points changes from 15 to 20.",
    ]
    assert [(row.version, row.action) for row in versions.versions(LATER)] == [(1, "initial"), (2, "publish")]
    assert versions.text_of(1, LATER) == V1 and versions.text_of(2, LATER) == v2


def test_the_history_survives_a_new_connection(workspace: Workspace) -> None:
    PlaybookVersions(workspace.store, workspace.playbook_path).publish(edited(2), "ann", LATER)
    workspace.close()
    reopened = Workspace(workspace.root)
    try:
        history = PlaybookVersions(reopened.store, reopened.playbook_path).versions(LATER)
        assert [(row.version, row.action, row.published_by) for row in history] == [
            (1, "initial", None),
            (2, "publish", "ann"),
        ]
    finally:
        reopened.close()


def test_a_bad_playbook_is_refused_with_every_issue_and_changes_nothing(
    workspace: Workspace, versions: PlaybookVersions
) -> None:
    bad = (
        edited(2)
        .replace('when: "fit >= 30 and', 'when: "fitt >= 30 and')
        .replace("timezone: Europe/Paris", "timezone: Europe/Pariss")
    )
    with pytest.raises(PlaybookInvalid) as refused:
        versions.publish(bad, "ann", LATER, filename="draft.yaml")
    issues = refused.value.issues
    assert [(issue.file, issue.line, issue.code) for issue in issues] == [
        ("draft.yaml", line_of(bad, "timezone: Europe/Pariss"), "PB106"),
        ("draft.yaml", line_of(bad, "fitt >= 30"), "PB102"),
    ]
    assert workspace.playbook_path.read_text(encoding="utf-8") == V1
    assert versions.history.history() == []  # not even the initial file was recorded


@pytest.mark.parametrize("number", [1, 0])
def test_a_version_number_not_above_the_published_ones_is_refused(
    workspace: Workspace, versions: PlaybookVersions, number: int
) -> None:
    text = edited(number, decision_maker_points=30) if number else V1.replace("version: 1\n", "version: 0\n")
    with pytest.raises((Conflict, PlaybookInvalid)) as refused:
        versions.publish(text, "ann", LATER)
    if number == 1:  # a valid playbook reusing the number in force
        assert isinstance(refused.value, Conflict)
        assert "version 1 is not above the published versions (the highest is 1)" in str(refused.value)
        assert "version: 2" in str(refused.value)
    else:  # 0 is not a version at all
        assert isinstance(refused.value, PlaybookInvalid)
    assert workspace.playbook_path.read_text(encoding="utf-8") == V1


def test_rollback_puts_the_old_text_back_and_numbers_keep_going_up(
    workspace: Workspace, versions: PlaybookVersions
) -> None:
    versions.publish(edited(2, 20), "ann", NOW)
    versions.publish(edited(3, 25), "ann", NOW)
    back = versions.rollback(1, "bob", LATER)
    assert workspace.playbook_path.read_text(encoding="utf-8") == V1
    record = back.record
    assert (record.seq, record.version, record.action, record.published_by, record.replaced_version) == (
        4,
        1,
        "rollback",
        "bob",
        3,
    )
    assert "Fit rule “Decision maker”: points changes from 25 to 15." in [change.sentence for change in back.changes]
    assert versions.text_of(1, LATER) == V1  # still the published text, not the roll back's row
    with pytest.raises(Conflict, match="version 1 is already the playbook in force"):
        versions.rollback(1, "bob", LATER)
    with pytest.raises(Conflict, match="the highest is 3"):  # 2 and 3 stay taken
        versions.publish(edited(2, 40), "ann", LATER)
    versions.publish(edited(4, 40), "ann", LATER)
    assert workspace.playbook().version == 4
    listing = versions.listing(LATER)
    assert [(row.seq, row.version, row.action, row.in_force) for row in listing] == [
        (1, 1, "initial", False),
        (2, 2, "publish", False),
        (3, 3, "publish", False),
        (4, 1, "rollback", False),
        (5, 4, "publish", True),
    ]


def test_rollback_to_an_unknown_version_is_not_found(workspace: Workspace, versions: PlaybookVersions) -> None:
    with pytest.raises(NotFound, match=r"no published playbook version 7 \(published versions: 1\)"):
        versions.rollback(7, "bob", LATER)
    assert workspace.playbook_path.read_text(encoding="utf-8") == V1


def test_diff_between_versions(versions: PlaybookVersions) -> None:
    versions.publish(edited(2, 20), "ann", NOW)
    versions.publish(edited(3, 25), "ann", NOW)
    assert [change.sentence for change in versions.diff(1, 3, LATER)] == [
        "Version changes from 1 to 3.",
        "Fit rule “Decision maker”: points changes from 15 to 25.",
    ]
    assert [change.sentence for change in versions.diff(2, None, LATER)] == [  # to the playbook in force (3)
        "Version changes from 2 to 3.",
        "Fit rule “Decision maker”: points changes from 20 to 25.",
    ]
    assert versions.diff(3, 3, LATER) == []


def test_a_hand_edit_is_recorded_before_it_is_replaced(workspace: Workspace, versions: PlaybookVersions) -> None:
    versions.publish(edited(2), "ann", NOW)
    workspace.playbook_path.write_text(edited(5, 50), encoding="utf-8")
    versions.publish(edited(6), "ann", LATER)
    assert [(row.version, row.action, row.replaced_version) for row in versions.versions(LATER)] == [
        (1, "initial", None),
        (2, "publish", 1),
        (5, "edited", 2),
        (6, "publish", 5),
    ]
    versions.rollback(5, "bob", LATER)
    assert workspace.playbook_path.read_text(encoding="utf-8") == edited(5, 50)


def test_the_file_is_replaced_whole_and_keeps_its_permissions(workspace: Workspace, versions: PlaybookVersions) -> None:
    workspace.playbook_path.chmod(0o640)
    versions.publish(edited(2), "ann", LATER)
    assert stat.S_IMODE(workspace.playbook_path.stat().st_mode) == 0o640
    assert [path.name for path in workspace.root.iterdir() if path.name.endswith(".tmp")] == []  # no temporary left


# -- the CLI -------------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert run(capsys, "init", str(tmp_path / "ws"))[0] == 0
    return tmp_path / "ws"


def test_cli_publish_versions_show_rollback(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    draft = tmp_path / "v2.yaml"
    draft.write_text(edited(2, 20), encoding="utf-8")
    status, out, _ = run(capsys, "-w", str(root), "playbook", "publish", str(draft), "--by", "ann")
    assert status == 0
    assert "Published “acme-saas” version 2" in out and "replacing version 1" in out
    assert "Fit rule “Decision maker”: points changes from 15 to 20." in out
    assert (root / "playbook.yaml").read_text(encoding="utf-8") == edited(2, 20)

    status, out, _ = run(capsys, "-w", str(root), "playbook", "versions", "--json")
    rows = json.loads(out)
    assert [(row["version"], row["action"], row["published_by"], row["in_force"]) for row in rows] == [
        (1, "initial", None, False),
        (2, "publish", "ann", True),
    ]
    assert all("text" not in row for row in rows)
    status, out, _ = run(capsys, "-w", str(root), "playbook", "versions")
    assert status == 0 and "initial" in out and "in force" in out

    assert run(capsys, "-w", str(root), "playbook", "show", "v1")[1] == V1
    assert run(capsys, "-w", str(root), "playbook", "show", "1")[1] == V1
    assert run(capsys, "-w", str(root), "playbook", "show")[1] == edited(2, 20)

    status, out, _ = run(capsys, "-w", str(root), "playbook", "rollback", "v1", "--by", "bob", "--json")
    assert status == 0
    answer = json.loads(out)
    assert (answer["version"]["version"], answer["version"]["action"], answer["version"]["replaced_version"]) == (
        1,
        "rollback",
        2,
    )
    assert (root / "playbook.yaml").read_text(encoding="utf-8") == V1


def test_cli_diff_takes_files_and_published_versions(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = tmp_path / "v2.yaml"
    draft.write_text(edited(2, 20), encoding="utf-8")
    run(capsys, "-w", str(root), "playbook", "publish", str(draft))
    for argv in (("v1", "v2"), ("v1",), ("v1", str(draft))):
        status, out, _ = run(capsys, "-w", str(root), "playbook", "diff", *argv, "--json")
        assert status == 0, argv
        assert [change["sentence"] for change in json.loads(out)] == [
            "Version changes from 1 to 2.",
            "Fit rule “Decision maker”: points changes from 15 to 20.",
        ], argv
    status, out, _ = run(capsys, "-w", str(root), "playbook", "diff", "v2")
    assert status == 0 and "No difference." in out
    status, _, err = run(capsys, "-w", str(root), "playbook", "diff", "v9", "v2")
    assert status == 2 and "no published playbook version 9" in err


def test_cli_refusals_change_nothing(root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad_text = edited(2).replace('when: "fit >= 30 and', 'when: "fitt >= 30 and')
    bad.write_text(bad_text, encoding="utf-8")
    status, _, err = run(capsys, "-w", str(root), "playbook", "publish", str(bad))
    assert status == 2
    assert f"{bad}:{line_of(bad_text, 'fitt >= 30')}:" in err and "PB102" in err
    same = tmp_path / "same.yaml"
    same.write_text(edited(1, 20), encoding="utf-8")
    status, _, err = run(capsys, "-w", str(root), "playbook", "publish", str(same))
    assert status == 2 and "version 1 is not above the published versions" in err
    status, _, err = run(capsys, "-w", str(root), "playbook", "rollback", "last")
    assert status == 2 and "'last' is not a playbook version" in err
    status, _, err = run(capsys, "-w", str(root), "playbook", "publish", str(tmp_path / "missing.yaml"))
    assert status == 2 and "no such playbook file" in err
    assert (root / "playbook.yaml").read_text(encoding="utf-8") == V1
    _, out, _ = run(capsys, "-w", str(root), "playbook", "versions", "--json")
    assert [row["action"] for row in json.loads(out)] == ["initial"]


def test_a_cycle_after_publish_records_the_new_version(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """zoe requested a demo (40 engagement points) but has no fit: v1 wants fit >= 30 for an MQL, v2 does not."""
    events = tmp_path / "events.jsonl"
    events.write_text(
        json.dumps(
            {
                "type": "track",
                "messageId": "t1",
                "userId": "zoe",
                "event": "demo_requested",
                "timestamp": "2026-11-20T10:00:00Z",
            }
        )
        + "\n"
    )
    assert run(capsys, "-w", str(root), "import", "events", str(events))[0] == 0
    assert run(capsys, "-w", str(root), "cycle", "--as-of", "2026-11-21T00:00:00")[0] == 0
    draft = tmp_path / "v2.yaml"
    draft.write_text(edited(2).replace('when: "fit >= 30 and engagement >= 40"', 'when: "engagement >= 40"'))
    assert run(capsys, "-w", str(root), "playbook", "publish", str(draft))[0] == 0
    assert run(capsys, "-w", str(root), "cycle", "--as-of", "2026-11-21T01:00:00")[0] == 0
    workspace = Workspace(root)
    try:
        assert workspace.store._run("SELECT target, playbook_version FROM transitions ORDER BY seq") == [
            ("mql", 2),
            ("sal_pending", 2),  # routed at once
        ]
    finally:
        workspace.close()


def test_windows_line_ends_are_published_as_the_file_reads_back(
    workspace: Workspace, versions: PlaybookVersions
) -> None:
    published = versions.publish(edited(2).replace("\n", "\r\n"), "ann", LATER)
    assert workspace.playbook_path.read_bytes() == edited(2).encode()
    assert published.record.digest == workspace.playbook().digest
    assert [row.in_force for row in versions.listing(LATER)] == [False, True]


def test_a_character_yaml_refuses_is_reported_at_its_place(workspace: Workspace, versions: PlaybookVersions) -> None:
    text = "name: acme\nversion: 2\nscoring: \x15\n"
    with pytest.raises(PlaybookInvalid) as refused:
        versions.publish(text, "ann", LATER, filename="draft.yaml")
    assert [(issue.line, issue.column, issue.code) for issue in refused.value.issues] == [(3, 10, "PB001")]
    assert "#x0015" in refused.value.issues[0].message
    assert workspace.playbook_path.read_text(encoding="utf-8") == V1
