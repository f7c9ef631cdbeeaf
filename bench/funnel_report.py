"""Time ``leadgate report`` over a store of N leads with a full lifecycle history.

    .venv/bin/python bench/funnel_report.py [--leads 1000000] [--events 5000000] [--workspace DIR]

The facts (leads, traits, accounts, events) come from ``bench/generate.py``; the lifecycle
history is generated here in DuckDB SQL, drawn from ``hash(lead, seed, purpose)``: three leads
in ten qualify (one in five of them as PQL) at a moment of the last year and are routed to one
of eight reps with a 4-hour deadline; then 80 % are accepted within 8 hours (some late), 15 %
rejected with one of eight reasons (half recycled, half disqualified; a third of the recycled
qualify again a month later), 5 % breach the SLA and are recycled; 60 % of the accepted become
SQL, 80 % of those opportunities, a quarter of which are won and half lost.

The store is generated once per size (``dataset.json`` in the workspace) and reused. Each run
times the whole command (``leadgate report --json`` and ``--html``), process start included,
and prints the figures as JSON.

Measured on the shared 2-core development machine (2026-11-27, other jobs running: load
average 2 to 3), three runs: 1,000,000 leads, 5,000,000 events, 1,306,944 transitions,
300,083 assignments, 285,309 decisions and 14,774 SLA breaches; ``report --json`` 7.9 to
9.9 s, ``report --json --by source`` 8.9 to 9.7 s, ``report --html`` 7.7 to 9.3 s
(generating the store: 32 s, once).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from generate import DatasetSize, draw, generate, pick

from leadgate.store.duckdb_store import DuckDBStore

DESCRIPTION = "funnel-dataset.json"
LEADGATE = str(Path(sys.executable).parent / "leadgate")  # the console script of this environment
REPS = ["ana", "bruno", "chloe", "dev", "emma", "farid", "gita", "hugo"]
REASONS = [
    "not_icp",
    "student",
    "competitor",
    "duplicate",
    "no_budget",
    "bad_timing",
    "not_reachable",
    "bad_contact_data",
]
HOUR = 3600
DAY = 86400


def plan_sql(size: DatasetSize) -> str:
    """One row per qualifying lead: what happens to it and when (seconds after qualifying)."""
    seed = size.seed
    outcome = draw("k", seed, "answer", 100)
    return f"""
    CREATE OR REPLACE TEMP TABLE bench_plan AS
    SELECT k AS lead_key,
        TIMESTAMP '2026-12-01' - to_seconds({draw("k", seed, "qualified_at", 360 * DAY)}::BIGINT) - INTERVAL 5 DAY AS q_at,
        CASE WHEN {draw("k", seed, "pql", 5)} = 0 THEN 'pql' ELSE 'mql' END AS q_stage,
        ({draw("k", seed, "score", 160)} - 20)::DOUBLE AS score,
        1 + {draw("k", seed, "version", 3)} AS version,
        {pick(REPS, "k", seed, "rep")} AS owner,
        CASE WHEN {outcome} < 80 THEN 'accept' WHEN {outcome} < 95 THEN 'reject' ELSE 'breach' END AS answer,
        {draw("k", seed, "answer_delay", 8 * HOUR)} AS answer_after,
        {pick(REASONS, "k", seed, "reason")} AS reason,
        {draw("k", seed, "recycle", 2)} = 0 AS recycles,
        {draw("k", seed, "requalify", 3)} = 0 AS requalifies,
        {draw("k", seed, "sql", 100)} < 60 AS becomes_sql,
        {draw("k", seed, "sql_delay", 20 * DAY)} AS sql_after,
        {draw("k", seed, "opportunity", 100)} < 80 AS opens,
        {draw("k", seed, "opportunity_delay", 10 * DAY)} AS opportunity_after,
        {draw("k", seed, "close", 4)} AS close,
        {draw("k", seed, "close_delay", 60 * DAY)} AS close_after
    FROM range(1, {size.leads + 1}) AS r(k)
    WHERE {draw("k", seed, "qualifies", 100)} < 30
    """


MOVES = """
    SELECT lead_key, 'inquiry' AS source, q_stage AS target, 'rule' AS cause, q_at AS moved_at, score, version FROM bench_plan
    UNION ALL SELECT lead_key, q_stage, 'sal_pending', 'routing', q_at, score, version FROM bench_plan
    UNION ALL SELECT lead_key, 'sal_pending', 'sal', 'decision', q_at + to_seconds(answer_after), score, version
        FROM bench_plan WHERE answer = 'accept'
    UNION ALL SELECT lead_key, 'sal_pending', 'rejected', 'decision', q_at + to_seconds(answer_after), score, version
        FROM bench_plan WHERE answer = 'reject'
    UNION ALL SELECT lead_key, 'rejected', CASE WHEN recycles THEN 'recycled' ELSE 'disqualified' END, 'consequence',
        q_at + to_seconds(answer_after), score, version FROM bench_plan WHERE answer = 'reject'
    UNION ALL SELECT lead_key, 'sal_pending', 'recycled', 'sla', q_at + INTERVAL 1 DAY, score, version
        FROM bench_plan WHERE answer = 'breach'
    UNION ALL SELECT lead_key, 'recycled', 'mql', 'rule', q_at + INTERVAL 30 DAY, score + 10, version
        FROM bench_plan WHERE requalifies AND (answer = 'breach' OR (answer = 'reject' AND recycles))
    UNION ALL SELECT lead_key, 'sal', 'sql', 'decision', q_at + to_seconds(answer_after + sql_after), score, version
        FROM bench_plan WHERE answer = 'accept' AND becomes_sql
    UNION ALL SELECT lead_key, 'sql', 'opportunity', 'decision', q_at + to_seconds(answer_after + sql_after + opportunity_after),
        score, version FROM bench_plan WHERE answer = 'accept' AND becomes_sql AND opens
    UNION ALL SELECT lead_key, 'opportunity', CASE WHEN close = 0 THEN 'won' ELSE 'lost' END, 'decision',
        q_at + to_seconds(answer_after + sql_after + opportunity_after + close_after), score, version
        FROM bench_plan WHERE answer = 'accept' AND becomes_sql AND opens AND close < 3
"""

DECISIONS = """
    SELECT lead_key, 'accept' AS kind, q_at + to_seconds(answer_after) AS decided_at, NULL AS reason FROM bench_plan WHERE answer = 'accept'
    UNION ALL SELECT lead_key, 'reject', q_at + to_seconds(answer_after), reason FROM bench_plan WHERE answer = 'reject'
"""


def lifecycle_statements() -> list[str]:
    """Insert the moves, assignments, decisions and breaches of ``bench_plan``."""
    return [
        f"""INSERT INTO transitions SELECT 't' || seq, seq, lead_key, source, target, cause, 'bench', 'leadgate', moved_at,
            version, score, NULL, NULL, NULL, NULL, false
            FROM (SELECT *, 1000000000 + row_number() OVER () AS seq FROM ({MOVES}))""",
        """INSERT INTO assignments SELECT 'a' || lead_key, 2000000000 + lead_key, lead_key, owner,
            CASE WHEN owner < 'e' THEN 'smb' ELSE 'enterprise' END, 'rep', 'bench', 'round_robin', 'bench', q_at,
            q_at + INTERVAL 4 HOUR, 'routing' FROM bench_plan""",
        f"""INSERT INTO decisions SELECT 'd' || seq, seq, d.lead_key, kind, p.owner, decided_at, d.reason, NULL, NULL, NULL, 'bench'
            FROM (SELECT *, 3000000000 + row_number() OVER () AS seq FROM ({DECISIONS})) AS d
            JOIN bench_plan AS p USING (lead_key)""",
        """INSERT INTO sla_breaches SELECT 'b' || lead_key, 4000000000 + lead_key, lead_key, owner, q_at + INTERVAL 4 HOUR,
            q_at + INTERVAL 1 DAY, 'recycle' FROM bench_plan WHERE answer = 'breach'""",
    ]


def prepare(workspace: Path, size: DatasetSize) -> dict[str, int]:
    """A workspace holding the facts and the lifecycle history (reused when its size matches)."""
    description = workspace / DESCRIPTION
    if description.exists() and json.loads(description.read_text()) == size.as_dict():
        return {}
    subprocess.run([LEADGATE, "init", str(workspace), "--force"], check=True, capture_output=True)
    store = DuckDBStore(workspace / "leadgate.duckdb")
    try:
        store.con.execute("SET enable_progress_bar = false")
        counts = generate(store.con, size)
        store.con.execute("BEGIN TRANSACTION")
        store.con.execute(plan_sql(size))
        for statement in lifecycle_statements():
            store.con.execute(statement)
        store.con.execute("COMMIT")
        store.con.execute("CHECKPOINT")
        for table in ("transitions", "assignments", "decisions", "sla_breaches"):
            counts[table] = store.count(table)
    finally:
        store.close()
    description.write_text(json.dumps(size.as_dict(), indent=2) + "\n")
    return counts


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--workspace", type=Path, default=Path("bench-workspace") / "funnel")
    args = parser.parse_args()
    size = DatasetSize(events=args.events, leads=args.leads, accounts=max(args.leads // 20, 1))
    started = time.perf_counter()
    counts = prepare(args.workspace, size)
    generated = time.perf_counter() - started
    leadgate = [LEADGATE, "-w", str(args.workspace), "report"]
    html = args.workspace / "report.html"
    figures = {
        "leads": args.leads,
        "events": args.events,
        "rows": counts or "reused",
        "generate_seconds": round(generated, 1),
        "report_json_seconds": round(timed([*leadgate, "--json"]), 2),
        "report_by_source_seconds": round(timed([*leadgate, "--json", "--by", "source"]), 2),
        "report_html_seconds": round(timed([*leadgate, "--html", str(html)]), 2),
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
