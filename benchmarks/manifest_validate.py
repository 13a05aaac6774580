"""How fast `mlops-ci manifest validate` starts and how many manifests it checks per second.

    python benchmarks/manifest_validate.py [--runs 15] [--manifests 1000]

Targets (issue: foundation):
- cold start on the example at most 0.25 s above the interpreter's own start
  (`python -c pass`, measured side by side in the same run);
- 1,000 manifests (a large monorepo) validated by one process in under 2 s, shown beside
  the floor (PyYAML's C loader plus jsonschema on the same files, no messages, no typed
  model) and beside check-jsonschema, another validator of the same schema.

Timings are medians of interleaved runs; this machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "churn" / "mlops.yaml"
CLI = [sys.executable, "-m", "mlops_ci"]


def timed(argv: list[str], expect: int = 0) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != expect:
        raise SystemExit(f"{argv[:4]} exited {result.returncode}: {result.stderr.decode()[:500]}")
    return elapsed


def cold_start(runs: int) -> dict[str, float]:
    console_script = shutil.which("mlops-ci", path=str(Path(sys.executable).parent))
    command = [console_script] if console_script else CLI
    interpreter, validate = [], []
    for _ in range(runs):  # interleaved, so both see the same machine
        interpreter.append(timed([sys.executable, "-c", "pass"]))
        validate.append(timed([*command, "manifest", "validate", "-f", str(EXAMPLE)]))
    return {
        "python_c_pass_s": statistics.median(interpreter),
        "validate_example_s": statistics.median(validate),
        "above_interpreter_s": statistics.median(validate) - statistics.median(interpreter),
    }


def make_monorepo(folder: Path, count: int) -> list[Path]:
    """``count`` model folders, each with a copy of the example manifest under its own name."""
    (folder / ".git").mkdir()
    text = EXAMPLE.read_text()
    manifests = []
    for index in range(count):
        model = folder / "models" / f"model-{index:04d}"
        model.mkdir(parents=True)
        path = model / "mlops.yaml"
        path.write_text(text.replace("name: churn-classifier", f"name: model-{index:04d}", 1))
        manifests.append(path)
    return manifests


FLOOR = """
import json, sys, time, yaml
from jsonschema import Draft202012Validator
schema = json.load(open(sys.argv[1]))
validator = Draft202012Validator(schema)
started = time.perf_counter()
for path in sys.argv[2:]:
    with open(path, 'rb') as handle:
        data = yaml.load(handle, Loader=yaml.CSafeLoader)
    errors = list(validator.iter_errors(data))
    assert not errors, errors[0]
print(time.perf_counter() - started)
"""


def many_manifests(count: int, runs: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as temporary:
        files = [str(p) for p in make_monorepo(Path(temporary), count)]
        schema = str(PROJECT / "schemas" / "manifest.schema.json")
        ours, floor_process, floor_loop, third_party = [], [], [], []
        for _ in range(runs):
            ours.append(timed([*CLI, "manifest", "validate", "--json", *files]))
            started = time.perf_counter()
            loop = subprocess.run(
                [sys.executable, "-c", FLOOR, schema, *files],
                capture_output=True,
                text=True,
                check=True,
            )
            floor_process.append(time.perf_counter() - started)
            floor_loop.append(float(loop.stdout))
            third_party.append(
                timed([sys.executable, "-m", "check_jsonschema", "--schemafile", schema, *files])
            )
    return {
        "manifests": count,
        "mlops_ci_validate_s": statistics.median(ours),
        "floor_process_s": statistics.median(floor_process),
        "floor_loop_only_s": statistics.median(floor_loop),
        "check_jsonschema_s": statistics.median(third_party),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=15, help="cold-start runs of each command")
    parser.add_argument("--manifests", type=int, default=1000, help="manifests in the monorepo")
    parser.add_argument("--batch-runs", type=int, default=3, help="runs over the monorepo")
    arguments = parser.parse_args()

    start = cold_start(arguments.runs)
    batch = many_manifests(arguments.manifests, arguments.batch_runs)
    ratio = batch["mlops_ci_validate_s"] / batch["floor_process_s"]
    print(f"cold start (median of {arguments.runs}, interleaved)")
    print(f"  python -c pass                      {start['python_c_pass_s']:.3f} s")
    print(f"  mlops-ci manifest validate example  {start['validate_example_s']:.3f} s")
    print(
        f"  above the interpreter               {start['above_interpreter_s']:.3f} s"
        f"   (target <= 0.250 s)"
    )
    print(f"{batch['manifests']} manifests, one process (median of {arguments.batch_runs})")
    print(
        f"  mlops-ci manifest validate --json   {batch['mlops_ci_validate_s']:.3f} s"
        f"   (target < 2 s)"
    )
    print(
        f"  floor: CSafeLoader + jsonschema     {batch['floor_process_s']:.3f} s"
        f"   (its loop alone {batch['floor_loop_only_s']:.3f} s)"
    )
    print(f"  check-jsonschema                    {batch['check_jsonschema_s']:.3f} s")
    print(f"  mlops-ci / floor                    {ratio:.2f}x")
    print(json.dumps({"cold_start": start, "many_manifests": batch, "ratio_to_floor": ratio}))


if __name__ == "__main__":
    main()
