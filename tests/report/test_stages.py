"""The run report's terminal table: names whole unless the terminal is narrower, and a
build row that says what was built."""

from __future__ import annotations

import hashlib

from mlops_ci.core.gates import GateResult
from mlops_ci.core.results import StageResult
from mlops_ci.report.stages import run_report, terminal

LONG = "train: balance within region churned_in_the_last_quarter"
FILES = [{"path": "model.json", "size": 2048, "sha256": "ab" * 32}]


def report() -> dict[str, object]:
    ingest = StageResult(
        "ingest", "1.0.0-rc.1", "passed", "candidate",
        gates=(GateResult(LONG, "min", 0.15, 0.27, "passed", "ok"),),
    )  # fmt: skip
    build = StageResult(
        "build", "1.0.0-rc.1", "passed", "candidate", details={"files": FILES, "seconds": 1.25}
    )
    return run_report("m", [ingest, build])


def test_names_are_whole_without_a_width_and_cut_to_fit_one() -> None:
    whole = terminal(report())
    assert f"{LONG} " in whole
    assert all(len(line) <= 80 for line in terminal(report(), 80).splitlines()[2:4])
    assert "train: balance within…" in terminal(report(), 80)
    assert f"{LONG} " in terminal(report(), 200)


def test_the_build_row_says_what_was_built() -> None:
    made = report()["stages"][1]["artifacts"]  # type: ignore[index]
    listing = f"{'ab' * 32}  model.json\n".encode()
    assert made == {
        "files": 1, "bytes": 2048, "sha256": hashlib.sha256(listing).hexdigest(), "seconds": 1.25,
    }  # fmt: skip
    row = next(line for line in terminal(report()).splitlines() if line.startswith("build"))
    assert f"artifacts: 1 file, 2KiB, sha256 {made['sha256'][:12]}, in 1.2 s" in row
    assert row.endswith("passed")
    assert "(no gates)" not in terminal(report())
