"""The ingest stage's data checks on a generated CSV, against the engine's bare scan and
pandera.

    python benchmarks/ingest.py [--rows 10000000] [--runs 3] [--memory-rows 5000000,20000000]
                                [--memory-runs 3] [--skip-pandera]

Targets (issue: lifecycle stage checks): with every check on, at least 0.6x the throughput of
the floor (Polars' bare streaming scan of the same file: a null count of every column) and
at least 5x pandera's with the same checks (its pandas backend, as calibrated; its Polars
backend is measured beside it); peak memory flat in the file's size (the
larger file's peak RSS within 1.2x of the smaller's). Issue 20: the data set's profile (for
drift) costs at most 10 % of the throughput: ours against ours without it, paired per run.

The file: 10 columns (a sha256-like customer id, numbers, a date, low-cardinality text, a
free-text note, a 0/1 label), about 123 bytes a row, so 10 million rows are about 1.2 GB. It is
written once into benchmarks/results/data/ and reused. Each measurement runs in a process
of its own (peak RSS is per process) that imports its modules before the clock starts:
the times are the scans', and each process's import time is printed beside them (and a
whole-process ratio). The engine choice (Polars against PyArrow's streaming CSV reader) is
measured in the same run.

Issue 22: every side (pandera too) runs once a run, in an order that starts at another side
each run, after an uncounted floor that warms the page cache; each figure is the median of
the runs beside min and max, wall and CPU time (every thread's), and each ratio the median
of the runs' paired ratios (the scan against the scan, and whole processes apart).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from child import measure, paired, peak_rss, rotated, spread

HERE = Path(__file__).resolve().parent
DATA = HERE / "results" / "data"
COLUMNS = {
    "customer_id": "string",
    "tenure_months": "float",
    "monthly_charges": "float",
    "support_calls": "int",
    "plan": "string",
    "region": "string",
    "signup_date": "date",
    "note": "string",
    "device": "string",
    "churned": "int",
}
PLANS = ["basic", "pro", "enterprise"]
REGIONS = ["north", "south", "east", "west"]
DEVICES = ["ios", "android", "web"]
NOTES = ["called support", "moved house", "asked for discount", "", "happy customer"]
PII_PATTERN = (
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+\.[A-Za-z]{2,}"
    r"|\d{3}[ .-]?\d{3}[ .-]?\d{4}|(?:\d{1,3}\.){3}\d{1,3}|(?:\d[ -]?){12,18}\d"
)


def generate(rows: int) -> Path:
    """The data file of ``rows`` rows, written once (deterministic: seed 7)."""
    import numpy as np
    import polars as pl

    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"customers-{rows}.csv"
    if path.exists():
        return path
    random = np.random.default_rng(7)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as handle:
        for start in range(0, rows, 1_000_000):
            count = min(1_000_000, rows - start)
            ids = random.bytes(32 * count).hex()
            frame = pl.DataFrame(
                {
                    "customer_id": [ids[i * 64 : (i + 1) * 64] for i in range(count)],
                    "tenure_months": np.round(random.uniform(0, 120, count), 1),
                    "monthly_charges": np.round(random.uniform(10, 200, count), 2),
                    "support_calls": random.integers(0, 20, count),
                    "plan": random.choice(PLANS, count),
                    "region": random.choice(REGIONS, count),
                    "signup_date": (
                        np.datetime64("2015-01-01") + random.integers(0, 3650, count)
                    ).astype("datetime64[D]"),
                    "note": random.choice(NOTES, count),
                    "device": random.choice(DEVICES, count),
                    "churned": (random.random(count) < 0.3).astype(np.int64),
                }
            )
            frame.write_csv(handle, include_header=start == 0)
    partial.rename(path)
    return path


def manifest_checks() -> Any:
    from mlops_ci.core.settings import Bounds
    from mlops_ci.manifest.model import (
        BalanceCheck,
        DataChecks,
        LabelChecks,
        PiiChecks,
    )

    return DataChecks(
        columns=tuple(COLUMNS.items()),  # type: ignore[arg-type]
        not_null=("customer_id", "tenure_months", "plan", "region", "signup_date", "churned"),
        unique=("customer_id",),
        range=(
            ("tenure_months", Bounds(0, 600)),
            ("monthly_charges", Bounds(0, 1000)),
            ("support_calls", Bounds(0, 100)),
        ),
        allowed=(("plan", tuple(PLANS)), ("region", tuple(REGIONS)), ("device", tuple(DEVICES))),
        min_rows=1000,
        labels=LabelChecks(allowed=(0, 1)),
        balance=BalanceCheck("churned", 0.15, ("region",)),
        pii=PiiChecks(
            forbid=("email", "phone", "ip_address", "card_number"), hashed=("customer_id",)
        ),
    )


# -- what each child process measures ----------------------------------------------------
# Each child imports what it needs, then returns the work to time: throughput is the scan's,
# and the imports (polars alone for the floor; mlops-ci's modules too for ours) are
# reported apart.

Work = Callable[[], dict[str, Any]]


def run_ours(path: Path, *, profile: bool = True) -> Work:
    from mlops_ci.data.checks.scan import check_table
    from mlops_ci.data.reader import open_table

    def work() -> dict[str, Any]:
        checks = manifest_checks()
        with open_table(path, path.name, "csv", dict(checks.columns)) as table:
            report = check_table(table, "customers", checks, "churned", profile=profile)
        failed = [o.message for o in report.outcomes if not o.passed]
        return {"rows": report.rows, "checks": len(report.outcomes), "failed": failed}

    return work


def run_unprofiled(path: Path) -> Work:
    """Ours without the data set's profile: what the profile costs is the difference."""
    return run_ours(path, profile=False)


def run_floor(path: Path) -> Work:
    import polars as pl

    def work() -> dict[str, Any]:
        counts = pl.scan_csv(path).select(pl.all().null_count()).collect(engine="streaming")
        return {"nulls": int(sum(counts.row(0)))}

    return work


def run_pyarrow(path: Path) -> Work:
    from pyarrow import csv

    def work() -> dict[str, Any]:
        rows = 0
        for batch in csv.open_csv(path):
            rows += batch.num_rows
        return {"rows": rows}

    return work


def run_pandera(path: Path) -> Work:
    """The same checks as pandera expresses them: column checks, a frame-wide balance check."""
    import pandas as pd
    import pandera.pandas as pa

    text = pa.Check.str_matches(r"^(?:[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$")
    no_pii = pa.Check(lambda s: ~s.astype("string").str.contains(PII_PATTERN, regex=True))

    def balanced(frame: pd.DataFrame) -> bool:
        shares = frame["churned"].value_counts(normalize=True)
        within = frame.groupby("region")["churned"].value_counts(normalize=True)
        return bool(shares.min() >= 0.15 and within.min() >= 0.15)

    schema = pa.DataFrameSchema(
        {
            "customer_id": pa.Column(str, [text], nullable=False, unique=True),
            "tenure_months": pa.Column(float, pa.Check.in_range(0, 600), nullable=False),
            "monthly_charges": pa.Column(float, pa.Check.in_range(0, 1000)),
            "support_calls": pa.Column(int, pa.Check.in_range(0, 100)),
            "plan": pa.Column(str, [pa.Check.isin(PLANS), no_pii], nullable=False),
            "region": pa.Column(str, [pa.Check.isin(REGIONS), no_pii], nullable=False),
            "signup_date": pa.Column("datetime64[ns]", nullable=False),
            "note": pa.Column(str, no_pii, nullable=True),
            "device": pa.Column(str, [pa.Check.isin(DEVICES), no_pii]),
            "churned": pa.Column(int, pa.Check.isin([0, 1]), nullable=False),
        },
        checks=[pa.Check(lambda f: len(f) >= 1000), pa.Check(balanced)],
    )

    def work() -> dict[str, Any]:
        frame = pd.read_csv(path, engine="pyarrow", parse_dates=["signup_date"])
        schema.validate(frame, lazy=True)
        return {"rows": len(frame)}

    return work


def run_pandera_polars(path: Path) -> Work:
    """The same checks with pandera's Polars backend."""
    import pandera.polars as pa
    import polars as pl

    hexes = pa.Check.str_matches(r"^(?:[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128})$")
    no_pii = pa.Check(
        lambda data: data.lazyframe.select(~pl.col(data.key).str.contains(PII_PATTERN))
    )

    def balanced(data: Any) -> Any:
        frame = data.lazyframe
        overall = (
            frame.group_by("churned").len().with_columns(share=pl.col("len") / pl.col("len").sum())
        )
        within = (
            frame.group_by("region", "churned")
            .len()
            .with_columns(share=pl.col("len") / pl.col("len").sum().over("region"))
        )
        return pl.concat([overall.select("share"), within.select("share")]).select(
            pl.col("share") >= 0.15
        )

    schema = pa.DataFrameSchema(
        {
            "customer_id": pa.Column(str, hexes, nullable=False, unique=True),
            "tenure_months": pa.Column(float, pa.Check.in_range(0, 600), nullable=False),
            "monthly_charges": pa.Column(float, pa.Check.in_range(0, 1000)),
            "support_calls": pa.Column(int, pa.Check.in_range(0, 100)),
            "plan": pa.Column(str, [pa.Check.isin(PLANS), no_pii], nullable=False),
            "region": pa.Column(str, [pa.Check.isin(REGIONS), no_pii], nullable=False),
            "signup_date": pa.Column(pl.Date, nullable=False),
            "note": pa.Column(str, no_pii, nullable=True),
            "device": pa.Column(str, [pa.Check.isin(DEVICES), no_pii]),
            "churned": pa.Column(int, pa.Check.isin([0, 1]), nullable=False),
        },
        checks=[pa.Check(balanced)],
    )

    def work() -> dict[str, Any]:
        # A DataFrame, not a LazyFrame: on a LazyFrame pandera checks only the schema unless
        # PANDERA_VALIDATION_DEPTH says otherwise.
        frame = pl.read_csv(path, schema_overrides={"signup_date": pl.Date})
        validated = schema.validate(frame, lazy=True)
        return {"rows": validated.height}

    return work


CHILDREN: dict[str, Callable[[Path], Work]] = {
    "ours": run_ours,
    "unprofiled": run_unprofiled,
    "floor": run_floor,
    "pyarrow": run_pyarrow,
    "pandera": run_pandera,
    "pandera-polars": run_pandera_polars,
}


def child(name: str, path: Path) -> None:
    started = time.perf_counter()
    work = CHILDREN[name](path)
    imported = time.perf_counter()
    cpu = time.process_time()  # every thread's: Polars and the hash run on several
    result = work()
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": done - imported,
                "cpu_seconds": time.process_time() - cpu,
                "import_seconds": imported - started,
                "peak_rss_bytes": peak_rss(),
                **result,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--memory-rows", default="5000000,20000000")
    parser.add_argument("--memory-runs", type=int, default=3)
    parser.add_argument("--skip-pandera", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("NAME", "FILE"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child[0], Path(arguments.child[1]))
        return

    path = generate(arguments.rows)
    size = path.stat().st_size
    print(f"file: {path.name}, {arguments.rows:,} rows, {size / 1e9:.2f} GB", file=sys.stderr)
    pandera = [] if arguments.skip_pandera else ["pandera", "pandera-polars"]
    names = ["floor", "ours", "unprofiled", "pyarrow", *pandera]
    measure(__file__, "floor", str(path))  # a cold page cache is paid here, uncounted
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    for run in range(arguments.runs):
        # Every side once a run, each first in turn: noise hits them alike, and no side
        # always follows the same one.
        for name in rotated(names, run):
            result = measure(__file__, name, str(path))
            print(
                f"  {name:14} {result['seconds']:7.2f} s  cpu {result['cpu_seconds']:7.2f} s  "
                f"peak RSS {result['peak_rss_bytes'] / 2**20:7.0f} MiB",
                file=sys.stderr,
            )
            runs[name].append(result)
    failed = [r["failed"] for r in runs["ours"] if r["failed"]]
    if failed:
        raise SystemExit(f"the generated data failed checks: {failed[0]}")

    def wall(name: str, *, whole: bool = False) -> list[float]:
        return [r["seconds"] + (r["import_seconds"] if whole else 0.0) for r in runs[name]]

    def cpu(name: str) -> list[float]:
        return [r["cpu_seconds"] for r in runs[name]]

    figures: dict[str, Any] = {
        "rows": arguments.rows,
        "bytes": size,
        "checks": runs["ours"][0]["checks"],
        "runs": arguments.runs,
        "seconds": {name: spread(wall(name)) for name in names},
        "cpu_seconds": {name: spread(cpu(name)) for name in names},
        "peak_rss_mib": {
            name: round(max(r["peak_rss_bytes"] for r in runs[name]) / 2**20) for name in names
        },
        "import_seconds": {
            name: spread([r["import_seconds"] for r in runs[name]]) for name in names
        },
        # Throughput against the floor: the floor's time over ours, run by run.
        "throughput_vs_floor": paired(wall("floor"), wall("ours")),
        "whole_process_vs_floor": paired(wall("floor", whole=True), wall("ours", whole=True)),
        "cpu_vs_floor": paired(cpu("ours"), cpu("floor")),
        "engine_polars_vs_pyarrow_scan": paired(wall("pyarrow"), wall("floor")),
        # The profile's cost (issue 20: at most 10 % of the throughput): ours over ours
        # without it, run by run, minus one.
        "profile_cost": {
            key: round(value - 1, 4)
            for key, value in paired(wall("ours"), wall("unprofiled"), 4).items()
        },
    }
    for name in pandera:
        # pandas backend: the baseline CALIBRATION.md measured for the target; the Polars
        # backend is reported beside it (it reads with the same engine as ours). Paired,
        # scan against scan and whole process against whole process.
        key = "speedup_vs_" + name.replace("-", "_")
        figures[key] = paired(wall(name), wall("ours"), 2)
        figures[key + "_whole_process"] = paired(
            wall(name, whole=True), wall("ours", whole=True), 2
        )
    small_rows, large_rows = (int(n) for n in arguments.memory_rows.split(","))
    # A process's peak RSS moves by some 20 % from run to run here (how far the reader runs
    # ahead of the checks depends on the machine's load): the median of three, interleaved.
    peaks: dict[int, list[int]] = {small_rows: [], large_rows: []}
    for _ in range(arguments.memory_runs):
        for rows in (small_rows, large_rows):
            file = generate(rows)
            peak = measure(__file__, "ours", str(file))["peak_rss_bytes"]
            peaks[rows].append(peak)
            print(
                f"  memory {file.stat().st_size / 1e9:.2f} GB: peak RSS {peak / 2**20:.0f} MiB",
                file=sys.stderr,
            )
    small, large = statistics.median(peaks[small_rows]), statistics.median(peaks[large_rows])
    figures["memory"] = {
        "small_bytes": generate(small_rows).stat().st_size,
        "large_bytes": generate(large_rows).stat().st_size,
        "small_peak_rss_mib": round(small / 2**20),
        "large_peak_rss_mib": round(large / 2**20),
        "runs": arguments.memory_runs,
        "ratio": round(large / small, 3),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
