"""`mlops-ci run` and the single stages on a copy of examples/churn, with real commands,
records, git tags and the embedded MLflow store."""

from __future__ import annotations

import base64
import http.server
import json
import re
from pathlib import Path

import pytest
from blake3 import blake3
from jsonschema import Draft202012Validator

from tests.conftest import ENVIRON, PROJECT, CliRunner, commit, embedded_tracker, git, records_of
from tests.services import serve

MODEL = "churn-classifier"


def run_json(
    cli: CliRunner, repo: Path, *arguments: str, environ: dict[str, str] | None = None
) -> tuple[int, dict[str, object]]:
    run = cli(
        *arguments, "--json", "-f", str(repo / "mlops.yaml"), environ={**ENVIRON, **(environ or {})}
    )
    assert run.status in (0, 1), run.err
    return run.status, json.loads(run.out)


@pytest.mark.slow
def test_run_passes_then_a_tightened_gate_fails(
    cli: CliRunner, example_copy: Path, tmp_path: Path
) -> None:
    commit(example_copy, "feat: churn model")
    summary = tmp_path / "summary.md"
    status, report = run_json(
        cli, example_copy, "run", environ={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert status == 0
    schema = json.loads((PROJECT / "schemas" / "run-report.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(report)
    assert (report["verdict"], report["state"], report["version"]) == (
        "passed",
        "validated",
        "1.44.0-rc.1",
    )
    stages = report["stages"]
    assert [s["stage"] for s in stages] == ["ingest", "build", "test", "validate"]  # type: ignore[union-attr,index]
    checks = {c["name"]: c["verdict"] for s in stages for c in s["checks"]}  # type: ignore[union-attr,index]
    assert checks["accuracy"] in ("passed", "skipped")
    assert checks["roc_auc"] == "skipped"  # nothing in production to compare with
    assert checks["peak_rss_mib"] == "passed"
    assert summary.read_text().startswith(f"### ✅ {MODEL} 1.44.0-rc.1 is validated")

    store = records_of(example_copy)
    records = {r.stage: r for r in store.records(MODEL)}
    assert {s: r.state for s, r in records.items()} == {
        "ingest": "candidate",
        "build": "candidate",
        "test": "tested",
        "validate": "validated",
    }
    assert all(r.synced for r in records.values())
    assert records["build"].details["files"][0]["path"] == "model.json"  # type: ignore[index]
    assert f"{MODEL}@1.44.0-rc.1" in git(example_copy, "tag", "--list")
    tracker = embedded_tracker(example_copy)
    runs = {r.data.tags["mlops-ci.stage"]: r for r in tracker.runs_of(MODEL, "1.44.0-rc.1")}
    assert sorted(runs) == ["build", "ingest", "test", "validate"]
    # lineage: the data's fingerprint is in the record and in MLflow, and they agree
    data = {d["name"]: d for d in records["ingest"].details["data"]}  # type: ignore[union-attr]
    train_digest = blake3((example_copy / "data" / "train.csv").read_bytes()).hexdigest()
    assert data["train"]["fingerprint"]["blake3"] == train_digest
    assert runs["ingest"].data.params["data.train.blake3"] == train_digest
    assert runs["ingest"].data.metrics["data.train.rows"] == 5000
    number = tracker.model_version_of("1.44.0-rc.1")
    assert number is not None
    assert tracker.client.get_model_version(MODEL, number).tags["mlops-ci.state"] == "validated"
    assert tracker.alias_target("candidate") == "1.44.0-rc.1"
    assert tracker.alias_target("validated") == "1.44.0-rc.1"

    manifest = example_copy / "mlops.yaml"
    manifest.write_text(
        manifest.read_text().replace("accuracy: {min: 0.90}", "accuracy: {min: 0.99}")
    )
    commit(example_copy, "fix: demand more accuracy")
    status, report = run_json(cli, example_copy, "run")
    assert status == 1
    assert (report["verdict"], report["state"], report["version"]) == (
        "failed",
        "failed",
        "1.44.0-rc.2",
    )
    assert [s["stage"] for s in report["stages"]] == ["ingest", "build", "test"]  # type: ignore[union-attr,index]
    assert report["summary"] == (f"❌ {MODEL} 1.44.0-rc.2 failed test: accuracy 0.91 fails >= 0.99")
    failed_runs = [
        r for r in tracker.runs_of(MODEL, "1.44.0-rc.2") if r.data.tags["mlops-ci.stage"] == "test"
    ]
    assert [r.info.status for r in failed_runs] == ["FAILED"]
    test_record = store.read(MODEL, "1.44.0-rc.2", "test")
    assert test_record is not None
    assert test_record.state == "failed"
    # the newest candidate moved the candidate alias; validated stays where it was
    assert tracker.alias_target("candidate") == "1.44.0-rc.2"
    assert tracker.alias_target("validated") == "1.44.0-rc.1"

    # a failed candidate is never promoted: validate refuses it
    again = cli("validate", "-f", str(manifest), "--version", "1.44.0-rc.2", environ=ENVIRON)
    assert again.status == 1
    assert again.out.startswith(
        f"❌ {MODEL} 1.44.0-rc.2 failed validate: 1.44.0-rc.2 failed an "
        "earlier stage; a failed candidate can never be promoted"
    )


@pytest.mark.slow
def test_single_stages_rerun_and_keep_going(cli: CliRunner, example_copy: Path) -> None:
    commit(example_copy, "initial")
    manifest = str(example_copy / "mlops.yaml")
    early = cli("test", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert early.status == 2
    assert early.err == (
        "mlops-ci: no candidate is built at this commit; run `mlops-ci build` "
        "first (or pass --version)\n"
    )
    for stage in ("build", "test", "validate", "validate"):
        run = cli(stage, "-f", manifest, "--no-tracking", environ=ENVIRON)
        assert run.status == 0, run.out + run.err
    assert "1.43.14-rc.1 is validated" in run.out
    # the same commit builds the same candidate again
    rebuilt = cli("build", "--json", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert json.loads(rebuilt.out)["version"] == "1.43.14-rc.1"
    assert not (example_copy / ".mlops-ci" / "mlflow.db").exists()

    (example_copy / "mlops.yaml").write_text(
        (example_copy / "mlops.yaml")
        .read_text()
        .replace("p95_ms: {max: 25}", "p95_ms: {max: 0.000001}")
    )
    commit(example_copy, "fix: impossible latency")
    status, report = run_json(cli, example_copy, "run", "--keep-going", "--no-tracking")
    assert status == 1
    assert [(s["stage"], s["verdict"]) for s in report["stages"]] == [  # type: ignore[union-attr,index]
        ("ingest", "passed"),
        ("build", "passed"),
        ("test", "passed"),
        ("validate", "failed"),
    ]


def test_validate_holds_the_models_outputs_to_its_signature(
    cli: CliRunner, example_copy: Path
) -> None:
    """The benchmark prints the model's answer to its request; an output the manifest
    declares and the model does not give fails validate, with the field named."""
    manifest = example_copy / "mlops.yaml"
    declared = "- {name: churn_probability, type: float}"
    assert declared in manifest.read_text()
    manifest.write_text(manifest.read_text().replace(declared, "- {name: churn_label, type: int}"))
    commit(example_copy, "feat!: a label, not a probability")
    status, report = run_json(cli, example_copy, "run", "--no-tracking")
    assert status == 1
    schema = json.loads((PROJECT / "schemas" / "run-report.schema.json").read_text())
    Draft202012Validator(schema).validate(report)
    validate = report["stages"][-1]  # type: ignore[index]
    assert (validate["stage"], validate["verdict"]) == ("validate", "failed")
    assert validate["problem"].startswith("model.signature: the model gives no output")
    signature = validate["signature"]
    assert signature == {
        "verdict": "failed",
        "problems": [
            "the model gives no output 'churn_label' (model.signature.outputs declares it)",
            "the model gives output 'churn_probability', which model.signature.outputs does "
            "not declare; declare it (an added output is a minor change)",
        ],
    }
    shown = cli("validate", "-f", str(manifest), "--no-tracking", environ=ENVIRON)
    assert shown.status == 1
    assert "model.signature: the model gives no output 'churn_label'" in shown.out + shown.err


def test_validate_holds_an_mlflow_models_logged_signature_to_the_manifest(
    cli: CliRunner, example_copy: Path
) -> None:
    """Artifacts that are an MLflow model carry their signature in MLmodel: a logged input
    the manifest does not declare, and a retyped one, fail validate."""
    (example_copy / "train_mlflow.py").write_text(
        "import subprocess, sys\n"
        "from mlflow.models import Model\n"
        "from mlflow.models.signature import ModelSignature\n"
        "from mlflow.types.schema import ColSpec, Schema\n"
        "out = sys.argv[1]\n"
        "subprocess.run([sys.executable, 'train.py', '--data', 'data/train.csv', '--out', out],"
        " check=True)\n"
        "inputs = Schema([ColSpec('double', 'tenure_months'), ColSpec('long', 'plan')])\n"
        "outputs = Schema([ColSpec('double', 'churn_probability')])\n"
        "Model(signature=ModelSignature(inputs, outputs)).save(out + '/MLmodel')\n"
    )
    manifest = example_copy / "mlops.yaml"
    build = "command: python train.py --data data/train.csv --out {artifacts}"
    assert build in manifest.read_text()
    manifest.write_text(
        manifest.read_text().replace(build, "command: python train_mlflow.py {artifacts}")
    )
    commit(example_copy, "feat: an MLflow model")
    status, report = run_json(cli, example_copy, "run", "--no-tracking")
    assert status == 1
    validate = report["stages"][-1]  # type: ignore[index]
    assert (validate["stage"], validate["verdict"]) == ("validate", "failed")
    problems = validate["signature"]["problems"]
    assert (
        "input 'plan' is int in the MLmodel file, not the string model.signature.inputs declares"
        in problems
    )
    assert "the MLmodel file has no input 'region' (model.signature.inputs declares it)" in problems
    assert validate["problem"].startswith("model.signature: ")


def test_a_model_that_fails_one_group_fails_its_slice_gate(
    cli: CliRunner, example_copy: Path
) -> None:
    """The example's model is less sure of churn in the west (recall 0.75 there, 0.88 in
    the north): a fairness gate of 0.05 on recall's gap between regions fails test."""
    commit(example_copy, "feat: churn model")
    status, report = run_json(cli, example_copy, "run", "--until", "test", "--no-tracking")
    assert status == 0
    checks = {c["name"]: c for c in report["stages"][-1]["checks"]}  # type: ignore[index]
    assert checks["slices.region.accuracy.gap"]["verdict"] == "passed"
    assert checks["slices.region.west.recall"]["verdict"] == "passed"
    manifest = example_copy / "mlops.yaml"
    manifest.write_text(
        manifest.read_text().replace("recall: {min: 0.70}", "recall: {min: 0.70, max_gap: 0.05}")
    )
    commit(example_copy, "test: recall alike in every region")
    status, report = run_json(cli, example_copy, "run", "--until", "test", "--no-tracking")
    assert status == 1
    schema = json.loads((PROJECT / "schemas" / "run-report.schema.json").read_text())
    Draft202012Validator(schema).validate(report)
    test = report["stages"][-1]  # type: ignore[index]
    assert (test["stage"], test["verdict"]) == ("test", "failed")
    (failed,) = [c for c in test["checks"] if c["verdict"] == "failed"]
    assert failed["name"] == "slices.region.recall.gap"
    assert failed["message"].startswith("recall differs by 0.1318 between region groups (north ")
    assert failed["message"].endswith("more than max_gap 0.05")


@pytest.mark.slow
def test_data_that_moved_from_production_s_training_data_fail_the_drift_gate(
    cli: CliRunner, example_copy: Path
) -> None:
    commit(example_copy, "feat: churn model")
    status, report = run_json(cli, example_copy, "run", "--no-tracking")
    assert status == 0
    ingest = report["stages"][0]  # type: ignore[index]
    drift = [c for c in ingest["checks"] if "drift" in c["name"]]
    assert [(c["name"], c["verdict"]) for c in drift] == [
        ("train: drift psi", "skipped"),
        ("train: drift ks", "skipped"),
        ("train: drift wasserstein", "skipped"),
    ]  # nothing in production yet
    stored = records_of(example_copy).read(MODEL, "1.44.0-rc.1", "ingest")
    assert stored is not None
    profile = stored.details["data"][0]["profile"]  # type: ignore[index]
    assert profile["rows"] == profile["sampled"] == 5000  # fewer rows than a sample: all
    assert profile["columns"]["tenure_months"]["kind"] == "numeric"
    assert set(profile["columns"]["plan"]["shares"]) == {"basic", "pro", "enterprise"}
    assert profile["columns"]["customer_id"] == {"kind": "other", "nulls": 0.0}  # no ids kept
    # the release pull request merged: the manifest names 1.44.0, released from rc.1
    manifest = example_copy / "mlops.yaml"
    manifest.write_text(manifest.read_text().replace("version: 1.43.13", "version: 1.44.0", 1))
    commit(example_copy, "chore: release 1.44.0")
    status, report = run_json(cli, example_copy, "ingest", "--no-tracking")
    assert status == 0
    same = {c["name"]: c for c in report["stages"][0]["checks"] if "drift" in c["name"]}  # type: ignore[index]
    assert {c["verdict"] for c in same.values()} == {"passed"}
    assert same["train: drift psi"]["value"] == 0.0
    assert "against 1.44.0's training data" in same["train: drift psi"]["message"]

    # customers stay twice as long as they did: only tenure_months moved
    data = example_copy / "data" / "train.csv"
    lines = data.read_text().splitlines()
    moved = []
    for line in lines[1:]:
        fields = line.split(",")
        fields[1] = f"{float(fields[1]) * 2:.1f}"
        moved.append(",".join(fields))
    data.write_text("\n".join([lines[0], *moved]) + "\n")
    commit(example_copy, "feat: this year's customers")
    status, report = run_json(cli, example_copy, "ingest", "--no-tracking")
    assert status == 1
    shifted = {c["name"]: c for c in report["stages"][0]["checks"] if "drift" in c["name"]}  # type: ignore[index]
    assert {n: c["verdict"] for n, c in shifted.items()} == {
        "train: drift psi": "failed",
        "train: drift ks": "failed",
        "train: drift wasserstein": "failed",
    }
    message = shifted["train: drift ks"]["message"]
    assert "'tenure_months'" in message
    assert "'monthly_charges'" not in message
    assert "against 1.44.0's training data" in message


def test_a_failing_build_command_fails_the_stage(cli: CliRunner, example_copy: Path) -> None:
    manifest = example_copy / "mlops.yaml"
    manifest.write_text(
        manifest.read_text().replace(
            "command: python train.py --data data/train.csv --out {artifacts}",
            "command: python -c 'import sys; print(\"no data\"); sys.exit(4)'",
        )
    )
    commit(example_copy, "broken build")
    status, report = run_json(cli, example_copy, "build", "--no-tracking")
    assert status == 1
    stage = report["stages"][0]  # type: ignore[index]
    assert stage["problem"] == "build.command exited with 4"  # type: ignore[index]
    record = records_of(example_copy).read(
        MODEL,
        report["version"],  # type: ignore[arg-type]
        "build",
    )
    assert record is not None
    assert record.details["output_tail"] == "no data"
    assert f"{MODEL}@{report['version']}" not in git(example_copy, "tag", "--list")


def test_a_link_to_nothing_among_the_artifacts_is_bad_input_naming_it(
    cli: CliRunner, example_copy: Path
) -> None:
    manifest = example_copy / "mlops.yaml"
    script = (
        "import os, sys; os.makedirs(sys.argv[1], exist_ok=True); "
        "os.symlink('gone.bin', sys.argv[1] + '/w')"
    )
    manifest.write_text(
        manifest.read_text().replace(
            "command: python train.py --data data/train.csv --out {artifacts}",
            f"command: [python, -c, {json.dumps(script)}, '{{artifacts}}']",
        )
    )
    commit(example_copy, "a build that leaves a dangling link")
    done = cli("build", "--no-tracking", "-f", str(manifest))
    assert done.status == 2, done.err
    assert "w in model/ is a link to nothing (gone.bin does not exist)" in done.err
    assert "internal error" not in done.err


def test_run_tells_each_stage_and_shows_a_failed_command_s_last_lines(
    cli: CliRunner, example_copy: Path
) -> None:
    manifest = example_copy / "mlops.yaml"
    script = (
        "import sys; [print('step', n) for n in range(30)]; print('out of memory'); sys.exit(3)"
    )
    manifest.write_text(
        manifest.read_text().replace(
            "command: python train.py --data data/train.csv --out {artifacts}",
            f'command: python -c "{script}"',
        )
    )
    commit(example_copy, "broken build")
    ran = cli("run", "-f", str(manifest), "--no-tracking", environ=ENVIRON)
    assert ran.status == 1
    told = [line for line in ran.err.splitlines() if line.startswith("mlops-ci: ")]
    assert told[0] == "mlops-ci: ingest …"
    assert re.fullmatch(r"mlops-ci: ingest 1\.43\.14-rc\.1 passed in \d+\.\d s", told[1])
    assert told[2] == "mlops-ci: build …"
    assert re.fullmatch(r"mlops-ci: build 1\.43\.14-rc\.1 failed in \d+\.\d s", told[3])
    assert len(told) == 4  # no stage after the failure
    after = ran.out[ran.out.index("The end of build's output") :].splitlines()
    assert after[0].endswith("build.log):")
    tail = [line for line in after if line.startswith("  | ")]
    assert 10 <= len(tail) <= 20  # the runner keeps the last lines of a command
    assert tail[-1] == "  | out of memory"
    assert "  | step 29" in tail
    assert "  | step 0" not in tail  # the last lines, not the whole log


def test_help_and_usage_errors(cli: CliRunner) -> None:
    assert cli("run", "--until", "deploy").status == 2
    assert cli("run", "--help").status == 0


def test_a_test_command_that_writes_no_metrics_fails_even_after_a_good_run(
    cli: CliRunner, example_copy: Path
) -> None:
    commit(example_copy, "initial")
    manifest = example_copy / "mlops.yaml"
    for stage in ("build", "test"):
        assert cli(stage, "-f", str(manifest), "--no-tracking", environ=ENVIRON).status == 0
    evaluate = "python evaluate.py --model {artifacts} --data data/holdout.csv --out {metrics}"
    manifest.write_text(manifest.read_text().replace(evaluate, "python -c pass"))
    status, report = run_json(cli, example_copy, "test", "--no-tracking")
    assert status == 1
    stage = report["stages"][0]  # type: ignore[index]
    assert stage["problem"] == "the metrics file metrics.json was not written"  # type: ignore[index]


def _break_the_data(repo: Path) -> str:
    """A repeated customer and an e-mail address in the training data; returns the original."""
    data = repo / "data" / "train.csv"
    original = data.read_text()
    lines = original.splitlines()
    fields = lines[5].split(",")
    fields[4] = "mary@example.com"  # plan
    data.write_text("\n".join([*lines, lines[2], ",".join(fields)]) + "\n")
    return original


@pytest.mark.slow
def test_failing_data_stop_the_run_and_fail_the_candidate(
    cli: CliRunner, example_copy: Path
) -> None:
    _break_the_data(example_copy)
    commit(example_copy, "feat: more data")
    status, report = run_json(cli, example_copy, "run", "--no-tracking")
    assert status == 1
    assert [(s["stage"], s["verdict"], s["state"]) for s in report["stages"]] == [  # type: ignore[union-attr,index]
        ("ingest", "failed", "failed")
    ]
    summary = str(report["summary"])
    assert summary.startswith(f"❌ {MODEL} 1.44.0-rc.1 failed ingest: ")
    assert "'plan' has 1 value other than basic, pro, enterprise (row 5002)" in summary
    assert "mary@example.com" not in json.dumps(report)
    checks = {c["name"]: c for s in report["stages"] for c in s["checks"]}  # type: ignore[union-attr,index]
    assert checks["train: unique customer_id"]["message"] == (
        "'customer_id' has 2 values that repeat an earlier row's (rows 5001, 5002)"
    )
    assert checks["train: pii email"]["value"] == 1
    assert checks["train: allowed plan"]["verdict"] == "failed"

    # with --keep-going the candidate is still built and measured, but stays failed
    status, report = run_json(cli, example_copy, "run", "--keep-going", "--no-tracking")
    assert status == 1
    assert [(s["stage"], s["state"]) for s in report["stages"]] == [  # type: ignore[union-attr,index]
        ("ingest", "failed"),
        ("build", "failed"),
        ("test", "failed"),
        ("validate", "failed"),
    ]
    assert report["version"] == "1.44.0-rc.1"
    assert f"{MODEL}@1.44.0-rc.1" not in git(example_copy, "tag", "--list")
    build = records_of(example_copy).read(MODEL, "1.44.0-rc.1", "build")
    assert build is not None
    assert build.details["data_failed"] is True


@pytest.mark.slow
def test_data_fixed_at_the_same_commit_pass_under_the_same_number(
    cli: CliRunner, example_copy: Path
) -> None:
    commit(example_copy, "feat: churn model")
    original = _break_the_data(example_copy)  # not committed: data kept out of git
    manifest = str(example_copy / "mlops.yaml")
    failed = cli("ingest", "--json", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert failed.status == 1
    assert json.loads(failed.out)["state"] == "failed"
    (example_copy / "data" / "train.csv").write_text(original)
    for stage, state in (("ingest", "candidate"), ("build", "candidate")):
        run = cli(stage, "--json", "-f", manifest, "--no-tracking", environ=ENVIRON)
        assert run.status == 0, run.err
        assert (json.loads(run.out)["version"], json.loads(run.out)["state"]) == (
            "1.44.0-rc.1",
            state,
        )
    # a model without data sets: run starts at build; ingest alone says there is nothing
    text = (example_copy / "mlops.yaml").read_text()
    start, end = text.index("data:\n"), text.index("build:\n")
    (example_copy / "mlops.yaml").write_text(text[:start] + text[end:])
    alone = cli("ingest", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert alone.status == 2
    assert "the manifest has no data section to ingest" in alone.err
    status, report = run_json(cli, example_copy, "run", "--until", "build", "--no-tracking")
    assert status == 0
    assert [s["stage"] for s in report["stages"]] == ["build"]  # type: ignore[union-attr,index]


@pytest.mark.slow
def test_uncommitted_changes_never_change_the_candidate_of_a_commit(
    cli: CliRunner, example_copy: Path
) -> None:
    commit(example_copy, "fix: churn model")
    status, report = run_json(cli, example_copy, "run", "--until", "build", "--no-tracking")
    assert (status, report["version"], report["state"]) == (0, "1.43.14-rc.1", "candidate")
    status, report = run_json(cli, example_copy, "ingest", "--no-tracking")
    assert (status, report["version"], report["state"]) == (0, "1.43.14-rc.1", "candidate")
    before = git(example_copy, "rev-parse", "refs/mlops-ci/records")
    _break_the_data(example_copy)  # changed after the build, at the same commit
    manifest = str(example_copy / "mlops.yaml")
    ran = cli("ingest", "--json", "-f", manifest, "--no-tracking", environ=ENVIRON)
    preview = json.loads(ran.out)
    assert (ran.status, preview["version"], preview["state"]) == (1, "1.43.14-rc.2", "failed")
    (line,) = [line for line in ran.err.splitlines() if "preview" in line]
    assert line.startswith("mlops-ci: uncommitted changes (data/train.csv): an untagged preview")
    # the commit's candidate, its records and its tags are as they were
    assert git(example_copy, "rev-parse", "refs/mlops-ci/records") == before
    ingest = records_of(example_copy).read(MODEL, "1.43.14-rc.1", "ingest")
    assert ingest is not None
    assert (ingest.verdict, ingest.state) == ("passed", "candidate")
    assert f"{MODEL}@1.43.14-rc.2" not in git(example_copy, "tag", "--list")
    # in CI the same is refused, and nothing is written
    refused = cli("ingest", "-f", manifest, environ={**ENVIRON, "CI": "true"})
    assert refused.status == 2
    assert "uncommitted changes in churn-classifier's folder (data/train.csv)" in refused.err
    assert git(example_copy, "rev-parse", "refs/mlops-ci/records") == before


def test_a_fresh_checkout_of_the_same_commit_builds_the_same_candidate(
    cli: CliRunner, example_copy: Path
) -> None:
    """A checkout whose records are gone still knows this commit's candidate: from its tag,
    else from MLflow; a re-run is not a new candidate."""
    commit(example_copy, "feat: the churn model")
    status, first = run_json(cli, example_copy, "build")
    assert (status, first["version"]) == (0, "1.44.0-rc.1")
    git(example_copy, "update-ref", "-d", "refs/mlops-ci/records")
    status, again = run_json(cli, example_copy, "build")
    assert (status, again["version"]) == (0, "1.44.0-rc.1")
    build = records_of(example_copy).read(MODEL, "1.44.0-rc.1", "build")
    assert build is not None
    assert build.params["bump"] == "the candidate tagged on this commit"
    # neither records nor the tag (a checkout of an older mlops-ci's work): MLflow remembers
    git(example_copy, "update-ref", "-d", "refs/mlops-ci/records")
    git(example_copy, "tag", "-d", f"{MODEL}@1.44.0-rc.1")
    status, again = run_json(cli, example_copy, "build")
    assert (status, again["version"]) == (0, "1.44.0-rc.1")
    build = records_of(example_copy).read(MODEL, "1.44.0-rc.1", "build")
    assert build is not None
    assert "found in MLflow" in build.params["bump"]
    assert embedded_tracker(example_copy).registered_candidates() == ["1.44.0-rc.1"]

    commit(example_copy, "fix: another commit", touch="NOTES.md")
    status, other = run_json(cli, example_copy, "build")
    assert (status, other["version"]) == (0, "1.44.0-rc.2")


def test_mlflow_is_told_at_the_end_and_a_dead_one_keeps_the_run_s_outcome(
    cli: CliRunner, example_copy: Path
) -> None:
    """MLflow is told by a sync started with the run (its import and store overlap the
    stages); one that does not answer leaves the outcome shown, the records in git, and
    says to sync later."""
    manifest = str(example_copy / "mlops.yaml")
    commit(example_copy, "feat: the churn model")
    assert cli("run", "-f", manifest, "--no-tracking", environ=ENVIRON).status == 0
    (example_copy / "NOTES.md").write_text("a change\n")
    commit(example_copy, "docs: a note")
    # A store that cannot be made (its folder would be a file): the sync fails as it opens it.
    broken = f"sqlite:///{example_copy / 'mlops.yaml' / 'mlflow.db'}"
    ran = cli("run", "-f", manifest, environ={**ENVIRON, "MLFLOW_TRACKING_URI": broken})
    assert ran.status == 3, ran.err
    assert ran.out.startswith(f"✅ {MODEL} 1.44.0-rc.2 ")  # the run's own outcome
    assert f"MLflow at {broken} cannot be opened (FileExistsError" in ran.err
    assert ran.err.splitlines()[-1] == (
        f"mlops-ci: MLflow at {broken} was not told of this command's records (above); they "
        "are in git: run `mlops-ci sync` when it is back"
    )
    assert "Traceback" not in ran.err
    validated = records_of(example_copy).read(MODEL, "1.44.0-rc.2", "validate")
    assert validated is not None
    assert (validated.state, validated.synced) == ("validated", False)


def test_a_server_that_echoes_the_login_of_mlflow_tracking_uri_never_shows_it(
    cli: CliRunner, example_copy: Path
) -> None:
    """The password in ``MLFLOW_TRACKING_URI`` is masked as written, decoded, as
    ``user:password`` and as the Basic header's base64, whatever a server's error quotes."""
    commit(example_copy, "feat: the churn model")

    def echo(handler: http.server.BaseHTTPRequestHandler) -> None:
        header = handler.headers.get("Authorization", "")
        decoded = base64.b64decode(header.removeprefix("Basic ")).decode() if header else ""
        body = json.dumps(
            {"error_code": "BAD_REQUEST", "message": f"decoded={decoded} header={header}"}
        ).encode()
        handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        handler.send_response(400)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    server = serve(echo)
    try:
        uri = f"http://ci-user:p%40ss-w0rd-long@127.0.0.1:{server.server_address[1]}"
        done = cli(
            "build", "-f", str(example_copy / "mlops.yaml"),
            environ={**ENVIRON, "MLFLOW_TRACKING_URI": uri},
        )  # fmt: skip
    finally:
        server.shutdown()
    said = done.out + done.err
    assert done.status == 3, said
    assert "decoded=***" in said  # the server's text is shown, the login is not
    for secret in (
        "p@ss-w0rd-long",
        "p%40ss-w0rd-long",
        base64.b64encode(b"ci-user:p@ss-w0rd-long").decode(),
    ):
        assert secret not in said
    assert "Traceback" not in said


def test_mlflow_unreachable_before_any_record_says_nothing_of_records_kept(
    cli: CliRunner, repository: Path
) -> None:
    """A model git knows nothing of asks MLflow for its history first: MLflow failing then
    has written nothing to catch up on, and the message must not promise a sync will."""
    (repository / "mlops.yaml").write_text(
        "apiVersion: mlops-ci/v1\nmodel: {name: fresh, version: 1.0.0}\n"
        "build:\n  command: python make.py {artifacts}\n  artifacts: build/model\n"
    )
    (repository / "make.py").write_text(
        "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(sys.argv[1] + '/m', 'w')\n"
    )
    (repository / ".gitignore").write_text("build/\n.mlops-ci/\n")
    commit(repository, "a model")
    done = cli(
        "run", "-f", str(repository / "mlops.yaml"),
        environ={**ENVIRON, "MLFLOW_TRACKING_URI": "http://127.0.0.1:9"},
    )  # fmt: skip
    assert done.status == 3, done.err
    last = done.err.strip().splitlines()[-1]
    assert last.startswith("mlops-ci: MLflow at http://127.0.0.1:9 could not ")
    assert last.endswith("; check that it is up and that this machine can reach it")
    assert "sync" not in last
    assert list(records_of(repository).records("fresh")) == []


def test_run_json_is_strict_json_when_the_metrics_file_holds_nan(
    cli: CliRunner, repository: Path
) -> None:
    (repository / "mlops.yaml").write_text(
        "apiVersion: mlops-ci/v1\nmodel: {name: nan, version: 1.0.0}\n"
        "build:\n  command: python make.py {artifacts}\n  artifacts: build/model\n"
        "test:\n  command: python score.py {metrics}\n  metrics: [accuracy, loss]\n"
        "  gates: {accuracy: {min: 0.5}}\n"
    )
    (repository / "make.py").write_text(
        "import os, sys\nos.makedirs(sys.argv[1], exist_ok=True)\nopen(sys.argv[1] + '/m', 'w')\n"
    )
    (repository / "score.py").write_text(
        "import json, sys\njson.dump({'accuracy': float('nan'), 'loss': float('inf')}, "
        "open(sys.argv[1], 'w'))\n"
    )
    (repository / ".gitignore").write_text("build/\n.mlops-ci/\n")
    commit(repository, "a model")
    done = cli(
        "run", "-f", str(repository / "mlops.yaml"), "--no-tracking", "--json", environ=ENVIRON
    )
    assert done.status == 1, done.err

    def refuse(constant: str) -> object:
        raise AssertionError(f"a bare {constant} in --json")

    report = json.loads(done.out, parse_constant=refuse)
    assert report["verdict"] == "failed"


def test_a_balance_group_that_is_an_email_is_masked_in_the_terminal_json_and_record(
    cli: CliRunner, repository: Path
) -> None:
    (repository / "mlops.yaml").write_text(
        "apiVersion: mlops-ci/v1\nmodel: {name: masked, version: 1.0.0}\ndata:\n"
        "  - name: train\n    path: train.csv\n    label: churned\n"
        "    checks: {balance: {column: churned, min_share: 0.2, sensitive: [region]}}\n"
    )
    rows = [f"{int(i < 5)},north" for i in range(10)] + ["0,alice.secret@example.com"] * 10
    (repository / "train.csv").write_text("churned,region\n" + "\n".join(rows) + "\n")
    commit(repository, "data")
    manifest = str(repository / "mlops.yaml")
    shown = cli("ingest", "-f", manifest, "--no-tracking", environ=ENVIRON)
    as_json = cli("ingest", "--json", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert (shown.status, as_json.status) == (1, 1), shown.err
    record = records_of(repository).read("masked", json.loads(as_json.out)["version"], "ingest")
    assert record is not None
    for text in (shown.out + shown.err, as_json.out, json.dumps(record.details)):
        assert "alice.secret" not in text
    assert "where region = a************m (24 characters)" in as_json.out
