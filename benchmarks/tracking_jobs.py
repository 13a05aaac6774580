"""16 jobs at once against one production-shaped tracking server: `mlflow server` on
PostgreSQL, artifacts in an S3-compatible store (moto's server), basic auth, as
tests/production_services.py starts it on this machine.

    python benchmarks/tracking_jobs.py [--jobs 16] [--rounds 3]

Each job is a whole `mlops-ci run` (build and test of a small model of its own, in a
checkout of its own), as CI runners start them. Rounds alternate:
- untracked: the 16 jobs with `--no-tracking` (the baseline: mlops-ci and the models alone);
- tracked: the same 16 jobs logging to the server, through a counting proxy.
The figures: each round's wall time, what tracking adds (the median of paired
differences, beside min and max), CPU time (the jobs' processes; the server's, the
database's and the artifact store's are not counted), and the requests each tracked job
sent to the server.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from child import spread

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))


def mlops_ci() -> str:
    return str(Path(sys.executable).with_name("mlops-ci"))


def run_jobs(checkouts: list[Path], environ: dict[str, str], *options: str) -> tuple[float, float]:
    """Wall time and CPU time (children's user + system) of the jobs, all at once."""
    from tests.adapters.test_mlflow_races import run_at_once

    before = os.times()
    started = time.perf_counter()
    done = run_at_once(checkouts, environ, *options)
    wall = time.perf_counter() - started
    after = os.times()
    for job in done:
        if job.returncode != 0:
            raise SystemExit(f"the job in {job.args[0]} failed:\n{job.stderr[-3000:]}")
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return wall, cpu


def fresh_checkouts(folder: Path, count: int, prefix: str) -> list[Path]:
    from tests.adapters.test_mlflow_races import model_checkout

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return [model_checkout(folder / f"{prefix}-{n:02}", f"{prefix}-{n:02}") for n in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()

    from tests.production_services import started_production_mlflow
    from tests.services import FaultyProxy

    work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-jobs-"))
    base = {key: value for key, value in os.environ.items() if not key.startswith("MLFLOW_")}
    base.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode
    base.update(
        MLOPS_CI_FETCH="false",
        GIT_AUTHOR_NAME="bench",
        GIT_AUTHOR_EMAIL="bench@localhost",
        GIT_COMMITTER_NAME="bench",
        GIT_COMMITTER_EMAIL="bench@localhost",
    )
    walls: dict[str, list[float]] = {"untracked": [], "tracked": []}
    cpus: dict[str, list[float]] = {"untracked": [], "tracked": []}
    requests_per_job: list[float] = []
    try:
        with started_production_mlflow(work / "server") as production:
            proxy = FaultyProxy(production.url.removeprefix("http://"))
            try:
                tracked = {
                    **base,
                    **production.environ,
                    "MLFLOW_TRACKING_URI": f"http://{proxy.host}",
                }
                for round_ in range(arguments.rounds):
                    order = (
                        ["untracked", "tracked"] if round_ % 2 == 0 else ["tracked", "untracked"]
                    )
                    for kind in order:
                        # New models each round: every tracked job creates its experiment,
                        # its runs and its registered model, as a first release does.
                        checkouts = fresh_checkouts(
                            work / "jobs", arguments.jobs, f"bench-{round_}-{kind}"
                        )
                        proxy.seen.clear()
                        if kind == "tracked":
                            wall, cpu = run_jobs(checkouts, tracked)
                            requests_per_job.append(len(proxy.seen) / arguments.jobs)
                        else:
                            wall, cpu = run_jobs(checkouts, base, "--no-tracking")
                        walls[kind].append(wall)
                        cpus[kind].append(cpu)
                        print(
                            f"  round {round_} {kind:9} {wall:7.2f} s wall {cpu:7.2f} s CPU",
                            file=sys.stderr,
                        )
            finally:
                proxy.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    added = [t - u for t, u in zip(walls["tracked"], walls["untracked"], strict=True)]
    added_cpu = [t - u for t, u in zip(cpus["tracked"], cpus["untracked"], strict=True)]
    print(
        json.dumps(
            {
                "jobs": arguments.jobs,
                "rounds": arguments.rounds,
                "untracked_wall_s": round(statistics.median(walls["untracked"]), 2),
                "tracked_wall_s": round(statistics.median(walls["tracked"]), 2),
                "tracking_added_wall_s": round(statistics.median(added), 2),
                "tracking_added_wall_s_min_max": [round(min(added), 2), round(max(added), 2)],
                "tracking_added_cpu_s": round(statistics.median(added_cpu), 2),
                "requests_per_job": round(statistics.median(requests_per_job), 1),
                "seconds": {kind: spread(values, 2) for kind, values in walls.items()},
                "cpu_seconds": {kind: spread(values, 2) for kind, values in cpus.items()},
                "tracking_added_wall": spread(added, 2),
                "tracking_added_cpu": spread(added_cpu, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
