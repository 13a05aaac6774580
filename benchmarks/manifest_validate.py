"""How fast `mlops-ci manifest validate` starts and how many manifests it checks per second.

    python benchmarks/manifest_validate.py [--runs 15] [--manifests 1000]

Targets (issue: foundation):
- cold start on the example at most 0.25 s above the interpreter's own start
  (`python -c pass`, measured side by side in the same run);
- 1,000 manifests (a large monorepo) validated by one process in under 2 s, with a margin
  (issue 22), shown beside the floor: the YAML parse alone with the same loader (libyaml's
  events through PyYAML's CSafeLoader, which ours drives too; no positions kept, no schema,
  no typed model), and beside two validators of the same schema that do more or other
  work: CSafeLoader plus jsonschema (builds Python objects, validates them, no positions),
  and check-jsonschema.

Every command runs once a run, in an order that starts at another command each run; the
figures are the median of the runs beside min and max, wall and CPU time (the process's
own), and the ratios are the medians of each run's paired ratios.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from child import differences, interleaved, paired, spread

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE = PROJECT / "examples" / "churn" / "mlops.yaml"
CLI = [sys.executable, "-m", "mlops_ci"]


def cold_start(runs: int) -> dict[str, object]:
    console_script = shutil.which("mlops-ci", path=str(Path(sys.executable).parent))
    command = [console_script] if console_script else CLI
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "validate": [*command, "manifest", "validate", "-f", str(EXAMPLE)],
        "--help": [*command, "--help"],
    }
    wall, _ = interleaved(commands, runs)
    above = differences(wall["validate"], wall["python -c pass"])
    helped = differences(wall["--help"], wall["python -c pass"])
    return {
        "python_c_pass_s": statistics.median(wall["python -c pass"]),
        "validate_example_s": statistics.median(wall["validate"]),
        "above_interpreter_s": statistics.median(above),  # the median of paired differences
        "above_interpreter": spread(above),
        "help_above_interpreter": spread(helped),
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


PARSE = """
import sys, time, yaml
started = time.perf_counter()
for path in sys.argv[1:]:
    with open(path, 'rb') as handle:
        text = handle.read().decode('utf-8')
    parser = yaml.CSafeLoader(text)
    try:
        while parser.get_event() is not None:
            pass
    finally:
        parser.dispose()
print(time.perf_counter() - started)
"""

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


def many_manifests(count: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as temporary:
        files = [str(p) for p in make_monorepo(Path(temporary), count)]
        schema = str(PROJECT / "schemas" / "manifest.schema.json")
        commands = {
            "mlops-ci": [*CLI, "manifest", "validate", "--json", *files],
            "yaml parse": [sys.executable, "-c", PARSE, *files],
            "CSafeLoader + jsonschema": [sys.executable, "-c", FLOOR, schema, *files],
            "check-jsonschema": [
                sys.executable, "-m", "check_jsonschema", "--schemafile", schema, *files
            ],
        }  # fmt: skip
        wall, cpu = interleaved(commands, runs)
    return {
        "manifests": count,
        "mlops_ci_validate_s": statistics.median(wall["mlops-ci"]),
        "seconds": {name: spread(values) for name, values in wall.items()},
        "cpu_seconds": {name: spread(values) for name, values in cpu.items()},
        "vs_yaml_parse": paired(wall["mlops-ci"], wall["yaml parse"]),
        "vs_yaml_parse_cpu": paired(cpu["mlops-ci"], cpu["yaml parse"]),
        "vs_csafeloader_jsonschema": paired(wall["mlops-ci"], wall["CSafeLoader + jsonschema"]),
        "vs_check_jsonschema": paired(wall["mlops-ci"], wall["check-jsonschema"]),
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
    print(json.dumps({"cold_start": start, "many_manifests": batch}))


if __name__ == "__main__":
    main()
