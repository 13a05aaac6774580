"""The lifecycle's state read from git, timed as a user runs the commands (new processes,
beside `python -c pass` in the same run), and the storage layout chosen by measurement.

    python benchmarks/state_in_git.py [--models 100] [--candidates 100] [--runs 5]

Targets (issue: the lifecycle state lives in git):
- 100 models x 100 candidates on record: `version history` and `report --all` under 1 s, on
  a fresh clone (the records fetched from origin by the first command, as on a CI runner);
- on examples/churn (no MLflow configured): `report` and `monitor` at most 0.5 s over the
  interpreter's own start.

The layout: records in a ref of our own (``refs/mlops-ci/records``, a file per model,
``<model>/records.json``) against git notes on the candidates' commits (one note per commit,
a JSON line per record, the layout `git notes` would give): reading one model's records,
reading them all, and writing one record into the full store. (The first layout, a file per
record, measured 4.65 s to read all and 0.89 s to write one; see benchmarks/README.md.)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from child import cpu_now, differences, interleaved, paired, rotated, spread

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

MINIMAL = "apiVersion: mlops-ci/v1\nmodel:\n  name: {name}\n  version: 1.0.0\n"
NOTES = "refs/notes/mlops-ci"
START = datetime(2026, 6, 1, tzinfo=UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--candidates", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    environment = {
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": os.environ.get("HOME", "/root"),
    }
    mlops_ci = str(Path(sys.executable).with_name("mlops-ci"))
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="mlops-ci-bench-state-") as folder:
        root = Path(folder)
        origin = root / "monorepo"
        records = _monorepo(origin, arguments.models, arguments.candidates)
        # As a CI runner sees it: a fresh clone (packed refs), whose first command fetches
        # the records from origin, and every later one asks origin for news.
        many = root / "runner"
        _git(root, "clone", "-q", str(origin), str(many))
        example = _example(root / "example", mlops_ci, environment)

        def command(
            *argv: str, cwd: Path
        ) -> tuple[list[str], Path, dict[str, str], tuple[int, ...]]:
            return list(argv), cwd, environment, (0, 1)  # 1: a gate or an SLO, not a fault

        middle = f"models/m{arguments.models // 2:03d}/mlops.yaml"
        commands = {
            "python_c_pass": command(sys.executable, "-c", "pass", cwd=many),
            "version_history_one_of_many": command(
                mlops_ci, "version", "history", "--json", "-f", middle, cwd=many
            ),
            "report_all": command(
                mlops_ci, "report", "--all", "--format", "json", "-o", str(root / "all.json"),
                cwd=many,
            ),
            "report_example": command(
                mlops_ci, "report", "-o", str(root / "example.html"), "-f", "mlops.yaml",
                cwd=example,
            ),
            "monitor_example": command(
                mlops_ci, "monitor", "--no-issues", "-f", "mlops.yaml", cwd=example
            ),
        }  # fmt: skip
        # The first round is the fresh clone's: its first command fetches the records.
        cold: dict[str, float] = {}
        wall, cpu = interleaved(commands, arguments.runs, cold)
        figures["records"] = records
        figures["seconds"] = {name: spread(values) for name, values in wall.items()}
        figures["cpu_seconds"] = {name: spread(values) for name, values in cpu.items()}
        figures["first_round_s"] = {name: round(value, 3) for name, value in cold.items()}
        figures["over_interpreter_s"] = {
            name: spread(differences(values, wall["python_c_pass"]))
            for name, values in wall.items()
            if name != "python_c_pass"
        }
        figures["layout"] = _layouts(origin, arguments.models, arguments.runs)
    print(json.dumps(figures))


def _monorepo(root: Path, models: int, candidates: int) -> int:
    """``models`` manifests, each with ``candidates`` candidates recorded (build, test,
    validate) and tagged, and one release published."""
    from mlops_ci.adapters.git_objects import GitObjects
    from mlops_ci.adapters.git_records import GitRecordStore
    from mlops_ci.core.records import StageRecord

    for index in range(models):
        folder = root / "models" / f"m{index:03d}"
        folder.mkdir(parents=True)
        (folder / "mlops.yaml").write_text(MINIMAL.format(name=f"m{index:03d}"))
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "models")
    head = _git(root, "rev-parse", "HEAD").strip()
    made: list[StageRecord] = []
    tags = []
    for index in range(models):
        name = f"m{index:03d}"
        for number in range(1, candidates + 1):
            version = f"1.1.0-rc.{number}"
            at = START + timedelta(hours=number)
            for offset, (stage, state) in enumerate(
                (("build", "candidate"), ("test", "tested"), ("validate", "validated"))
            ):
                made.append(
                    StageRecord(
                        model=name, version=version, stage=stage, verdict="passed",
                        state=state,  # type: ignore[arg-type]
                        started_at=at + timedelta(minutes=offset),
                        finished_at=at + timedelta(minutes=offset, seconds=30),
                        git_sha=f"{index:020x}{number:020x}",
                        metrics={"accuracy": 0.9 + number / 10_000, "f1": 0.8},
                    )
                )  # fmt: skip
            tags.append(f"create refs/tags/{name}@{version} {head}\n")
        made.append(
            StageRecord(
                model=name, version="1.0.0", stage="publish", verdict="passed",
                state="released", started_at=START, finished_at=START,
                details={"candidate": "1.0.0-rc.1"},
            )
        )  # fmt: skip
    store = GitRecordStore(
        GitObjects(root), remote=None, push=False, fetch=False, ledger=root / ".ledger"
    )
    store.write_all(made)
    subprocess.run(
        ["git", "-C", str(root), "update-ref", "--stdin"], input="".join(tags).encode(), check=True
    )
    return len(made)


def _example(root: Path, mlops_ci: str, environment: dict[str, str]) -> Path:
    """examples/churn with one candidate run through the lifecycle (as shipped: no MLflow)."""
    shutil.copytree(
        HERE.parent / "examples" / "churn", root,
        ignore=shutil.ignore_patterns("build", ".mlops-ci", "__pycache__"),
    )  # fmt: skip
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "-c", "user.name=b", "-c", "user.email=b@x", "commit", "-qm", "feat: churn")
    subprocess.run(
        [mlops_ci, "run", "-f", "mlops.yaml"], cwd=root, env=environment, check=True,
        capture_output=True,
    )  # fmt: skip
    return root


def _layouts(root: Path, models: int, runs: int) -> dict[str, object]:
    """Our ref against git notes holding the same records."""
    from mlops_ci.adapters.git_objects import GitObjects
    from mlops_ci.adapters.git_records import RECORDS_REF, GitRecordStore
    from mlops_ci.core.records import record_from_json

    objects = GitObjects(root)
    listing = objects.blobs_under(RECORDS_REF)
    contents = objects.read_blobs(listing.values())
    by_commit: dict[str, list[str]] = {}
    for path, blob in listing.items():
        for data in json.loads(contents[blob]) if path.endswith("/records.json") else []:
            where = f"{data['model']}/{data['version']}"
            key = data.get("git_sha") or f"{abs(hash(where)):040x}"[:40]
            by_commit.setdefault(key, []).append(json.dumps(data, sort_keys=True))
    blobs = {
        sha: objects.write_blob(("\n".join(lines) + "\n").encode())
        for sha, lines in by_commit.items()
    }
    tree = objects.tree_with(None, dict(blobs))
    objects.move_ref(NOTES, objects.write_commit(tree, [], "notes", ("b", "b@x")), None, "notes")
    model = f"m{models // 2:03d}"

    def ref_one() -> None:
        store = GitRecordStore(
            GitObjects(root), remote=None, push=False, fetch=False, ledger=root / ".ledger"
        )
        assert len(list(store.records(model))) > 0

    def ref_all() -> None:
        store = GitRecordStore(
            GitObjects(root), remote=None, push=False, fetch=False, ledger=root / ".ledger"
        )
        assert sum(len(list(store.records(f"m{i:03d}"))) for i in range(models)) > 0

    def notes(only: str | None) -> Callable[[], None]:
        def read() -> None:
            listed = _git(root, "notes", "--ref", NOTES, "list").split()
            reader = GitObjects(root)
            found = reader.read_blobs(listed[0::2])
            wanted = [
                record_from_json(json.loads(line))
                for data in found.values()
                for line in data.decode().splitlines()
                if only is None or f'"model": "{only}"' in line
            ]
            reader.close()
            assert wanted

        return read

    def ref_write() -> None:
        store = GitRecordStore(
            GitObjects(root), remote=None, push=False, fetch=False, ledger=root / ".ledger"
        )
        record = next(iter(store.records(model)))
        from dataclasses import replace

        store.write(replace(record, finished_at=datetime.now(UTC)))

    head = _git(root, "rev-parse", "HEAD").strip()

    def notes_write() -> None:
        subprocess.run(
            ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@x",
             "notes", "--ref", NOTES, "append", "-F", "-", head],
            input=b'{"model": "x"}\n', check=True, capture_output=True,
        )  # fmt: skip

    figures: dict[str, object] = {}
    for what, ours, theirs in (
        ("read_one_model", ref_one, notes(model)),
        ("read_all", ref_all, notes(None)),
        ("write_one", ref_write, notes_write),
    ):
        sides = {"ref": ours, "notes": theirs}
        wall: dict[str, list[float]] = {"ref": [], "notes": []}
        cpu: dict[str, list[float]] = {"ref": [], "notes": []}
        for run in range(runs + 1):  # each first in turn; the first round is not counted
            for side in rotated(list(sides), run):
                began, used = time.perf_counter(), cpu_now()
                sides[side]()
                if run:
                    wall[side].append(time.perf_counter() - began)
                    cpu[side].append(cpu_now() - used)
        figures[what] = {
            "seconds": {side: spread(values, 4) for side, values in wall.items()},
            "cpu_seconds": {side: spread(values, 4) for side, values in cpu.items()},
            "notes_vs_ref": paired(wall["notes"], wall["ref"]),
        }
    return figures


def _git(root: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *arguments], check=True, capture_output=True, text=True
    ).stdout


if __name__ == "__main__":
    main()
