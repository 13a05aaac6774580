"""`mlops-ci run` on examples/churn with the embedded defaults: wall time, and how much of
it is mlops-ci's own work rather than the model's commands.

    python benchmarks/run_example.py [--runs 3]

Each run is a fresh copy of the example in a git repository of its own (a new candidate, a
new embedded MLflow store). The commands' time comes from the stage records (each command's
own wall time, measured around it); the rest is mlops-ci: loading the manifest, numbering
the candidate, hashing files, gates, records, git tags, and MLflow (whose import alone is
about a second).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def one_run(folder: Path, *extra: str) -> tuple[float, float]:
    work = folder / "churn"
    shutil.copytree(
        PROJECT / "examples" / "churn",
        work,
        ignore=shutil.ignore_patterns("build", ".mlops-ci", "__pycache__"),
    )
    for command in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=b", "-c", "user.email=b@localhost", "commit", "-qm", "x"],
    ):
        subprocess.run(["git", "-C", str(work), *command], check=True)
    mlops_ci = str(Path(sys.executable).with_name("mlops-ci"))
    environment = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(folder)}
    started = time.perf_counter()
    result = subprocess.run(
        [mlops_ci, "run", "--json", "-f", str(work / "mlops.yaml"), *extra],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"mlops-ci run failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    commands = 0.0
    for record in (work / ".mlops-ci" / "records").glob("*/*/*.json"):
        commands += float(json.loads(record.read_text())["details"].get("seconds") or 0)
    return wall, commands


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="fresh runs to take the median of")
    arguments = parser.parse_args()
    figures: dict[str, float] = {}
    for label, extra in (("tracking", ()), ("no_tracking", ("--no-tracking",))):
        walls, commands = [], []
        for _ in range(arguments.runs):
            with tempfile.TemporaryDirectory() as folder:
                wall, spent = one_run(Path(folder), *extra)
            walls.append(wall)
            commands.append(spent)
        wall, spent = statistics.median(walls), statistics.median(commands)
        figures.update(
            {
                f"{label}_wall_s": wall,
                f"{label}_commands_s": spent,
                f"{label}_mlops_ci_s": wall - spent,
            }
        )
        print(
            f"mlops-ci run{' --no-tracking' if extra else ''} on examples/churn (median of "
            f"{arguments.runs}): {wall:.2f} s; the model's commands {spent:.2f} s, mlops-ci "
            f"{wall - spent:.2f} s ({(wall - spent) / wall:.0%})"
        )
    figures["mlflow_s"] = figures["tracking_wall_s"] - figures["no_tracking_wall_s"]
    print(
        f"of which the embedded MLflow store (a fresh one, import included): "
        f"{figures['mlflow_s']:.2f} s"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
