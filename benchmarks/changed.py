"""`mlops-ci changed` on a generated monorepo of 100 models, as a workflow runs it: a new
process, git diff, every manifest read.

    python benchmarks/changed.py [--models 100] [--runs 5]

Target (issue: GitHub Actions): under 1 s, naming exactly the models touched.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def git(folder: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=b", "-c", "user.email=b@b", *arguments],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def main() -> None:
    from tests.cli.test_changed import monorepo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlops-ci-bench-changed-") as folder:
        root = Path(folder)
        git(root, "init", "-q", "-b", "main")
        monorepo(root, arguments.models)
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "initial")
        start = git(root, "rev-parse", "HEAD")
        (root / "models" / "m007" / "train.py").write_text("print('better')\n")
        (root / "models" / "m042" / "train.csv").write_text("a\n2\n")
        git(root, "commit", "-qam", "two models")
        command = [
            str(Path(sys.executable).with_name("mlops-ci")),
            "changed",
            "--since",
            start,
            "--json",
        ]
        seconds = []
        named: list[str] = []
        for _ in range(arguments.runs):
            began = time.perf_counter()
            done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
            seconds.append(time.perf_counter() - began)
            named = [item["model"] for item in json.loads(done.stdout)["include"]]
    print(json.dumps({
        "models": arguments.models,
        "named": named,
        "seconds_best": round(min(seconds), 3),
        "seconds_worst": round(max(seconds), 3),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
