"""`mlops-ci monitor` over 200 metrics: everything but the scrape (parsing the exposition
text, the SLOs, the history from MLflow, the sudden-change check, logging the observation).

    python benchmarks/monitor.py [--metrics 200] [--history 20] [--runs 5]

Target (issue: monitoring and the dashboard): under 0.5 s. The metrics come from a
Prometheus text file (monitor.source.file ending in .prom), so no network time is in the
figure. The history (--history earlier observations) is in git, as a job leaves it.

Each round runs, each first in turn, after an uncounted round (issue 22), three whole
processes as a job runs them:
- **tracked**: `mlops-ci monitor --json` with MLFLOW_TRACKING_URI naming the embedded SQLite
  store. It writes the observation to git and waits for the sync process it started,
  which imports MLflow, opens the store and logs the run.
- **--no-tracking**: the same command, git only.
- **python -c pass**: the interpreter's start.
MLflow's cost is the median of each round's tracked minus untracked time; wall and CPU
time (the command's processes, the sync's included) are medians beside min and max.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
from pathlib import Path

from child import differences, interleaved, spread, timed

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
        command = [
            str(Path(sys.executable).with_name("mlops-ci")), "monitor", "--json",
            "-f", str(manifest),
        ]  # fmt: skip
        environ = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("MLFLOW_", "GITHUB_", "MLOPS_CI_")) and key != "CI"
        }
        tracked = {**environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}"}
        for _ in range(arguments.history):  # earlier observations, as a job leaves them
            metrics_file.write_text(exposition(arguments.metrics, rng))
            timed([*command, "--no-tracking"], root, environ)
        first, _ = timed(command, root, tracked)  # the store is made
        wall, cpu = interleaved(
            {
                "tracked": (command, root, tracked),
                "--no-tracking": ([*command, "--no-tracking"], root, environ),
                "python -c pass": ([sys.executable, "-c", "pass"], root, environ),
            },
            arguments.runs,
        )
    tracking = differences(wall["tracked"], wall["--no-tracking"])
    over = differences(wall["--no-tracking"], wall["python -c pass"])
    figures = {
        "metrics": arguments.metrics,
        "history": arguments.history,
        "seconds_median": round(statistics.median(wall["--no-tracking"]), 3),
        "seconds": {name: spread(values) for name, values in wall.items()},
        "cpu_seconds": {name: spread(values) for name, values in cpu.items()},
        "over_interpreter_s": spread(over),
        "tracking_adds_s": spread(tracking),
        "first_tracked_s": round(first, 3),
    }
    print(f"{'figure':<28} value")
    for key, value in figures.items():
        print(f"{key:<28} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
