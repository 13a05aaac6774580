"""Measure the churn model's latency for one request at a time, and print it as JSON with
the model's answer to that request (``outputs``, which validate holds to model.signature):

python bench.py --model build/model      # {"p50_ms": ..., "p95_ms": ..., "outputs": {...}}
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import churn_model
import numpy as np

REQUEST = [
    {
        "tenure_months": "12.0",
        "monthly_charges": "80.50",
        "support_calls": "3",
        "plan": "pro",
        "region": "north",
    }
]


def peak_rss_kib() -> int:
    """This process's peak resident memory. /proc first: getrusage's figure can be the
    parent's peak, which a process started with posix_spawn carries across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the model folder")
    parser.add_argument("--requests", type=int, default=2000, help="how many to time")
    arguments = parser.parse_args()
    model = churn_model.Model(arguments.model)
    timings = []
    answer = model.predict_proba(churn_model.raw_features(REQUEST))
    for _ in range(arguments.requests):
        started = time.perf_counter()
        model.predict_proba(churn_model.raw_features(REQUEST))
        timings.append((time.perf_counter() - started) * 1000)
    rss_kib = peak_rss_kib()
    print(
        json.dumps(
            {
                "p50_ms": round(float(np.percentile(timings, 50)), 4),
                "p95_ms": round(float(np.percentile(timings, 95)), 4),
                "rss_mib": round(rss_kib / 1024, 1),
                "requests": arguments.requests,
                "outputs": {"churn_probability": round(float(answer[0]), 6)},
            }
        )
    )


if __name__ == "__main__":
    main()
