"""`mlops-ci run` on examples/churn as shipped (no MLflow) and with the embedded MLflow store
turned on: wall time, and how much of it is mlops-ci's own work rather than the model's
commands, beside `python -c pass` in the same run.

    python benchmarks/run_example.py [--runs 3]

Each run is a fresh copy of the example in a git repository of its own (a new candidate;
with MLflow, a new embedded store). The commands' time comes from the stage records in git
(each command's own wall time, measured around it); the rest is mlops-ci: loading the
manifest, numbering the candidate, hashing files, gates, records in git, tags. With MLflow,
a sync started with the run imports it and makes its store while the stages run, and tells
it at the end: what MLflow costs a user is the difference in wall time; its import and the
making of a store are measured apart, each in a new process.

Targets (issue: the lifecycle state lives in git): as shipped, at most 0.5 s of mlops-ci's
own time over the model's commands; with the embedded store, at most 1.5 s more per command
(measured on `run`, which makes the store, and on a `report` after it, which opens it). The
two set-ups alternate run by run.
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
sys.path.insert(0, str(PROJECT))
MODEL = "churn-classifier"


def one_run(folder: Path, tracking: bool) -> tuple[float, float, float]:
    """The run's wall time, its commands' time, and then a `report`'s wall time (with
    MLflow: a command on a store that exists already)."""
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
    if tracking:
        environment["MLFLOW_TRACKING_URI"] = "sqlite:///.mlops-ci/mlflow.db"
    started = time.perf_counter()
    result = subprocess.run(
        [mlops_ci, "run", "--json", "-f", str(work / "mlops.yaml")],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
    )
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"mlops-ci run failed: {result.stdout[-2000:]}{result.stderr[-2000:]}")
    started = time.perf_counter()
    subprocess.run(
        [mlops_ci, "report", "-f", str(work / "mlops.yaml"), "-o", str(work / "d.html")],
        capture_output=True, env=environment, check=True,
    )  # fmt: skip
    report = time.perf_counter() - started
    from mlops_ci.adapters.git_objects import GitObjects
    from mlops_ci.adapters.git_records import GitRecordStore

    store = GitRecordStore(
        GitObjects(work), remote=None, push=False, fetch=False, ledger=work / ".ledger"
    )
    commands = sum(float(record.details.get("seconds") or 0) for record in store.records(MODEL))
    return wall, commands, report


def _open_store() -> float:
    """A new process that imports MLflow and makes an embedded store."""
    with tempfile.TemporaryDirectory() as folder:
        script = (
            "from mlflow import MlflowClient; "
            f"MlflowClient(tracking_uri='sqlite:///{folder}/mlflow.db').search_experiments()"
        )
        return new_process("-c", script)


def new_process(*arguments: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *arguments], check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="fresh runs to take the median of")
    arguments = parser.parse_args()
    figures: dict[str, float] = {}
    labels = (("no_tracking", False), ("embedded_mlflow", True))
    samples: dict[str, list[tuple[float, float, float]]] = {label: [] for label, _ in labels}
    for _ in range(arguments.runs):  # interleaved: the machine's drift hits both alike
        for label, tracking in labels:
            with tempfile.TemporaryDirectory() as folder:
                samples[label].append(one_run(Path(folder), tracking))
    for label, _ in labels:
        wall = statistics.median(s[0] for s in samples[label])
        spent = statistics.median(s[1] for s in samples[label])
        report = statistics.median(s[2] for s in samples[label])
        figures.update(
            {
                f"{label}_wall_s": wall,
                f"{label}_commands_s": spent,
                f"{label}_mlops_ci_s": wall - spent,
                f"{label}_report_s": report,
            }
        )
        print(
            f"mlops-ci run on examples/churn, {label.replace('_', ' ')} (median of "
            f"{arguments.runs}): {wall:.2f} s; the model's commands {spent:.2f} s, mlops-ci "
            f"{wall - spent:.2f} s ({(wall - spent) / wall:.0%}); then `report` {report:.2f} s"
        )
    bare = statistics.median(new_process("-c", "pass") for _ in range(arguments.runs))
    imported = statistics.median(
        new_process("-c", "from mlflow import MlflowClient") for _ in range(arguments.runs)
    )
    figures["python_c_pass_s"] = bare
    # What a user feels: the run's wall time with MLflow against without. MLflow's import
    # and its store's opening run beside the stages (a sync started with the run), so
    # they are measured apart, each in a new process, not as parts of that difference.
    figures["mlflow_s"] = figures["embedded_mlflow_wall_s"] - figures["no_tracking_wall_s"]
    figures["mlflow_import_s"] = imported - bare
    figures["mlflow_store_s"] = (
        statistics.median(_open_store() for _ in range(arguments.runs)) - imported
    )
    figures["mlflow_per_command_s"] = (
        figures["embedded_mlflow_report_s"] - figures["no_tracking_report_s"]
    )
    print(
        f"python -c pass {bare:.3f} s; MLflow adds {figures['mlflow_s']:.2f} s to `run`'s wall "
        f"time (a new store), while its import takes {figures['mlflow_import_s']:.2f} s and "
        f"making the store {figures['mlflow_store_s']:.2f} s, both beside the stages; and "
        f"{figures['mlflow_per_command_s']:.2f} s to a command on a store that exists (`report`)"
    )
    print(json.dumps({key: round(value, 3) for key, value in figures.items()}))


if __name__ == "__main__":
    main()
