"""``leadgate report`` end to end, and a funnel from a CRM export (leads with stage dates, then deals).

The export, by hand:

- webinar: c1 (MQL 09-03, SQL 09-10, won 10-01) and c2 (MQL 09-05).
- paid search: c3 (MQL 09-04, SQL 09-08, won 09-20), c4 (never qualified), c5 (MQL 09-07,
  SQL 09-09, lost 09-30).

So, per source: webinar 2 inquiries, 2 qualified, 1 won, time to close 28 days (09-03 to
10-01); paid search 3 inquiries, 2 qualified, 1 won, time to close 16 days (09-04 to 09-20).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli_runs import run

LEADS = """Contact ID,Lead Source,Created,First MQL Date,SQL Date
c1,webinar,2026-09-01,2026-09-03,2026-09-10
c2,webinar,2026-09-02,2026-09-05,
c3,paid search,2026-09-02,2026-09-04,2026-09-08
c4,paid search,2026-09-05,,
c5,paid search,2026-09-06,2026-09-07,2026-09-09
"""
LEADS_MAP = "lead_id=Contact ID,source=Lead Source,learnt_at=Created,mql_at=First MQL Date,sql_at=SQL Date"
DEALS = """Contact ID,Won Date,Lost Date
c1,2026-10-01,
c3,2026-09-20,
c5,,2026-09-30
"""


@pytest.fixture
def crm_workspace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    workspace = tmp_path / "crm"
    assert run(capsys, "init", str(workspace))[0] == 0
    (tmp_path / "leads.csv").write_text(LEADS)
    (tmp_path / "deals.csv").write_text(DEALS)
    leads = ["import", "leads", str(tmp_path / "leads.csv"), "--map", LEADS_MAP, "--json"]
    status, out, err = run(capsys, "-w", str(workspace), *leads)
    assert status == 0, err
    assert json.loads(out)["stage_moves"] == 13  # c1, c3, c5: mql, sal_pending, sal, sql; c2: mql
    deals = ["--map", "lead_id=Contact ID,won_at=Won Date,lost_at=Lost Date"]
    status, _, err = run(capsys, "-w", str(workspace), "import", "outcomes", str(tmp_path / "deals.csv"), *deals)
    assert status == 0, err
    return workspace


def report_json(capsys: pytest.CaptureFixture[str], workspace: Path, *options: str) -> dict[str, Any]:
    status, out, err = run(capsys, "-w", str(workspace), "report", "--json", *options)
    assert status == 0, err
    return json.loads(out)


def test_a_crm_export_gives_conversion_and_time_to_close_per_source(
    crm_workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = report_json(capsys, crm_workspace, "--by", "source")
    by_source = {
        (row["step_from"], row["step_to"], row["value"]): (row["entered"], row["converted"])
        for row in report["conversion_by"]
    }
    assert by_source["inquiry", "mql", "webinar"] == (2, 2)
    assert by_source["inquiry", "mql", "paid search"] == (3, 2)
    assert by_source["qualified", "won", "webinar"] == (2, 1)
    assert by_source["qualified", "won", "paid search"] == (2, 1)
    assert by_source["sql", "won", "paid search"] == (2, 1)
    close = {
        row["value"]: row["median_days"]
        for row in report["velocity_by"]
        if (row["step_from"], row["step_to"]) == ("qualified", "won")
    }
    assert close == {"webinar": 28.0, "paid search": 16.0}
    assert [(row["stage"], row["leads"]) for row in report["funnel"]] == [
        ("inquiry", 5), ("qualified", 4), ("sal", 3), ("sql", 3), ("opportunity", 0), ("won", 2)
    ]  # fmt: skip


def test_importing_the_same_export_again_moves_nothing(
    crm_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(
        capsys, "-w", str(crm_workspace), "import", "leads", str(tmp_path / "leads.csv"), "--map", LEADS_MAP, "--json"
    )
    assert status == 0
    assert json.loads(out)["stage_moves"] == 0


def test_stage_dates_out_of_order_import_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    workspace = tmp_path / "w"
    run(capsys, "init", str(workspace))
    (tmp_path / "bad.csv").write_text("lead_id,mql_at,sql_at\nz1,2026-09-10,2026-09-01\n")
    status, _, err = run(capsys, "-w", str(workspace), "import", "leads", str(tmp_path / "bad.csv"))
    assert status == 2
    assert "bad.csv:2: IM008 sql_at 2026-09-01 00:00 comes before the lead became" in err
    assert report_json(capsys, workspace)["leads"] == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--from", "yesterday"], "--from 'yesterday': write a date or time like"),
        (["--from", "2026-10-01", "--to", "2026-09-01"], "--from 2026-10-01 is not before --to 2026-09-01"),
        (
            ["--by", "colour"],
            "--by 'colour': choose one of source, medium, campaign, segment, playbook_version, owner, team",
        ),
        (["--cohort", "day"], "--cohort 'day': choose week or month"),
    ],
)
def test_bad_options_say_what_is_wrong(
    crm_workspace: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    status, _, err = run(capsys, "-w", str(crm_workspace), "report", *options)
    assert status == 2
    assert message in err


def test_terminal_tables_and_a_self_contained_html_page(
    crm_workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "report.html"
    status, out, err = run(capsys, "-w", str(crm_workspace), "report", "--by", "source", "--html", str(page))
    assert status == 0, err
    assert "Conversion and velocity" in out and "paid search" in out
    assert "Leads entering each stage" in out and "Cohort conversion" in out  # volume and trends
    assert "No predictive model yet" in out
    text = page.read_text()
    assert "<script src=" not in text  # nothing fetched from the network: plotly's code is inside
    assert "Plotly.newPlot" in text and "Funnel report: crm" in text
    assert text.count("Plotly.newPlot") == 7  # the eight charts but the model's: no model was trained
