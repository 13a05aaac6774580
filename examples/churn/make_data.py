"""Make the example's data set: deterministic, offline, from scikit-learn's own generator.

    python make_data.py            # writes data/train.csv and data/holdout.csv

The features come from sklearn.datasets.make_classification with a fixed seed and are
mapped onto churn-like columns. Customer ids are sha256 digests, as anonymised data
should hold them.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
from pathlib import Path

import numpy as np
from sklearn.datasets import make_classification

ROWS = 6000
HOLDOUT = 1000
PLANS = ("basic", "pro", "enterprise")
REGIONS = ("north", "south", "east", "west")
COLUMNS = (
    "customer_id",
    "tenure_months",
    "monthly_charges",
    "support_calls",
    "plan",
    "region",
    "churned",
)


def make_rows(seed: int = 7) -> list[dict[str, str]]:
    features, labels = make_classification(
        n_samples=ROWS,
        n_features=4,
        n_informative=4,
        n_redundant=0,
        n_clusters_per_class=2,
        weights=[0.72],
        class_sep=1.5,
        flip_y=0.05,
        random_state=seed,
    )
    regions = np.random.default_rng(seed).integers(0, len(REGIONS), size=ROWS)
    plan_edges = np.quantile(features[:, 3], [0.5, 0.85])
    rows = []
    for index, (row, label) in enumerate(zip(features, labels, strict=True)):
        rows.append(
            {
                "customer_id": hashlib.sha256(f"customer-{index:06d}".encode()).hexdigest(),
                "tenure_months": f"{min(max(36 - 14 * row[0], 0), 600):.1f}",
                "monthly_charges": f"{min(max(70 + 22 * row[1], 5), 999):.2f}",
                "support_calls": str(int(min(max(round(2 + 1.6 * row[2]), 0), 100))),
                "plan": PLANS[int(np.searchsorted(plan_edges, row[3]))],
                "region": REGIONS[int(regions[index])],
                "churned": str(int(label)),
            }
        )
    return rows


def write(rows: list[dict[str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).parent / "data",
        help="the folder to write train.csv and holdout.csv into",
    )
    arguments = parser.parse_args()
    rows = make_rows()
    write(rows[:-HOLDOUT], arguments.out / "train.csv")
    write(rows[-HOLDOUT:], arguments.out / "holdout.csv")


if __name__ == "__main__":
    main()
