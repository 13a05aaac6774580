"""Train the churn model: python train.py --data data/train.csv --out build/model"""

from __future__ import annotations

import argparse
from pathlib import Path

import churn_model
import numpy as np
from sklearn.linear_model import LogisticRegression


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="the training CSV")
    parser.add_argument("--out", type=Path, required=True, help="the folder to write into")
    arguments = parser.parse_args()
    rows = churn_model.read_csv(arguments.data)
    features = churn_model.raw_features(rows)
    mean = features.mean(axis=0)
    scale = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
    classifier = LogisticRegression(max_iter=1000)
    classifier.fit((features - mean) / scale, churn_model.labels(rows))
    churn_model.save(
        arguments.out, mean, scale, classifier.coef_[0], float(classifier.intercept_[0])
    )
    print(f"trained on {len(rows)} rows into {arguments.out}")


if __name__ == "__main__":
    main()
