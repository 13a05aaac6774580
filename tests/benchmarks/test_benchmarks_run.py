"""The benchmarks keep working (tiny sizes, no timing asserted: timings are for the note)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import PROJECT


@pytest.mark.slow
def test_manifest_validate_benchmark_runs_and_reports_every_figure() -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT / "benchmarks" / "manifest_validate.py"),
            "--runs",
            "1",
            "--manifests",
            "20",
            "--batch-runs",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert figures["many_manifests"]["manifests"] == 20
    assert set(figures["cold_start"]) == {
        "python_c_pass_s",
        "validate_example_s",
        "above_interpreter_s",
        "above_interpreter",
        "help_above_interpreter",
    }
    batch = figures["many_manifests"]
    assert set(batch["seconds"]) == {
        "mlops-ci", "yaml parse", "CSafeLoader + jsonschema", "check-jsonschema"
    }  # fmt: skip
    assert set(batch["cpu_seconds"]) == set(batch["seconds"])
    assert all(spread["median"] > 0 for spread in batch["seconds"].values())
    assert batch["vs_yaml_parse"]["min"] <= batch["vs_yaml_parse"]["median"]


def run_benchmark(name: str, *arguments: str) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, str(PROJECT / "benchmarks" / name), *arguments],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


@pytest.mark.slow
def test_tracking_benchmark_runs_against_a_real_server() -> None:
    figures = run_benchmark("tracking.py", "--metrics", "50", "--runs", "1")
    # request counts are not timings: they hold on any machine
    assert figures["log_stage_metric_requests"] == 1
    assert figures["log_metric_one_by_one_requests"] == 1 + 50  # its run made, as ours makes one


@pytest.mark.slow
def test_version_next_benchmark_runs() -> None:
    figures = run_benchmark("version_next.py", "--tags", "50", "--gto-tags", "0", "--runs", "1")
    assert figures["tags"] == 50
    assert set(figures["seconds"]) == {"version next", "python -c pass"}  # type: ignore[arg-type]
    assert set(figures["cpu_seconds"]) == set(figures["seconds"])  # type: ignore[arg-type]
    assert "gto_vs_version_next" not in figures  # --gto-tags 0


@pytest.mark.slow
def test_run_example_benchmark_splits_the_time() -> None:
    figures = run_benchmark("run_example.py", "--runs", "1")
    assert 0 < figures["no_tracking_commands_s"] < figures["no_tracking_wall_s"]  # type: ignore[operator]
    assert 0 < figures["embedded_mlflow_commands_s"] < figures["embedded_mlflow_wall_s"]  # type: ignore[operator]
    assert figures["mlflow_import_s"] > 0  # type: ignore[operator]
    assert {"python_c_pass_s", "mlflow_s", "mlflow_store_s"} <= set(figures)
    assert figures["no_tracking_report_s"] > 0  # type: ignore[operator]
    assert "mlflow_per_command_s" in figures
    assert figures["embedded_mlflow_monitor_s"] > 0  # type: ignore[operator]
    assert {"mlflow_monitor_waiting_s", "mlflow_monitor_background_s", "mlflow_prune_s"} <= set(
        figures
    )
    assert figures["embedded_mlflow_prune_dry_run_s"] > 0  # type: ignore[operator]


@pytest.mark.slow
def test_ingest_benchmark_runs_every_measurement() -> None:
    figures = run_benchmark(
        "ingest.py", "--rows", "20000", "--runs", "1", "--memory-rows", "10000,40000",
        "--memory-runs", "1",
    )  # fmt: skip
    assert figures["rows"] == 20000
    assert figures["checks"] == 24  # 23 checks and the declared column types
    assert set(figures["seconds"]) == {  # type: ignore[arg-type]
        "floor", "ours", "unprofiled", "pyarrow", "pandera", "pandera-polars"
    }  # fmt: skip
    assert set(figures["import_seconds"]) == set(figures["seconds"])  # type: ignore[arg-type]
    assert set(figures["cpu_seconds"]) == set(figures["seconds"])  # type: ignore[arg-type]
    assert figures["runs"] == 1
    for key in ("profile_cost", "throughput_vs_floor", "speedup_vs_pandera"):
        assert set(figures[key]) == {"median", "min", "max"}  # type: ignore[arg-type]
    assert figures["memory"]["small_bytes"] < figures["memory"]["large_bytes"]  # type: ignore[index]


@pytest.mark.slow
def test_drift_benchmark_measures_every_column() -> None:
    figures = run_benchmark("drift.py", "--columns", "10", "--runs", "2")
    assert figures["columns"] == 10
    assert figures["measures"] == 10 + 2 * 5  # PSI everywhere, KS and Wasserstein on numbers
    assert figures["in_process_s"]["median"] > 0  # type: ignore[index]
    assert figures["whole_process_s"]["median"] > figures["in_process_s"]["median"]  # type: ignore[index]


@pytest.mark.slow
def test_image_benchmark_runs_against_a_real_registry() -> None:
    figures = run_benchmark("image.py", "--mib", "8", "--runs", "1", "--skip-docker")
    assert figures["model_bytes"] == 8 << 20
    assert set(figures["seconds"]) == {  # type: ignore[arg-type]
        "floor", "build", "build, sums unknown", "build+push", "rebuild+push", "skopeo copy"
    }  # fmt: skip
    assert set(figures["cpu_seconds"]) == set(figures["seconds"])  # type: ignore[arg-type]
    assert figures["build_vs_floor_cpu"]["median"] > 0  # type: ignore[index]
    assert figures["peak_rss_mib_build_push"] > 0  # type: ignore[operator]


@pytest.mark.slow
def test_release_calls_benchmark_counts_within_the_budget() -> None:
    figures = run_benchmark("release_calls.py")
    assert figures["new"]["calls"] <= 12  # type: ignore[index]
    assert figures["update"]["calls"] <= 8  # type: ignore[index]
    assert (figures["rerun"]["reads"], figures["rerun"]["writes"]) == (1, 0)  # type: ignore[index]


@pytest.mark.slow
def test_changed_benchmark_names_exactly_the_models_touched() -> None:
    figures = run_benchmark("changed.py", "--models", "50", "--runs", "1")
    assert figures["named"] == ["m007", "m042"]
    assert set(figures["cpu_seconds"]) == set(figures["seconds"]) == {  # type: ignore[arg-type]
        "mlops-ci changed", "git diff --name-only", "python -c pass"
    }  # fmt: skip
    assert figures["over_interpreter_s"]["median"] > 0  # type: ignore[index]


@pytest.mark.slow
def test_report_benchmark_renders_the_dashboard() -> None:
    figures = run_benchmark(
        "report.py", "--versions", "30", "--metrics", "5", "--observations", "20", "--runs", "1"
    )
    assert figures["versions"] == 30
    assert figures["charts"] == 1 + 5 + 4 + 1 + 3  # timeline, metrics, measures, gates, time
    assert 0 < figures["command_bytes"] < figures["with_observations_bytes"]  # type: ignore[operator]


@pytest.mark.slow
def test_monitor_benchmark_runs_with_history() -> None:
    figures = run_benchmark("monitor.py", "--metrics", "20", "--history", "2", "--runs", "1")
    assert (figures["metrics"], figures["history"]) == (20, 2)
    assert set(figures["cpu_seconds"]) == {"tracked", "--no-tracking", "python -c pass"}  # type: ignore[arg-type]
    assert figures["tracking_adds_s"]["median"] > 0  # type: ignore[index]  # the sync's MLflow


@pytest.mark.slow
def test_trusted_push_benchmark_weighs_the_modelpack_and_the_signing() -> None:
    figures = run_benchmark("trusted_push.py", "--mib", "8", "--runs", "1")
    assert figures["model_bytes"] == 8 << 20
    # The ModelPack artifact adds its manifest, config and the referrers index: no layer.
    assert figures["modelpack_added_blobs"] == 3
    assert figures["modelpack_added_blobs_over_64k_bytes"] == 0
    assert {"push_plain_s", "push_trusted_s", "signing_added_s", "image_sign_process_s"} <= set(
        figures
    )


def test_tracking_jobs_benchmark_counts_the_requests_of_each_job() -> None:
    figures = run_benchmark("tracking_jobs.py", "--jobs", "2", "--rounds", "1")
    assert figures["jobs"] == 2
    # A first release of a model: its experiment, a run per stage, its registered model and
    # version, the model's files: a few dozen requests, counted by the proxy.
    assert 10 <= float(str(figures["requests_per_job"])) <= 200
    assert {"tracked_wall_s", "untracked_wall_s", "tracking_added_cpu_s"} <= set(figures)


@pytest.mark.slow
def test_engines_benchmark_runs_each_side_and_weighs_the_parquet_files() -> None:
    figures = run_benchmark(
        "engines.py",
        *("--rows", "20000", "--runs", "1", "--skip-spark"),
        *("--parquet-rows", "20000,100000"),
    )
    assert figures["rows"] == 20000
    assert set(figures) == {"rows", "bytes", "local", "duckdb", "parquet_memory"}
    assert figures["duckdb"]["vs_local"]["median"] > 0  # type: ignore[index]
    assert figures["parquet_memory"]["large_rows"] == 100000  # type: ignore[index]


@pytest.mark.slow
def test_state_in_git_benchmark_times_every_command_and_both_layouts() -> None:
    figures = run_benchmark("state_in_git.py", "--models", "5", "--candidates", "3", "--runs", "1")
    assert figures["records"] == 50
    commands = {"version_history_one_of_many", "report_all", "report_example", "monitor_example"}
    assert set(figures["over_interpreter_s"]) == commands  # type: ignore[arg-type]
    assert set(figures["first_round_s"]) == commands | {"python_c_pass"}  # type: ignore[arg-type]
    for what in ("read_one_model", "read_all", "write_one"):
        layout = figures["layout"][what]  # type: ignore[index]
        assert set(layout["cpu_seconds"]) == {"ref", "notes"}
        assert layout["notes_vs_ref"]["median"] > 0
