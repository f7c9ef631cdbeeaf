"""The targets of the benchmark and the summary printed (and saved) at the end of a run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

GB = 1024**3


@dataclass(frozen=True)
class Target:
    """One figure the issue sets a limit for."""

    name: str
    measured: float
    limit: float
    unit: str
    at_most: bool  # True: the measured value must not exceed the limit

    @property
    def met(self) -> bool:
        return self.measured <= self.limit if self.at_most else self.measured >= self.limit

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "measured": self.measured,
            "limit": self.limit,
            "unit": self.unit,
            "comparison": "<=" if self.at_most else ">=",
            "result": "PASS" if self.met else "MISS",
        }


def targets(results: dict[str, Any]) -> list[Target]:
    """The issues' targets, checked against a run's results."""
    full, hand, incremental, cycle = (results[key] for key in ("leadgate", "hand", "incremental", "cycle"))
    return [
        Target("time ratio leadgate / hand-written", full["best"] / hand["best"], 1.2, "x", at_most=True),
        Target("events per second (leadgate)", results["dataset"]["events"] / full["best"], 20e6, "events/s", False),
        Target("peak RSS, leadgate full scoring", full["peak_rss_bytes"] / GB, 6.0, "GB", at_most=True),
        Target("incremental scoring (10k events)", incremental["seconds"], 0.2, "s", at_most=True),
        Target("cycle, 1% of 1M leads touched (best)", cycle["best"], 1.0, "s", at_most=True),
    ]


def summary(results: dict[str, Any]) -> str:
    """A plain-text report of a run: what was measured, then the targets with PASS or MISS."""
    data, machine = results["dataset"], results["machine"]
    prepared, full, hand, incremental = (results[key] for key in ("prepare", "leadgate", "hand", "incremental"))
    comparison, check = hand["comparison"], incremental["check"]
    lines = [
        f"leadgate bench: {data['events']:,} events, {data['leads']:,} leads, {data['accounts']:,} accounts",
        f"machine: {machine['cpus']} CPUs, load average {machine['load_before']:.2f} before, "
        f"{machine['load_after']:.2f} after (others' work makes timings noisy); duckdb {machine['duckdb']}, "
        f"ibis {machine['ibis']}",
        "",
        _data_line(prepared),
        f"leadgate full scoring   first {full['first']:7.2f} s   best {full['best']:7.2f} s   "
        f"peak RSS {_gb(full['peak_rss_bytes'])}",
        f"  of which Python: {_python(full)}",
        f"hand-written DuckDB     first {hand['first']:7.2f} s   best {hand['best']:7.2f} s   "
        f"peak RSS {_gb(hand['peak_rss_bytes'])}",
        f"  same results: max |difference| {comparison['max_abs_difference']:.1e} ({comparison['worst_column']}) "
        f"over {comparison['leads']:,} leads, {comparison['unmatched_leads']} unmatched, "
        f"stage mismatches {comparison['text_mismatches']['stage']}",
        f"ratio (best / best)     {full['best'] / hand['best']:.2f}",
        f"events per second       {data['events'] / full['best'] / 1e6:.1f} M (leadgate), "
        f"{data['events'] / hand['best'] / 1e6:.1f} M (hand-written)",
        f"incremental             {incremental['events']:,} new events on {incremental['leads_touched']:,} leads: "
        f"import commit {incremental['commit_seconds']:.3f} s (peak RSS {_gb(incremental['commit_peak_rss_bytes'])}), "
        f"then rescoring {incremental['seconds']:.3f} s ({incremental['kind']}, {incremental['leads_rescored']:,} leads, "
        f"peak RSS {_gb(incremental['peak_rss_bytes'])})",
        f"  of which Python: {_python(incremental)}",
        f"  same as a full scoring: max |difference| {check['max_abs_difference']:.1e} over {check['leads']:,} "
        f"rescored leads, {check['touched_leads_rescored']:,} of the touched leads among them",
        _import_line(results["import"]),
        *_cycle_lines(results["cycle"]),
        "",
        f"{'target':<38} {'measured':>14} {'limit':>14}  result",
    ]
    for target in targets(results):
        sign = "<=" if target.at_most else ">="
        lines.append(
            f"{target.name:<38} {_figure(target.measured, target.unit):>14} "
            f"{sign + ' ' + _figure(target.limit, target.unit):>14}  {'PASS' if target.met else 'MISS'}"
        )
    return "\n".join(lines)


def _import_line(imported: dict[str, Any]) -> str:
    rate = imported["lines"] / imported["seconds"]
    return (
        f"import events           {imported['lines']:,} Segment messages ({_gb(imported['file_bytes'])} of JSON lines) "
        f"in {imported['seconds']:.1f} s ({rate / 1000:.0f}k lines/s), DuckDB memory limit "
        f"{imported['memory_limit']}, peak RSS {_gb(imported['peak_rss_bytes'])}"
    )


def _cycle_lines(cycle: dict[str, Any]) -> list[str]:
    first, check, added = cycle["first_cycle"], cycle["check"], cycle["added"]
    python = cycle["python_seconds"]
    return [
        f"first cycle (full)      {first['seconds']:7.2f} s: {first['leads_rescored']:,} leads scored, "
        f"{first['qualified']:,} qualified and routed, peak RSS {_gb(first['peak_rss_bytes'])}",
        f"  {_steps(first['steps'])}",
        f"cycle (incremental)     {cycle['events']:,} new events on {cycle['leads_touched']:,} leads: import commit "
        f"{cycle['commit_seconds']:.2f} s, then the cycle first {cycle['first']:.3f} s, best {cycle['best']:.3f} s "
        f"({cycle['leads_rescored']:,} leads rescored, {added['transitions']:,} transitions and "
        f"{added['assignments']:,} assignments added, peak RSS {_gb(cycle['peak_rss_bytes'])}, "
        f"{_gb(cycle['rss_before_bytes'])} of it held before the cycle)",
        f"  {_steps(cycle['steps'])}; building the scoring expression {python['build']:.2f} s and compiling it "
        f"{python['compile']:.2f} s are part of the scoring",
        f"  same as a full scoring: max |difference| {check['scores']['max_abs_difference']:.1e} over "
        f"{check['scores']['leads']:,} rescored leads; the {check['moved']['expected']:,} leads that qualified "
        f"since the first cycle, and no other, were moved to MQL and routed",
    ]


def _steps(steps: dict[str, float]) -> str:
    return (
        f"scoring {steps['scoring']:.3f} s, moving {steps['moving']:.3f} s, routing {steps['routing']:.3f} s, "
        f"SLA check {steps['sla']:.3f} s; writing facts and lead states took {steps['writing']:.3f} s of these"
    )


def _data_line(prepared: dict[str, Any]) -> str:
    rows = ", ".join(f"{table} {count:,}" for table, count in prepared["rows"].items())
    if prepared["generated"]:
        return f"data generated in {prepared['seconds']:.1f} s ({rows})"
    return f"data reused from an earlier run, reset in {prepared['seconds']:.1f} s ({rows})"


def _python(phase: dict[str, Any]) -> str:
    python = phase["python_seconds"]
    return f"building the Ibis expression {python['build']:.2f} s, compiling it to SQL {python['compile']:.2f} s"


def _gb(size: float) -> str:
    return f"{size / GB:.2f} GB"


def _figure(value: float, unit: str) -> str:
    if unit == "events/s":
        return f"{value / 1e6:.1f} M/s"
    if unit == "x":
        return f"{value:.2f}"
    if unit == "s":
        return f"{value:.3f} s"
    return f"{value:.2f} {unit}"
