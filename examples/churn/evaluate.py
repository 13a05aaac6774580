"""Evaluate the churn model on held-out data and write its metrics as JSON, overall and
per region (``slices``, which test.slices gates):

python evaluate.py --model build/model --data data/holdout.csv --out build/metrics.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import churn_model
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss, recall_score, roc_auc_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, required=True, help="the model folder")
    parser.add_argument("--data", type=Path, required=True, help="the held-out CSV")
    parser.add_argument("--out", type=Path, required=True, help="the metrics file to write")
    arguments = parser.parse_args()
    rows = churn_model.read_csv(arguments.data)
    truth = churn_model.labels(rows)
    probability = churn_model.Model(arguments.model).predict_proba(churn_model.raw_features(rows))
    predicted = (probability >= 0.5).astype(int)
    metrics = {
        "accuracy": round(float(accuracy_score(truth, predicted)), 6),
        "f1": round(float(f1_score(truth, predicted)), 6),
        "log_loss": round(float(log_loss(truth, probability)), 6),
        "roc_auc": round(float(roc_auc_score(truth, probability)), 6),
        "rows": len(rows),
        "slices": {"region": slices(rows, truth, predicted)},
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(metrics))


def slices(rows: list[dict[str, str]], truth: np.ndarray, predicted: np.ndarray) -> dict:
    """Accuracy and recall within each region: a model can be right on average and wrong
    for one group."""
    regions = np.array([row["region"] for row in rows])
    found = {}
    for region in sorted(set(regions)):
        mine = regions == region
        found[region] = {
            "accuracy": round(float(accuracy_score(truth[mine], predicted[mine])), 6),
            "recall": round(float(recall_score(truth[mine], predicted[mine], zero_division=0)), 6),
            "rows": int(mine.sum()),
        }
    return found


if __name__ == "__main__":
    main()
