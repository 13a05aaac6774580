"""Logging one stage with 500 metrics to a real MLflow tracking server.

    python benchmarks/tracking.py [--metrics 500] [--runs 5]

Target (issue: versions and tracking): at most 2 HTTP requests carry the metrics, and the
whole stage (find or create the run, metrics, params, tags, the record artifact, finish)
takes under 0.5 s. Baseline, in the same run against the same server: `log_metric` once per
metric after creating its run (ours finds or creates one too), as a straightforward client
would. The two run in turn, each first in turn; the speed-up is the median of the rounds'
paired ratios, and CPU time is shown for the client (this process) and for the server (its
process group, from /proc) apart (issue 22).

The server is started here on 127.0.0.1 with `--workers 1` and job execution off, and
stopped at the end. HTTP requests are counted where mlflow makes them
(mlflow.utils.rest_utils.http_request).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from child import group_cpu_seconds, paired, rotated, spread

from mlops_ci.adapters.mlflow import MlflowTracker
from mlops_ci.adapters.mlflow_connection import TrackingTarget
from mlops_ci.core.records import StageRecord


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("mlflow")),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "1",
            "--backend-store-uri",
            f"sqlite:///{folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(folder / "artifacts"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):  # noqa: S310 - our own URL
                return process, url
        except OSError:
            time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the mlflow server did not start")


class RequestCounter:
    """Counts mlflow's HTTP requests by endpoint."""

    def __init__(self) -> None:
        from mlflow.utils import rest_utils

        self.counts: collections.Counter[str] = collections.Counter()
        self._module = rest_utils
        self._original = rest_utils.http_request

        def counting(host_creds: Any, endpoint: str, method: str, *args: Any, **kwargs: Any) -> Any:
            self.counts[endpoint.rsplit("/", 2)[-2] + "/" + endpoint.rsplit("/", 1)[-1]] += 1
            return self._original(host_creds, endpoint, method, *args, **kwargs)

        rest_utils.http_request = counting

    def reset(self) -> None:
        self.counts.clear()


def stage_record(version: str, metrics: int) -> StageRecord:
    now = datetime.now(UTC)
    return StageRecord(
        model="bench",
        version=version,
        stage="test",
        verdict="passed",
        state="tested",
        started_at=now,
        finished_at=now,
        git_sha="a" * 40,
        metrics={f"metric_{n:04d}": n / 7 for n in range(metrics)},
        params={"seed": "7", "data": "sha256:" + "b" * 64},
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--metrics", type=int, default=500, help="metrics in the stage")
    parser.add_argument("--runs", type=int, default=5, help="stages logged per method")
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        process, url = start_server(Path(folder))
        try:
            tracker = MlflowTracker(TrackingTarget(url, "bench", "bench", Path(folder)))
            tracker.experiment_id()
            counter = RequestCounter()
            server = process.pid  # its process group: the server and its worker
            wall: dict[str, list[float]] = {"log_stage": [], "log_metric": []}
            client_cpu: dict[str, list[float]] = {"log_stage": [], "log_metric": []}
            server_cpu: dict[str, list[float]] = {"log_stage": [], "log_metric": []}
            requests: dict[str, list[int]] = {"log_stage": [], "log_metric": []}
            metric_requests: list[int] = []

            def log_stage(index: int) -> None:
                tracker.log_stage(stage_record(f"1.0.0-rc.{index + 1}", arguments.metrics))
                metric_requests.append(counter.counts["runs/log-batch"])

            def log_metric(index: int) -> None:
                run = tracker.client.create_run(tracker.experiment_id())
                for name, value in stage_record("x", arguments.metrics).metrics.items():
                    tracker.client.log_metric(run.info.run_id, name, value)

            sides = {"log_stage": log_stage, "log_metric": log_metric}
            for index in range(arguments.runs):  # each side first in turn
                for name in rotated(list(sides), index):
                    counter.reset()
                    began, used, served = (
                        time.perf_counter(), time.process_time(), group_cpu_seconds(server)
                    )  # fmt: skip
                    sides[name](index)
                    wall[name].append(time.perf_counter() - began)
                    client_cpu[name].append(time.process_time() - used)
                    server_cpu[name].append(group_cpu_seconds(server) - served)
                    requests[name].append(sum(counter.counts.values()))
        finally:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    figures = {
        "metrics": arguments.metrics,
        "log_stage_s": statistics.median(wall["log_stage"]),
        "log_stage_metric_requests": max(metric_requests),
        "log_stage_requests_in_all": max(requests["log_stage"]),
        "log_metric_one_by_one_s": statistics.median(wall["log_metric"]),
        "log_metric_one_by_one_requests": max(requests["log_metric"]),
        "seconds": {name: spread(values) for name, values in wall.items()},
        "client_cpu_seconds": {name: spread(values) for name, values in client_cpu.items()},
        "server_cpu_seconds": {name: spread(values) for name, values in server_cpu.items()},
        "speedup_paired": paired(wall["log_metric"], wall["log_stage"], 1),
    }
    figures["speedup"] = figures["speedup_paired"]["median"]
    print(
        f"one stage with {arguments.metrics} metrics, mlflow server --workers 1 "
        f"(median of {arguments.runs})"
    )
    print(
        f"  mlops-ci log_stage            {figures['log_stage_s']:.3f} s, "
        f"{figures['log_stage_metric_requests']} request(s) for metrics, "
        f"{figures['log_stage_requests_in_all']} in all   (targets: < 0.5 s, <= 2)"
    )
    print(
        f"  log_metric one by one         {figures['log_metric_one_by_one_s']:.3f} s, "
        f"{figures['log_metric_one_by_one_requests']} requests"
    )
    print(f"  speed-up                      {figures['speedup']:.0f}x")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
