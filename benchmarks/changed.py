"""`mlops-ci changed` on a generated monorepo of 100 models, as a workflow runs it: a new
process, git diff, every manifest read.

    python benchmarks/changed.py [--models 100] [--runs 5]

Target (issue: GitHub Actions): under 1 s, naming exactly the models touched. Beside it,
in the same rounds (each command once a round, each first in turn, the first round not
counted): `git diff --name-only` over the same range, the git work alone, and `python -c
pass`; figures are medians beside min and max, wall and CPU time, and paired differences
(issue 22).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from child import differences, interleaved, spread

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
        done = subprocess.run(command, cwd=root, capture_output=True, text=True, check=True)
        named = [item["model"] for item in json.loads(done.stdout)["include"]]
        wall, cpu = interleaved(
            {
                "mlops-ci changed": (command, root),
                "git diff --name-only": (["git", "diff", "--name-only", start, "HEAD"], root),
                "python -c pass": ([sys.executable, "-c", "pass"], root),
            },
            arguments.runs,
        )
    over_git = differences(wall["mlops-ci changed"], wall["git diff --name-only"])
    over_python = differences(wall["mlops-ci changed"], wall["python -c pass"])
    print(
        f"changed over {arguments.models} models: "
        f"{statistics.median(wall['mlops-ci changed']):.3f} s (target < 1 s), "
        f"{statistics.median(over_python):.3f} s over the interpreter -> {named}",
        file=sys.stderr,
    )
    print(json.dumps({
        "models": arguments.models,
        "named": named,
        "seconds": {name: spread(values) for name, values in wall.items()},
        "cpu_seconds": {name: spread(values) for name, values in cpu.items()},
        "changed_s": statistics.median(wall["mlops-ci changed"]),
        "over_git_diff_s": spread(over_git),
        "over_interpreter_s": spread(over_python),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
