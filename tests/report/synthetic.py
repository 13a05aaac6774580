"""A model's history made up for the dashboard's tests and benchmark: candidates in every
state with their stage records, and observations of the model in production."""

from __future__ import annotations

import math
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mlops_ci.core.observations import Observation
from mlops_ci.core.records import StageRecord
from tests.conftest import records_of

MODEL = "churn-classifier"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def example_repository(root: Path) -> Path:
    """examples/churn copied to ``root``, a git work tree of its own (nothing committed)."""
    from tests.conftest import EXAMPLE

    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("build", ".mlops-ci"))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def write_history(
    repository: Path, versions: int, metrics: int = 4, seed: int = 7, commit: str | None = None
) -> int:
    """Stage records of ``versions`` candidates with ``metrics`` test metrics each (the
    example's four first); every 15th released, every 7th failing its test, the oldest
    fifth expired; all built from ``commit`` (else from made-up commits no clone has).
    Returns how many records it wrote."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, the same each run
    store = records_of(repository)
    names = ["accuracy", "f1", "log_loss", "roc_auc"][:metrics]
    names += [f"metric_{n:02d}" for n in range(metrics - len(names))]
    made: list[StageRecord] = []
    for index in range(versions):
        version = f"1.{index // 20}.{index % 20}-rc.1"
        at = START + timedelta(hours=6 * index)
        drift = math.sin(index / 9) * 0.01
        values = {name: round(0.9 + drift + rng.uniform(-0.01, 0.01), 5) for name in names}
        if "log_loss" in values:
            values["log_loss"] = round(0.25 - drift + rng.uniform(-0.02, 0.02), 5)
        failed = index % 7 == 3
        if "accuracy" in values:  # what passed its gate (>= 0.9) passed it
            values["accuracy"] = 0.87 if failed else max(values["accuracy"], 0.9005)
        measures = {
            "size_mib": round(4 + index * 0.002 + rng.uniform(0, 0.1), 4),
            "p50_ms": round(6 + rng.uniform(0, 1), 3),
            "p95_ms": round(12 + rng.uniform(0, 4) + (9 if index % 40 == 13 else 0), 3),
            "peak_rss_mib": round(180 + rng.uniform(0, 20), 2),
        }
        stages: list[tuple[str, str, str, dict[str, float]]] = [
            ("build", "passed", "candidate", {}),
            ("test", "failed" if failed else "passed", "failed" if failed else "tested", values),
        ]
        if not failed:
            stages.append(("validate", "passed", "validated", measures))
        for offset, (stage, verdict, state, numbers) in enumerate(stages):
            made.append(
                StageRecord(
                    model=MODEL, version=version, stage=stage, verdict=verdict,  # type: ignore[arg-type]
                    state=state,  # type: ignore[arg-type]
                    started_at=at + timedelta(minutes=offset),
                    finished_at=at + timedelta(minutes=offset, seconds=30),
                    git_sha=commit or f"{index:040x}", metrics=numbers,
                )
            )  # fmt: skip
        final = f"1.{index // 20}.{index % 20}"
        if not failed and index % 15 == 14:
            made.append(
                StageRecord(
                    model=MODEL, version=final, stage="publish", verdict="passed",
                    state="released", started_at=at + timedelta(hours=2),
                    finished_at=at + timedelta(hours=2), details={"candidate": version},
                )
            )  # fmt: skip
        elif not failed and index < versions // 5:
            made.append(
                StageRecord(
                    model=MODEL, version=version, stage="expire", verdict="passed",
                    state="expired", started_at=at + timedelta(days=30),
                    finished_at=at + timedelta(days=30),
                )
            )  # fmt: skip
    store.write_all(made)
    return len(made)


def observations(count: int, version: str = "1.43.13", seed: int = 11) -> list[Observation]:
    """Hourly observations of the example's SLO series, with a latency spike at the
    third quarter that breaches its SLO and is a sudden change."""
    rng = random.Random(seed)  # noqa: S311 - made-up data, the same each run
    made = []
    for index in range(count):
        spike = count * 3 // 4 <= index < count * 3 // 4 + 2
        latency = round((38.0 if spike else 12.0) + rng.uniform(-1, 1), 3)
        errors = round(0.002 + rng.uniform(0, 0.001), 5)
        breaches = (
            {
                "slo": [f"latency_p95_ms {latency:.6g} fails <= 30"],
                "sudden-change": [f"latency_p95_ms rose to {latency:.6g}"],
            }
            if spike
            else {}
        )
        made.append(
            Observation(
                MODEL,
                version,
                START + timedelta(hours=index),
                {"latency_p95_ms": latency, "error_rate": errors, "accuracy": 0.905},
                breaches,
            )
        )
    return made
