"""Rows of MLflow's tracking state: experiments, runs, logged models, artifact files."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from cairn.domain.run_data import MetricPoint
from cairn.domain.tracking import Experiment, LoggedModel, Run
from cairn.storage.sql.rows import batches, insert_new, upsert
from cairn.storage.sql.tables import (
    mlflow_artifacts,
    mlflow_experiments,
    mlflow_logged_models,
    mlflow_metrics,
    mlflow_run_versions,
    mlflow_runs,
)


class TrackingRows:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    # Experiments

    def insert_experiment(
        self, name: str, tags: dict[str, str], now: datetime
    ) -> Experiment | None:
        """The new experiment, or None if one has this name."""
        values = {
            "name": name,
            "lifecycle_stage": "active",
            "tags": tags,
            "created_at": now,
            "updated_at": now,
        }
        row = insert_new(self.conn, mlflow_experiments, values, ["name"])
        return _experiment(row) if row else None

    def ensure_default_experiment(self, now: datetime) -> None:
        """MLflow's "Default" experiment (id 0), unless it or an experiment of that name exists."""
        values = {
            "id": 0,
            "name": "Default",
            "lifecycle_stage": "active",
            "tags": {},
            "created_at": now,
            "updated_at": now,
        }
        if self.experiment(experiment_id=0) is None:
            insert_new(self.conn, mlflow_experiments, values, ["name"])

    def experiment(
        self, *, experiment_id: int | None = None, name: str | None = None
    ) -> Experiment | None:
        query = select(mlflow_experiments)
        if experiment_id is not None:
            query = query.where(mlflow_experiments.c.id == experiment_id)
        if name is not None:
            query = query.where(mlflow_experiments.c.name == name)
        row = self.conn.execute(query).mappings().first()
        return _experiment(row) if row else None

    def experiments(self, stages: list[str], limit: int) -> list[Experiment]:
        """At most ``limit`` experiments in ``stages``, by id."""
        query = select(mlflow_experiments).where(mlflow_experiments.c.lifecycle_stage.in_(stages))
        rows = self.conn.execute(query.order_by(mlflow_experiments.c.id).limit(limit))
        return [_experiment(r) for r in rows.mappings()]

    def update_experiment(self, experiment_id: int, values: dict[str, Any]) -> bool:
        """False if another experiment has the new name."""
        if "name" in values:
            query = select(mlflow_experiments.c.id).where(
                mlflow_experiments.c.name == values["name"],
                mlflow_experiments.c.id != experiment_id,
            )
            if self.conn.execute(query).first() is not None:
                return False
        table = mlflow_experiments
        self.conn.execute(update(table).where(table.c.id == experiment_id).values(**values))
        return True

    def move_runs(self, experiment_id: int, stage: str, to: str) -> int:
        """Move the experiment's runs in lifecycle ``stage`` to ``to``; how many moved."""
        t = mlflow_runs
        query = (
            update(t)
            .where(t.c.experiment_id == experiment_id, t.c.lifecycle_stage == stage)
            .values(lifecycle_stage=to)
        )
        return int(self.conn.execute(query).rowcount)

    # Runs

    def insert_run(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(mlflow_runs).values(**values))

    def run(self, run_id: str, *, lock: bool = False) -> Run | None:
        query = select(mlflow_runs).where(mlflow_runs.c.id == run_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return _run(row) if row else None

    def update_run(self, run_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(mlflow_runs).where(mlflow_runs.c.id == run_id).values(**values))

    def runs(self, experiment_ids: list[int], stages: list[str], limit: int) -> list[Run]:
        """At most ``limit`` runs of the experiments in ``stages``."""
        query = select(mlflow_runs).where(
            mlflow_runs.c.experiment_id.in_(experiment_ids),
            mlflow_runs.c.lifecycle_stage.in_(stages),
        )
        rows = self.conn.execute(query.order_by(mlflow_runs.c.id).limit(limit))
        return [_run(r) for r in rows.mappings()]

    def add_metrics(self, run_id: str, points: list[MetricPoint]) -> None:
        rows = [
            {
                "run_id": run_id,
                "key": p.key,
                "value": 0.0 if math.isnan(p.value) else p.value,
                "is_nan": math.isnan(p.value),
                "timestamp": p.timestamp,
                "step": p.step,
            }
            for p in points
        ]
        if rows:
            self.conn.execute(insert(mlflow_metrics), rows)

    def logged_points(self, run_id: str, points: list[MetricPoint]) -> set[tuple[Any, ...]]:
        """Which of ``points`` the run has already, as (key, value, timestamp, step)."""
        m = mlflow_metrics
        found: set[tuple[Any, ...]] = set()
        for batch in batches(sorted({(p.key, p.timestamp) for p in points})):
            query = select(m.c.key, m.c.value, m.c.is_nan, m.c.timestamp, m.c.step).where(
                m.c.run_id == run_id,
                m.c.key.in_({k for k, _ in batch}),
                m.c.timestamp.in_({t for _, t in batch}),
            )
            for key, value, is_nan, timestamp, step in self.conn.execute(query):
                found.add((key, "NaN" if is_nan else float(value), timestamp, step))
        return found

    def metric_history(self, run_id: str, key: str, offset: int, limit: int) -> list[MetricPoint]:
        """A metric's values in the order they were logged."""
        m = mlflow_metrics
        query = (
            select(m.c.value, m.c.is_nan, m.c.timestamp, m.c.step)
            .where(m.c.run_id == run_id, m.c.key == key)
            .order_by(m.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [
            MetricPoint(key, math.nan if is_nan else float(value), timestamp, step)
            for value, is_nan, timestamp, step in self.conn.execute(query)
        ]

    def add_run_version(self, run_id: str, version_id: int) -> None:
        values = {"run_id": run_id, "version_id": version_id}
        insert_new(self.conn, mlflow_run_versions, values, ["run_id", "version_id"])

    def run_versions(self, run_id: str) -> list[int]:
        """The ids of the versions registered from the run while it ran."""
        t = mlflow_run_versions
        query = select(t.c.version_id).where(t.c.run_id == run_id).order_by(t.c.version_id)
        return list(self.conn.execute(query).scalars())

    # Logged models

    def insert_logged_model(self, values: dict[str, Any]) -> None:
        self.conn.execute(insert(mlflow_logged_models).values(**values))

    def logged_model(self, model_id: str, *, lock: bool = False) -> LoggedModel | None:
        query = select(mlflow_logged_models).where(mlflow_logged_models.c.id == model_id)
        if lock:
            query = query.with_for_update()
        row = self.conn.execute(query).mappings().first()
        return _logged_model(row) if row else None

    def update_logged_model(self, model_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(
            update(mlflow_logged_models)
            .where(mlflow_logged_models.c.id == model_id)
            .values(**values)
        )

    def logged_models(
        self, experiment_ids: list[int], name: str | None, offset: int, limit: int
    ) -> list[LoggedModel]:
        query = select(mlflow_logged_models).where(
            mlflow_logged_models.c.experiment_id.in_(experiment_ids)
        )
        if name is not None:
            query = query.where(mlflow_logged_models.c.name == name)
        query = query.order_by(mlflow_logged_models.c.created_at.desc(), mlflow_logged_models.c.id)
        rows = self.conn.execute(query.offset(offset).limit(limit)).mappings()
        return [_logged_model(r) for r in rows]

    # Artifact files

    def put_artifact(
        self, path: str, experiment_id: int, digest: str, size: int, now: datetime
    ) -> None:
        """Record the file at ``path``, replacing what was there."""
        values = {
            "path": path,
            "experiment_id": experiment_id,
            "digest": digest,
            "size": size,
            "created_at": now,
        }
        upsert(self.conn, mlflow_artifacts, values, ["path"])

    def artifact(self, path: str) -> tuple[str, int] | None:
        """(digest, size) of the file at ``path``."""
        query = select(mlflow_artifacts.c.digest, mlflow_artifacts.c.size).where(
            mlflow_artifacts.c.path == path
        )
        row = self.conn.execute(query).first()
        return (row[0], row[1]) if row else None

    def logged_digests(self, digests: list[str]) -> list[str]:
        """Which of ``digests`` some logged file has."""
        found: list[str] = []
        for batch in batches(digests):
            query = select(mlflow_artifacts.c.digest).where(mlflow_artifacts.c.digest.in_(batch))
            found.extend(self.conn.execute(query.distinct()).scalars())
        return found

    def artifacts_under(self, experiment_id: int, prefix: str) -> list[tuple[str, str, int]]:
        """(path, digest, size) of every file below folder ``prefix`` (a folder of experiment
        ``experiment_id``: only its files are looked at), in path order."""
        base = f"{prefix}/"
        query = (
            select(mlflow_artifacts.c.path, mlflow_artifacts.c.digest, mlflow_artifacts.c.size)
            .where(
                mlflow_artifacts.c.experiment_id == experiment_id,
                func.substr(mlflow_artifacts.c.path, 1, len(base)) == base,
            )
            .order_by(mlflow_artifacts.c.path)
        )
        return [(p, d, s) for p, d, s in self.conn.execute(query)]

    def delete_artifact(self, path: str) -> bool:
        result = self.conn.execute(delete(mlflow_artifacts).where(mlflow_artifacts.c.path == path))
        return result.rowcount > 0


def _experiment(row: Any) -> Experiment:
    return Experiment(
        id=row["id"],
        name=row["name"],
        lifecycle_stage=row["lifecycle_stage"],
        tags=dict(row["tags"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _run(row: Any) -> Run:
    return Run(
        id=row["id"],
        experiment_id=row["experiment_id"],
        name=row["name"],
        user_id=row["user_id"],
        status=row["status"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        lifecycle_stage=row["lifecycle_stage"],
        tags=dict(row["tags"]),
        outputs=list(row["outputs"]),
        params=dict(row["params"] or {}),
        metrics=dict(row["metrics"] or {}),
        inputs=list(row["inputs"] or []),
    )


def _logged_model(row: Any) -> LoggedModel:
    return LoggedModel(
        id=row["id"],
        experiment_id=row["experiment_id"],
        name=row["name"],
        source_run_id=row["source_run_id"],
        status=row["status"],
        model_type=row["model_type"],
        tags=dict(row["tags"]),
        params=dict(row["params"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
