"""Batch scoring on Spark: ``leadgate score --engine spark --output DIR``.

The workspace's facts are exported as Parquet (or read from a folder that already holds such an
export: ``--facts``), registered in a Spark session whose master is the ``spark_master``
setting (``local[*]`` by default, a cluster's URL in production), and scored by the same Ibis
expression as on DuckDB (``tests/test_spark_conformance.py`` checks every column agrees). The
scores, stamped with their moment and playbook version, are written as a Parquet folder: a
batch job's output, for the warehouse. The workspace's own scores are left as they were.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadgate.errors import InputError
from leadgate.playbook.compiled import Playbook
from leadgate.scoring.engine import score_leads
from leadgate.service.scoring import stamped
from leadgate.store.base import Store
from leadgate.store.spark_store import FACT_FILES, SparkStore


@dataclass(frozen=True)
class SparkRun:
    leads_scored: int
    output: Path
    master: str


def spark_session(master: str) -> Any:
    """The process's Spark session (started on first use), its clock in UTC as leadgate's times are."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master(master)
        .appName("leadgate")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def score_on_spark(
    store: Store, playbook: Playbook, as_of: dt.datetime, output: Path, master: str, facts: Path | None = None
) -> SparkRun:
    """Score every lead as of ``as_of`` on Spark and write the scores to ``output`` (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="leadgate-spark-") as scratch:
        directory = facts if facts is not None else Path(scratch) / "facts"
        if facts is None:
            store.export_facts(directory)
        spark = SparkStore(spark_session(master), directory)
        spark.write_scores(stamped(score_leads(spark.facts(), playbook, as_of), playbook, as_of), output)
        leads = spark.session.read.parquet(str(output)).count()
    return SparkRun(leads, output, master)


def check_facts_folder(directory: Path) -> None:
    """A ``--facts`` folder must hold the Parquet files of ``leadgate export facts``."""
    missing = [f"{name}.parquet" for name in FACT_FILES if not (directory / f"{name}.parquet").exists()]
    if missing:
        raise InputError(f"{directory}: no {', '.join(missing)} here; write them with 'leadgate export facts'")
