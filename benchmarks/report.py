"""`mlops-ci report` over a long history: 1,000 candidates by 20 metrics on record, and
2,000 observations of the model in production.

    python benchmarks/report.py [--versions 1000] [--metrics 20] [--observations 2000] [--runs 3]

Targets (issue: monitoring and the dashboard): the HTML renders in under 2 s and weighs
under 2 MB. Measured two ways: the command in a new process from the records (what a CI
step pays, start-up included), and in one process with the observations added (gathering
the history and rendering it, MLflow's search excluded). The command runs beside `python -c
pass`, each first in turn, after an uncounted round; wall and CPU time are medians beside
min and max, and the start-up is taken off as each round's difference (issue 22).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from child import differences, interleaved, spread

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> None:
    from mlops_ci.manifest.loader import load_manifest
    from mlops_ci.report.dashboard import html
    from mlops_ci.report.history import model_history
    from tests.conftest import records_of
    from tests.report.synthetic import MODEL, example_repository, observations, write_history

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--observations", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-ci-bench-report-") as folder:
        root = example_repository(Path(folder) / "repo")
        records = write_history(root, arguments.versions, arguments.metrics)
        command = [
            str(Path(sys.executable).with_name("mlops-ci")), "report", "--no-tracking",
            "-f", str(root / "mlops.yaml"), "-o", str(root / "dashboard.html"),
        ]  # fmt: skip
        process, process_cpu = interleaved(
            {"report": command, "python -c pass": [sys.executable, "-c", "pass"]}, arguments.runs
        )
        command_bytes = (root / "dashboard.html").stat().st_size

        manifest = load_manifest(root / "mlops.yaml")
        seen = observations(arguments.observations)
        inside: list[float] = []
        inside_cpu: list[float] = []
        page = ""
        for _ in range(arguments.runs):
            began, used = time.perf_counter(), time.process_time()
            history = model_history(manifest, records_of(root).records(MODEL), seen)
            page = html([history], datetime.now(UTC), f"{MODEL}: model dashboard")
            inside.append(time.perf_counter() - began)
            inside_cpu.append(time.process_time() - used)
    figures = {
        "versions": arguments.versions,
        "metrics": arguments.metrics,
        "records": records,
        "observations": arguments.observations,
        "command_s": round(statistics.median(process["report"]), 3),
        "command_seconds": spread(process["report"]),
        "command_cpu_seconds": spread(process_cpu["report"]),
        "command_over_interpreter": spread(
            differences(process["report"], process["python -c pass"])
        ),
        "command_bytes": command_bytes,
        "in_process_seconds": spread(inside),
        "in_process_cpu_seconds": spread(inside_cpu),
        "with_observations_bytes": len(page.encode()),
        "charts": page.count('class="chart"'),
    }
    print(f"{'figure':<32} value")
    for key, value in figures.items():
        print(f"{key:<32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
