"""The same data checks where the data lives: the 10M-row benchmark file through DuckDB and
Spark beside the local path, and the local path's memory on a Parquet file ten times larger.

    python benchmarks/engines.py [--rows 10000000] [--runs 3] [--skip-spark]
                                 [--parquet-rows 10000000,100000000] [--parquet-runs 1]

Targets (issue 19): the figures, beside the local path in the same run; a Parquet file of
about 100M rows on the local path with peak memory within 1.2x of the 10M-row file's.

Every side runs the whole check of one data set as `mlops-ci ingest` does
(mlops_ci.data.data_set.check_data_set: every check of ingest.py's manifest, and the
file's blake3 fingerprint), each in a process of its own, interleaved round by round,
each side first in turn (local, duckdb, spark; duckdb, spark, local; ...), after an
uncounted round. The local path streams the file through polars in
batches; DuckDB (embedded, its default threads) runs the checks as SQL over read_csv;
Spark runs the same SQL in local mode (local[2], the machine's two cores), and its
session's start-up (a JVM) is counted apart as start-up, like the imports. CPU time is the
process's user+system time, the JVM's included for Spark; peak memory is the process's
VmHWM, plus the JVM's for Spark. Ratios are each round's engine time over the same
round's local time: the median, min and max of those pairs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from child import measure, peak_rss, rotated, spread
from ingest import DATA, generate, manifest_checks

Work = Callable[[], dict[str, Any]]


def check(path: Path, file_format: str, engine: str) -> Work:
    from mlops_ci.data.data_set import check_data_set
    from mlops_ci.manifest.model import DataSet, Engine

    data_set = DataSet(
        "customers",
        path,
        file_format,  # type: ignore[arg-type]
        "churned",
        manifest_checks(),
        engine=Engine(engine),  # type: ignore[arg-type]
    )

    def work() -> dict[str, Any]:
        report = check_data_set(data_set, path.name)
        failed = [o.message for o in report.outcomes if not o.passed]
        return {"rows": report.rows, "checks": len(report.outcomes), "failed": failed}

    return work


def spark_session() -> Any:
    """Local mode on the machine's two cores, started before the clock (start-up apart)."""
    from pyspark.sql import SparkSession

    os.environ["MLOPS_CI_SPARK_MASTER"] = "local[2]"
    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    return session


def jvm_pid(session: Any) -> int | None:
    gateway = getattr(session.sparkContext, "_gateway", None)
    process = getattr(gateway, "proc", None)
    return getattr(process, "pid", None)


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def proc_peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def child(name: str, path: Path) -> None:
    started = time.perf_counter()
    jvm: int | None = None
    if name == "spark":
        jvm = jvm_pid(spark_session())
    file_format = "parquet" if path.suffix == ".parquet" else "csv"
    work = check(path, file_format, "local" if name == "parquet" else name)
    jvm_cpu_before = proc_cpu_seconds(jvm) if jvm else 0.0
    cpu_before = time.process_time()
    imported = time.perf_counter()
    result = work()
    done = time.perf_counter()
    cpu = time.process_time() - cpu_before
    if jvm:
        cpu += proc_cpu_seconds(jvm) - jvm_cpu_before
    print(
        json.dumps(
            {
                "seconds": done - imported,
                "cpu_seconds": cpu,
                "startup_seconds": imported - started,
                "peak_rss_bytes": peak_rss() + (proc_peak_rss(jvm) if jvm else 0),
                **result,
            }
        )
    )


def generate_parquet(rows: int) -> Path:
    """The benchmark's columns as Parquet, ``rows`` rows: the CSV's first million rows (or
    fewer), repeated with fresh ids (so ``unique`` holds as many ids as there are rows)."""
    import polars as pl
    from pyarrow import parquet

    path = DATA / f"customers-{rows}.parquet"
    if path.exists():
        return path
    first = generate(min(rows, 1_000_000))
    block = pl.read_csv(first, schema_overrides={"signup_date": pl.Date})
    partial = path.with_suffix(".partial")
    writer: Any = None
    try:
        for start in range(0, rows, block.height):
            count = min(block.height, rows - start)
            # 64 hex digits, unique, with no run of digits a card number check would see.
            numbers = pl.int_range(start, start + count, eager=True).cast(pl.String)
            ids = "f" * 55 + numbers.str.pad_start(9, "0")
            chunk = block.head(count).with_columns(customer_id=ids)
            table = chunk.to_arrow()
            if writer is None:
                writer = parquet.ParquetWriter(partial, table.schema)
            writer.write_table(table, row_group_size=count)
    finally:
        if writer is not None:
            writer.close()
    partial.rename(path)
    return path


def timed(name: str, path: Path) -> dict[str, Any]:
    started = time.perf_counter()
    result = measure(__file__, name, str(path))
    result["process_seconds"] = time.perf_counter() - started
    print(
        f"  {name:7} {result['seconds']:7.2f} s (cpu {result['cpu_seconds']:6.2f} s, "
        f"start-up {result['startup_seconds']:5.2f} s, process "
        f"{result['process_seconds']:6.2f} s)  peak RSS "
        f"{result['peak_rss_bytes'] / 2**20:7.0f} MiB",
        file=sys.stderr,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-spark", action="store_true")
    parser.add_argument("--parquet-rows", default="10000000,100000000")
    parser.add_argument("--parquet-runs", type=int, default=1)
    parser.add_argument("--child", nargs=2, metavar=("NAME", "FILE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child[0], Path(arguments.child[1]))
        return

    path = generate(arguments.rows)
    print(f"file: {path.name}, {path.stat().st_size / 1e9:.2f} GB", file=sys.stderr)
    names = ["local", "duckdb"] + ([] if arguments.skip_spark else ["spark"])
    rounds: list[dict[str, dict[str, Any]]] = []
    for run in range(arguments.runs + 1):  # the first round fills the page cache: not counted
        taken = {name: timed(name, path) for name in rotated(names, run)}
        if run:
            rounds.append(taken)
    for taken in rounds:
        for name, result in taken.items():
            if result["failed"] or result["rows"] != arguments.rows:
                raise SystemExit(f"{name}: {result['rows']} rows, failed {result['failed']}")
    figures: dict[str, Any] = {"rows": arguments.rows, "bytes": path.stat().st_size}
    for name in names:
        figures[name] = {
            key: spread([taken[name][key] for taken in rounds])
            for key in ("seconds", "cpu_seconds", "startup_seconds", "process_seconds")
        }
        figures[name]["peak_rss_mib"] = round(
            statistics.median(taken[name]["peak_rss_bytes"] for taken in rounds) / 2**20
        )
        if name != "local":
            figures[name]["vs_local"] = spread(
                [taken[name]["seconds"] / taken["local"]["seconds"] for taken in rounds]
            )
            figures[name]["cpu_vs_local"] = spread(
                [taken[name]["cpu_seconds"] / taken["local"]["cpu_seconds"] for taken in rounds]
            )
    if arguments.parquet_runs:
        small_rows, large_rows = (int(n) for n in arguments.parquet_rows.split(","))
        files = {rows: generate_parquet(rows) for rows in (small_rows, large_rows)}
        peaks: dict[int, list[int]] = {small_rows: [], large_rows: []}
        seconds: dict[int, list[float]] = {small_rows: [], large_rows: []}
        for _ in range(arguments.parquet_runs):
            for rows in (small_rows, large_rows):
                result = timed("parquet", files[rows])
                if result["failed"] or result["rows"] != rows:
                    raise SystemExit(f"parquet: {result['rows']} rows, {result['failed']}")
                peaks[rows].append(result["peak_rss_bytes"])
                seconds[rows].append(result["seconds"])
        small, large = statistics.median(peaks[small_rows]), statistics.median(peaks[large_rows])
        figures["parquet_memory"] = {
            "small_rows": small_rows,
            "large_rows": large_rows,
            "small_bytes": files[small_rows].stat().st_size,
            "large_bytes": files[large_rows].stat().st_size,
            "small_seconds": round(statistics.median(seconds[small_rows]), 2),
            "large_seconds": round(statistics.median(seconds[large_rows]), 2),
            "small_peak_rss_mib": round(small / 2**20),
            "large_peak_rss_mib": round(large / 2**20),
            "ratio": round(large / small, 3),
            "runs": arguments.parquet_runs,
        }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
