"""Drift over many columns: two stored profiles (production's training data and a new
data set) read back and measured, against SciPy measuring the same from the raw samples.

    python benchmarks/drift.py [--columns 100] [--runs 7]

Target (issue 20: drift): drift over 100 columns under 0.2 s. Half the columns are numeric
(PSI, KS and Wasserstein each), half categorical (PSI). Each side does the work a gate
does: ours parses the two profiles' JSON (as the ingest records hold them) and computes
every measure and the gates; SciPy's gets the two raw samples already in memory (20,000
values a column, what a profile is made from) and computes KS (``ks_2samp``), Wasserstein
(``wasserstein_distance``) and PSI (``numpy.histogram`` over the reference's deciles, value
counts for categories). Interleaved, each first in turn: the median, min and max of each,
wall and CPU time, and of their paired ratios. The whole process (interpreter, imports,
the two files read, the gates) is timed apart, beside ``python -c pass`` in the same
rounds after an uncounted one, as a user's ingest pays it (issue 22).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from child import differences, interleaved, paired, rotated, spread

from mlops_ci.core.drift import drift_gates, drift_of, profile_from_json
from mlops_ci.core.settings import DriftLimits
from mlops_ci.data.profile import SAMPLE_ROWS, Profiler

CATEGORIES = ["a", "b", "c", "d", "e", "f"]


def samples(columns: int, shift: float, seed: int) -> pl.DataFrame:
    random = np.random.default_rng(seed)
    data: dict[str, Any] = {}
    for index in range(columns):
        if index % 2 == 0:
            data[f"n{index}"] = random.normal(shift * (index % 3), 1.0, SAMPLE_ROWS)
        else:
            weights = np.linspace(1.0, 1.0 + shift, len(CATEGORIES))
            data[f"c{index}"] = random.choice(CATEGORIES, SAMPLE_ROWS, p=weights / weights.sum())
    return pl.DataFrame(data)


def profile_json(frame: pl.DataFrame) -> dict[str, object]:
    profiler = Profiler(frame.schema)
    profiler.add(frame)
    return profiler.profile(frame.height).to_json()


LIMITS = DriftLimits(psi=0.2, ks=0.1, wasserstein=0.25)


def ours(reference_text: str, current_text: str) -> int:
    reference = profile_from_json(json.loads(reference_text), "reference")
    current = profile_from_json(json.loads(current_text), "current")
    return len(drift_gates("train", LIMITS, current, reference, "1.0.0"))


def scipy_side(reference: pl.DataFrame, current: pl.DataFrame) -> int:
    from scipy.stats import ks_2samp, wasserstein_distance

    measured = 0
    for name in reference.columns:
        before, now = reference.get_column(name), current.get_column(name)
        if before.dtype.is_numeric():
            a, b = before.to_numpy(), now.to_numpy()
            ks_2samp(a, b)
            wasserstein_distance(a, b) / a.std()
            edges = np.quantile(a, np.linspace(0, 1, 11))
            edges[0], edges[-1] = -np.inf, np.inf
            expected = np.histogram(a, edges)[0] / len(a)
            actual = np.histogram(b, edges)[0] / len(b)
            measured += 3
        else:
            counts = before.value_counts()
            values = counts.get_column(name).to_list()
            expected = counts.get_column("count").to_numpy() / len(before)
            actual = np.array([(now == v).sum() for v in values]) / len(now)
            measured += 1
        e, f = np.maximum(expected, 1e-4), np.maximum(actual, 1e-4)
        float(((f - e) * np.log(f / e)).sum())
    return measured


WHOLE = """
import json, sys
from mlops_ci.core.drift import drift_gates, profile_from_json
from mlops_ci.core.settings import DriftLimits
reference = profile_from_json(json.loads(open(sys.argv[1]).read()), "reference")
current = profile_from_json(json.loads(open(sys.argv[2]).read()), "current")
limits = DriftLimits(psi=0.2, ks=0.1, wasserstein=0.25)
gates = drift_gates("train", limits, current, reference, "1")
print(len(gates))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=100)
    parser.add_argument("--runs", type=int, default=7)
    arguments = parser.parse_args()
    reference, current = samples(arguments.columns, 0.0, 1), samples(arguments.columns, 0.3, 2)
    reference_text = json.dumps(profile_json(reference))
    current_text = json.dumps(profile_json(current))
    measured = sum(
        len(m)
        for m in drift_of(
            profile_from_json(json.loads(reference_text), "reference"),
            profile_from_json(json.loads(current_text), "current"),
        ).values()
    )
    import scipy.stats  # noqa: F401 - imported before the clock: both sides warm

    sides = {
        "ours": lambda: ours(reference_text, current_text),
        "scipy": lambda: scipy_side(reference, current),
    }
    wall: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for run in range(arguments.runs):  # each first in turn: noise hits each side alike
        for name in rotated(list(sides), run):
            started, used = time.perf_counter(), time.process_time()
            sides[name]()
            wall[name].append(time.perf_counter() - started)
            cpu[name].append(time.process_time() - used)
    with tempfile.TemporaryDirectory() as folder:
        files = [Path(folder) / "reference.json", Path(folder) / "current.json"]
        files[0].write_text(reference_text)
        files[1].write_text(current_text)
        processes, processes_cpu = interleaved(
            {
                "whole": [sys.executable, "-c", WHOLE, *map(str, files)],
                "python -c pass": [sys.executable, "-c", "pass"],
            },
            arguments.runs,
        )
    figures = {
        "columns": arguments.columns,
        "measures": measured,
        "profile_bytes": len(reference_text),
        "in_process_s": spread(wall["ours"], 4),
        "in_process_cpu_s": spread(cpu["ours"], 4),
        "scipy_from_samples_s": spread(wall["scipy"], 4),
        "scipy_from_samples_cpu_s": spread(cpu["scipy"], 4),
        "scipy_over_ours": paired(wall["scipy"], wall["ours"]),
        "scipy_over_ours_cpu": paired(cpu["scipy"], cpu["ours"]),
        "whole_process_s": spread(processes["whole"], 4),
        "whole_process_cpu_s": spread(processes_cpu["whole"], 4),
        "python_c_pass_s": spread(processes["python -c pass"], 4),
        "whole_over_interpreter_s": spread(
            differences(processes["whole"], processes["python -c pass"]), 4
        ),
        "runs": arguments.runs,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
