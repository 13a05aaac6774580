"""The CLI as users and CI meet it: exit statuses, output formats, help, environment options."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from mlops_ci import __version__
from mlops_ci.cli import manifest as manifest_command
from mlops_ci.cli.main import build_parser
from tests.conftest import EXAMPLE, MINIMAL, PROJECT, CliRunner

BAD = PROJECT / "tests" / "manifest" / "bad"


def all_parsers(
    parser: argparse.ArgumentParser, name: str = "mlops-ci"
) -> list[tuple[str, argparse.ArgumentParser, str | None]]:
    """Every command's parser, with its name and the help its parent shows for it."""
    found: list[tuple[str, argparse.ArgumentParser, str | None]] = [(name, parser, None)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for child_name, child in action.choices.items():
                for entry in all_parsers(child, f"{name} {child_name}"):
                    found.append(
                        entry
                        if entry[0] != f"{name} {child_name}"
                        else (entry[0], entry[1], helps.get(child_name))
                    )
    return found


def test_every_command_and_option_has_help_text() -> None:
    parsers = all_parsers(build_parser())
    assert {name for name, _, _ in parsers} >= {
        "mlops-ci",
        "mlops-ci manifest",
        "mlops-ci manifest validate",
        "mlops-ci manifest schema",
    }
    for name, parser, summary in parsers:
        assert parser.description, f"{name} has no description"
        if name != "mlops-ci":
            assert summary, f"{name} has no one-line help in its parent's list"
        for action in parser._actions:
            assert (action.help or "").strip(), (
                f"{name}: {action.option_strings or action.dest} has no help text"
            )


def test_help_exits_0_and_names_the_commands(cli: CliRunner) -> None:
    run = cli("--help")
    assert run.status == 0
    assert "manifest" in run.out
    run = cli("manifest", "validate", "--help")
    assert run.status == 0
    assert "--json" in run.out
    assert "--manifest" in run.out


def test_bad_usage_exits_2(cli: CliRunner) -> None:
    run = cli("manifest", "frobnicate")
    assert run.status == 2
    assert "invalid choice" in run.err
    assert cli().status == 2


def test_version_is_the_packages_one(cli: CliRunner) -> None:
    from importlib.metadata import version

    run = cli("--version")
    assert (run.status, run.out.strip()) == (0, f"mlops-ci {__version__}")
    assert version("mlops-ci") == __version__  # pyproject.toml reads it from the package


def test_validate_example_exits_0(cli: CliRunner) -> None:
    run = cli("manifest", "validate", "-f", str(EXAMPLE / "mlops.yaml"))
    assert run.status == 0
    assert run.out == f"{EXAMPLE / 'mlops.yaml'}: valid (churn-classifier 1.43.13)\n"


def test_validate_reads_mlops_yaml_by_default(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mlops.yaml").write_text(MINIMAL)
    monkeypatch.chdir(tmp_path)
    run = cli("manifest", "validate")
    assert (run.status, run.out) == (0, "mlops.yaml: valid (churn 1.0.0)\n")


def test_several_manifests_are_all_reported(cli: CliRunner) -> None:
    good = str(EXAMPLE / "mlops.yaml")
    run = cli(
        "manifest",
        "validate",
        "-f",
        good,
        str(BAD / "scheme_typo.yaml"),
        str(BAD / "size_zero.yaml"),
        good,
    )
    assert run.status == 2
    lines = run.out.splitlines()
    assert lines[0] == f"{good}: valid (churn-classifier 1.43.13)"
    assert lines[1].startswith(f"{BAD / 'scheme_typo.yaml'}:5:22: versioning.scheme must be")
    assert lines[2].startswith(f"{BAD / 'size_zero.yaml'}:6:15: validate.size.max: '0MiB'")
    assert lines[3] == "2 problems in 2 of 3 manifests"


def test_json_report_matches_its_schema(cli: CliRunner) -> None:
    run = cli(
        "manifest",
        "validate",
        "--json",
        "-f",
        str(EXAMPLE / "mlops.yaml"),
        str(BAD / "duplicate_key.yaml"),
        str(BAD / "empty.yaml"),
    )
    assert run.status == 2
    report = json.loads(run.out)
    schema = json.loads((PROJECT / "schemas" / "validate-report.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(report)
    assert report["valid"] is False
    assert [m["valid"] for m in report["manifests"]] == [True, False, False]
    assert report["manifests"][0]["model"] == {"name": "churn-classifier", "version": "1.43.13"}
    assert report["manifests"][1]["issues"][0]["line"] == 5


def test_hundreds_of_manifests_checked_on_every_core_report_as_one_process_would(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A monorepo's manifests are shared out among the cores; the report is the same one,
    in the files' order, with every issue at its file, line and column."""
    assert len(os.sched_getaffinity(0)) >= 2  # this machine, and CI's, has two cores
    bad = (BAD / "scheme_typo.yaml").read_text()
    files = []
    for index in range(200):
        folder = tmp_path / f"m{index:03d}"
        folder.mkdir()
        (folder / "mlops.yaml").write_text(
            bad if index % 37 == 5 else MINIMAL.replace("churn", f"model-{index:03d}")
        )
        files.append(str(folder / "mlops.yaml"))
    shared = cli("manifest", "validate", "--json", *files)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0})  # one core: one process
    alone = cli("manifest", "validate", "--json", *files)
    assert (shared.status, shared.out, shared.err) == (alone.status, alone.out, alone.err)
    report = json.loads(shared.out)
    assert shared.status == 2
    assert [m["file"] for m in report["manifests"]] == files
    invalid = [m for m in report["manifests"] if not m["valid"]]
    assert [m["file"] for m in invalid] == [files[i] for i in range(200) if i % 37 == 5]
    assert {(i["file"], i["line"], i["column"]) for m in invalid for i in m["issues"]} == {
        (files[i], 5, 22) for i in range(200) if i % 37 == 5
    }
    assert report["manifests"][199]["model"] == {"name": "model-199", "version": "1.0.0"}


def test_a_bug_in_a_shared_out_check_is_still_a_bug_report(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = []
    for index in range(130):
        (tmp_path / f"{index}.yaml").write_text(MINIMAL)
        files.append(str(tmp_path / f"{index}.yaml"))
    monkeypatch.setattr(manifest_command, "load_manifest", _broken_loader)
    run = cli("manifest", "validate", "-f", files[0], *files[1:])
    assert run.status == 4
    assert "internal error (RuntimeError); this is a bug in mlops-ci" in run.err


def _broken_loader(file: str, display: str) -> object:
    raise RuntimeError(f"unexpected state in {display}")


def test_annotations_under_github_actions_go_to_stderr(cli: CliRunner) -> None:
    bad = str(BAD / "scheme_typo.yaml")
    run = cli("manifest", "validate", "--json", "-f", bad, environ={"GITHUB_ACTIONS": "true"})
    assert run.status == 2
    json.loads(run.out)  # stdout stays pure JSON
    assert (
        f"::error file={bad},line=5,col=22,title=mlops-ci manifest::versioning.scheme must be "
        "one of semver, calver, not 'semvar' (did you mean 'semver'?)\n"
    ) in run.err
    assert "::error" not in cli("manifest", "validate", "-f", bad).err


def test_every_option_can_come_from_the_environment(cli: CliRunner, tmp_path: Path) -> None:
    good = tmp_path / "mlops.yaml"
    good.write_text(MINIMAL)
    bad = BAD / "scheme_typo.yaml"
    run = cli(
        "manifest",
        "validate",
        environ={"MLOPS_CI_MANIFEST": f"{good}:{bad}", "MLOPS_CI_JSON": "true"},
    )
    assert run.status == 2
    assert [m["file"] for m in json.loads(run.out)["manifests"]] == [str(good), str(bad)]
    # the command line still wins over the environment
    run = cli("manifest", "validate", "-f", str(good), environ={"MLOPS_CI_MANIFEST": str(bad)})
    assert run.status == 0


def test_bad_environment_value_is_a_usage_error(cli: CliRunner) -> None:
    run = cli("manifest", "validate", environ={"MLOPS_CI_JSON": "maybe"})
    assert run.status == 2
    assert run.err == "mlops-ci: MLOPS_CI_JSON='maybe' is not a yes/no value; use true or false\n"


def test_a_bug_exits_4_with_a_traceback_only_when_verbose(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(file: str) -> manifest_command.Outcome:
        raise RuntimeError(f"unexpected state, token ghp_abcdef123456 for {file}")

    monkeypatch.setattr(manifest_command, "_check", broken)
    environ = {"GITHUB_TOKEN": "ghp_abcdef123456"}
    quiet = cli("manifest", "validate", "-f", "x.yaml", environ=environ)
    assert quiet.status == 4
    assert "Traceback" not in quiet.err
    assert "internal error (RuntimeError); this is a bug in mlops-ci" in quiet.err
    loud = cli("manifest", "validate", "-v", "-f", "x.yaml", environ=environ)
    assert loud.status == 4
    assert "Traceback" in loud.err
    assert "ghp_abcdef123456" not in loud.err
    assert "token *** for x.yaml" in loud.err


def test_console_script_runs_as_a_real_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mlops_ci",
            "manifest",
            "validate",
            "-f",
            str(BAD / "tab_indentation.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "tab_indentation.yaml:3:1: a tab character here" in result.stdout
    assert result.stderr == ""


def test_secrets_from_the_environment_never_reach_the_output(cli: CliRunner) -> None:
    environ = {"GITHUB_ACTIONS": "true", "GITHUB_TOKEN": "ghs_0123456789abcdef"}
    run = cli("manifest", "validate", "-f", str(BAD / "scheme_typo.yaml"), environ=environ)
    assert run.status == 2
    assert "ghs_0123456789abcdef" not in run.out + run.err
    assert "::add-mask::" not in run.err
