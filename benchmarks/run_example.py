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

Then `monitor` on the example's metrics file: with MLflow, once waiting for the sync that
tells it (as in CI and scripts) and once as at a terminal, where the sync finishes in the
background (`MLOPS_CI_SYNC=background`; the benchmark then waits for it, untimed, and checks
that MLflow got each observation once).

Targets (issue: the lifecycle state lives in git): as shipped, at most 0.5 s of mlops-ci's
own time over the model's commands; with the embedded store, at most 1.5 s more per command
(measured on `run`, which makes the store, on a `report` after it, which opens it, and on
`monitor`), and `prune --dry-run`, which reads git alone. The two set-ups alternate run by run.
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

from child import differences, rotated

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
MODEL = "churn-classifier"


def one_run(folder: Path, tracking: bool) -> dict[str, float]:
    """The run's wall time and its commands' time, then a `report`'s and a `monitor`'s
    wall time (with MLflow: commands on a store that exists already; `monitor` once waiting
    for MLflow, as in CI and scripts, and once as at a terminal, where it is told in the
    background)."""
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
    manifest = str(work / "mlops.yaml")

    def timed(*arguments: str, **settings: str) -> float:
        started = time.perf_counter()
        result = subprocess.run(
            [mlops_ci, *arguments, "-f", manifest],
            capture_output=True,
            text=True,
            env={**environment, **settings},
            check=False,
        )
        seconds = time.perf_counter() - started
        if result.returncode != 0:
            raise SystemExit(
                f"mlops-ci {arguments[0]} failed: {result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        return seconds

    figures = {"wall": timed("run", "--json")}
    figures["report"] = timed("report", "-o", str(work / "d.html"))
    figures["monitor"] = timed("monitor", MLOPS_CI_SYNC="wait")
    # Retention reads git alone (the sync frees MLflow's files); the registry is not asked.
    figures["prune"] = timed("prune", "--dry-run", "--no-registry")
    if tracking:
        figures["monitor_background"] = timed("monitor", MLOPS_CI_SYNC="background")
        timed("sync")  # waits for the one in the background (one sync at a time)
    from mlops_ci.adapters.git_objects import GitObjects
    from mlops_ci.adapters.git_records import GitRecordStore

    store = GitRecordStore(
        GitObjects(work), remote=None, push=False, fetch=False, ledger=work / ".ledger"
    )
    figures["commands"] = sum(
        float(record.details.get("seconds") or 0) for record in store.records(MODEL)
    )
    if tracking:
        told = len(embedded_observations(work))
        if told != 2:  # each monitor's observation reached MLflow, once
            raise SystemExit(f"MLflow holds {told} observations, not 2")
    return figures


def embedded_observations(work: Path) -> list[object]:
    from mlops_ci.adapters.mlflow import MlflowTracker
    from mlops_ci.adapters.mlflow_connection import TrackingTarget

    tracker = MlflowTracker(
        TrackingTarget(
            uri=f"sqlite:///{work / '.mlops-ci' / 'mlflow.db'}",
            experiment=MODEL,
            registered_model=MODEL,
            artifact_root=work / ".mlops-ci" / "mlartifacts",
        )
    )
    return list(tracker.observations(MODEL, 10))


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
    samples: dict[str, list[dict[str, float]]] = {label: [] for label, _ in labels}
    for run in range(arguments.runs):  # interleaved, each first in turn: drift hits both
        for label, tracking in rotated(list(labels), run):
            with tempfile.TemporaryDirectory() as folder:
                samples[label].append(one_run(Path(folder), tracking))
    for label, _ in labels:
        median = {
            key: statistics.median(s[key] for s in samples[label]) for key in samples[label][0]
        }
        wall, spent = median["wall"], median["commands"]
        figures.update(
            {
                f"{label}_wall_s": wall,
                f"{label}_commands_s": spent,
                f"{label}_mlops_ci_s": wall - spent,
                f"{label}_report_s": median["report"],
                f"{label}_monitor_s": median["monitor"],
                f"{label}_prune_dry_run_s": median["prune"],
            }
        )
        if "monitor_background" in median:
            figures[f"{label}_monitor_background_s"] = median["monitor_background"]
        print(
            f"mlops-ci run on examples/churn, {label.replace('_', ' ')} (median of "
            f"{arguments.runs}): {wall:.2f} s; the model's commands {spent:.2f} s, mlops-ci "
            f"{wall - spent:.2f} s ({(wall - spent) / wall:.0%}); then `report` "
            f"{median['report']:.2f} s, `monitor` {median['monitor']:.2f} s"
            + (
                f" waiting for MLflow, {median['monitor_background']:.2f} s telling it in "
                "the background"
                if "monitor_background" in median
                else ""
            )
            + f", `prune --dry-run` {median['prune']:.2f} s"
        )
    bare = statistics.median(new_process("-c", "pass") for _ in range(arguments.runs))
    imported = statistics.median(
        new_process("-c", "from mlflow import MlflowClient") for _ in range(arguments.runs)
    )
    figures["python_c_pass_s"] = bare
    # What a user feels: the run's wall time with MLflow against without. MLflow's import
    # and its store's opening run beside the stages (a sync started with the run), so
    # they are measured apart, each in a new process, not as parts of that difference.
    # The median of each run's difference (the two runs side by side), beside its range.
    added = differences(
        [run["wall"] for run in samples["embedded_mlflow"]],
        [run["wall"] for run in samples["no_tracking"]],
    )
    figures["mlflow_s"] = statistics.median(added)
    figures["mlflow_min_s"], figures["mlflow_max_s"] = min(added), max(added)
    figures["mlflow_import_s"] = imported - bare
    figures["mlflow_store_s"] = (
        statistics.median(_open_store() for _ in range(arguments.runs)) - imported
    )
    figures["mlflow_per_command_s"] = (
        figures["embedded_mlflow_report_s"] - figures["no_tracking_report_s"]
    )
    figures["mlflow_monitor_waiting_s"] = (
        figures["embedded_mlflow_monitor_s"] - figures["no_tracking_monitor_s"]
    )
    figures["mlflow_monitor_background_s"] = (
        figures["embedded_mlflow_monitor_background_s"] - figures["no_tracking_monitor_s"]
    )
    figures["mlflow_prune_s"] = (
        figures["embedded_mlflow_prune_dry_run_s"] - figures["no_tracking_prune_dry_run_s"]
    )
    print(
        f"python -c pass {bare:.3f} s; MLflow adds {figures['mlflow_s']:.2f} s to `run`'s wall "
        f"time (a new store), while its import takes {figures['mlflow_import_s']:.2f} s and "
        f"making the store {figures['mlflow_store_s']:.2f} s, both beside the stages; and "
        f"{figures['mlflow_per_command_s']:.2f} s to a command on a store that exists (`report`); "
        f"to `monitor` {figures['mlflow_monitor_waiting_s']:.2f} s waiting for it (CI, "
        f"scripts), {figures['mlflow_monitor_background_s']:.2f} s at a terminal (told in the "
        f"background); to `prune --dry-run` {figures['mlflow_prune_s']:.2f} s"
    )
    print(json.dumps({key: round(value, 3) for key, value in figures.items()}))


if __name__ == "__main__":
    main()
