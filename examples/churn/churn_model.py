"""The churn model's features and predictions, shared by train.py, evaluate.py and bench.py.

The model is a logistic regression stored as plain JSON (model.json): no pickle, so loading
a model never runs code, and the same training data gives byte-identical files.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

NUMERIC = ("tenure_months", "monthly_charges", "support_calls")
CATEGORICAL = {"plan": ("basic", "pro", "enterprise"), "region": ("north", "south", "east", "west")}
LABEL = "churned"
MODEL_FILE = "model.json"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def raw_features(rows: list[dict[str, str]]) -> np.ndarray:
    """Numeric columns as they are, then one column per category value."""
    numeric = np.array([[float(row[name]) for name in NUMERIC] for row in rows])
    one_hot = np.array(
        [
            [
                1.0 if row[name] == value else 0.0
                for name, values in CATEGORICAL.items()
                for value in values
            ]
            for row in rows
        ]
    )
    return np.hstack([numeric, one_hot])


def labels(rows: list[dict[str, str]]) -> np.ndarray:
    return np.array([int(row[LABEL]) for row in rows])


def save(
    folder: Path, mean: np.ndarray, scale: np.ndarray, coef: np.ndarray, intercept: float
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    model = {
        "kind": "logistic-regression",
        "numeric": list(NUMERIC),
        "categorical": {name: list(values) for name, values in CATEGORICAL.items()},
        "mean": [round(float(v), 10) for v in mean],
        "scale": [round(float(v), 10) for v in scale],
        "coef": [round(float(v), 10) for v in coef],
        "intercept": round(float(intercept), 10),
    }
    (folder / MODEL_FILE).write_text(
        json.dumps(model, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )


class Model:
    def __init__(self, folder: Path) -> None:
        spec: dict[str, Any] = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
        self.mean = np.array(spec["mean"])
        self.scale = np.array(spec["scale"])
        self.coef = np.array(spec["coef"])
        self.intercept = float(spec["intercept"])

    def predict_proba(self, features: np.ndarray) -> np.ndarray:
        scores = ((features - self.mean) / self.scale) @ self.coef + self.intercept
        return 1.0 / (1.0 + np.exp(-scores))
