"""Trained models and their predictions, kept in the workspace's store.

``models``: one row per trained model, never changed: its version, what it was trained on
(the playbook version, the window of episodes, the feature list), its metrics beside the
logistic baseline's, and the model itself (a pickle, as base64 text: every engine stores text).
``lead_predictions``: the latest prediction run, one row per lead: ``p_convert`` from the model
version named. Predictions live apart from scores and decisions: nothing here overwrites them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import pickle
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from leadgate.predict.learners import FittedModel
from leadgate.store.base import Store
from leadgate.store.schema import ARROW_TYPES, MODEL_TABLES


@dataclass(frozen=True)
class ModelRecord:
    """One stored model, without the model itself (see :meth:`ModelStore.load`)."""

    version: int
    trained_at: dt.datetime
    as_of: dt.datetime
    playbook_version: int
    converts_at: str
    window_start: dt.datetime
    window_end: dt.datetime
    validation_from: dt.datetime
    n_train: int
    n_validation: int
    features: list[str]
    metrics: dict[str, Any]
    baseline_metrics: dict[str, Any]


_RECORD_COLUMNS = [name for name in MODEL_TABLES["models"] if name != "model"]


class ModelStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, record: ModelRecord, model: FittedModel) -> None:
        values = {**record.__dict__}
        values["features"] = json.dumps(record.features)
        values["metrics"] = json.dumps(record.metrics)
        values["baseline_metrics"] = json.dumps(record.baseline_metrics)
        values["model"] = base64.b64encode(pickle.dumps(model)).decode("ascii")
        columns = list(MODEL_TABLES["models"])
        self.store._run(
            f"INSERT INTO models ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            [values[name] for name in columns],
        )

    def next_version(self) -> int:
        row = self.store._one("SELECT coalesce(max(version), 0) + 1 FROM models")
        return int(row[0]) if row else 1

    def latest(self) -> ModelRecord | None:
        row = self.store._one(f"SELECT {', '.join(_RECORD_COLUMNS)} FROM models ORDER BY version DESC LIMIT 1")
        return _record(row) if row else None

    def all(self) -> list[ModelRecord]:
        return [
            _record(row) for row in self.store._run(f"SELECT {', '.join(_RECORD_COLUMNS)} FROM models ORDER BY version")
        ]

    def load(self, version: int) -> FittedModel:
        """The model itself. Unpickling runs code from the store: only load a workspace you trust."""
        row = self.store._one("SELECT model FROM models WHERE version = ?", [version])
        if row is None:
            raise KeyError(version)
        model = pickle.loads(base64.b64decode(row[0]))
        assert isinstance(model, FittedModel)
        return model

    def replace_predictions(self, rows: pa.Table) -> None:
        """The latest predictions, one row per lead (the previous run's rows are replaced)."""
        columns = MODEL_TABLES["lead_predictions"]
        schema = pa.schema([(name, ARROW_TYPES[kind]) for name, kind in columns.items()])
        self.store.replace_table_from_arrow("lead_predictions", rows.select(list(columns)).cast(schema))

    def predictions(self) -> list[tuple[Any, ...]]:
        """(lead_key, lead_id, model_version, p_convert, as_of, top_factors), the likeliest first."""
        return self.store._run(
            """SELECT l.lead_key, p.id_value, l.model_version, l.p_convert, l.as_of, l.top_factors
               FROM lead_predictions AS l LEFT JOIN person_keys AS p
               ON p.id_kind = 'user' AND p.lead_key = l.lead_key AND p.first_key = p.lead_key
               ORDER BY l.p_convert DESC, l.lead_key"""
        )


def _record(row: tuple[Any, ...]) -> ModelRecord:
    values = dict(zip(_RECORD_COLUMNS, row, strict=True))
    for name in ("features", "metrics", "baseline_metrics"):
        values[name] = json.loads(values[name])
    return ModelRecord(**values)
