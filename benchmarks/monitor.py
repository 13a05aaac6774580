"""`mlops-ci monitor` over 200 metrics: everything but the scrape (parsing the exposition
text, the SLOs, the history from MLflow, the sudden-change check, logging the observation).

    python benchmarks/monitor.py [--metrics 200] [--history 20] [--runs 5]

Target (issue: monitoring and the dashboard): under 0.5 s. The metrics come from a
Prometheus text file (monitor.source.file ending in .prom), so no network time is in the
figure; the store is the embedded SQLite one. The command runs in one process after a
first run, so mlflow's import (about a second, paid once per process) is left out too and
reported on its own.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def exposition(metrics: int, rng: random.Random) -> str:
    lines = []
    for index in range(metrics):
        name = f"mlapp_metric_{index:03d}"
        lines += [f"# HELP {name} A measure.", f"# TYPE {name} gauge"]
        lines.append(f'{name}{{instance="a",quantile="0.95"}} {100 + rng.uniform(-1, 1):.4f}')
    return "\n".join(lines) + "\n"


def main() -> None:
    from mlops_ci.cli.main import main as mlops_ci
    from tests.report.synthetic import example_repository

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=200)
    parser.add_argument("--history", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    rng = random.Random(5)  # noqa: S311 - made-up values, the same each run
    with tempfile.TemporaryDirectory(prefix="mlops-ci-bench-monitor-") as folder:
        root = example_repository(Path(folder) / "repo")
        manifest = root / "mlops.yaml"
        text = manifest.read_text()
        slo = "".join(
            f'    mlapp_metric_{i:03d}{{instance="a",quantile="0.95"}}: {{max: 1000}}\n'
            for i in range(0, arguments.metrics, 10)
        )
        manifest.write_text(
            text[: text.index("monitor:")]
            + "monitor:\n  source: {file: monitoring/metrics.prom}\n"
            + f"  slo:\n{slo}  regression: {{window: 5, max_change: 0.5}}\n"
        )
        metrics_file = root / "monitoring" / "metrics.prom"
        argv = ["monitor", "-f", str(manifest), "--json"]

        def once() -> float:
            metrics_file.write_text(exposition(arguments.metrics, rng))
            out, err = io.StringIO(), io.StringIO()
            began = time.perf_counter()
            status = mlops_ci(argv, environ={"PATH": ""}, stdout=out, stderr=err)
            seconds = time.perf_counter() - began
            if status != 0:
                raise SystemExit(f"monitor exited {status}: {err.getvalue()}")
            return seconds

        first = once()  # imports mlflow, creates the store
        for _ in range(arguments.history):
            once()
        seconds = [once() for _ in range(arguments.runs)]
        untracked = []
        for _ in range(arguments.runs):
            metrics_file.write_text(exposition(arguments.metrics, rng))
            began = time.perf_counter()
            mlops_ci(
                [*argv, "--no-tracking"],
                environ={"PATH": ""},
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
            untracked.append(time.perf_counter() - began)
    figures = {
        "metrics": arguments.metrics,
        "history": arguments.history,
        "seconds_median": round(statistics.median(seconds), 3),
        "seconds_worst": round(max(seconds), 3),
        "no_tracking_seconds_median": round(statistics.median(untracked), 4),
        "first_run_seconds": round(first, 3),
    }
    print(f"{'figure':<28} value")
    for key, value in figures.items():
        print(f"{key:<28} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
