"""MLOPS_CI_<NAME> defaults, for every kind of option a command can declare."""

from __future__ import annotations

import argparse

import pytest

from mlops_ci.cli.options import apply_environment, common_options
from mlops_ci.errors import UsageError


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser()
    commands = root.add_subparsers(dest="command")
    run = commands.add_parser("run", parents=[common_options()])
    run.add_argument("--until", choices=["ingest", "build", "test"], help="last stage")
    run.add_argument("--retries", type=int, default=3, help="attempts")
    run.add_argument("--tag", action="append", help="tags")
    return root


def test_typed_and_chosen_values_come_from_the_environment() -> None:
    root = parser()
    apply_environment(
        root,
        {
            "MLOPS_CI_UNTIL": "build",
            "MLOPS_CI_RETRIES": "5",
            "MLOPS_CI_TAG": "a:b",
            "MLOPS_CI_VERBOSE": "yes",
            "MLOPS_CI_MANIFEST": "models/x/mlops.yaml",
        },
    )
    arguments = root.parse_args(["run"])
    assert (arguments.until, arguments.retries, arguments.tag) == ("build", 5, ["a", "b"])
    assert (arguments.verbose, arguments.manifest) == (True, "models/x/mlops.yaml")
    assert root.parse_args(["run", "--retries", "1"]).retries == 1


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"MLOPS_CI_RETRIES": "many"},
            "MLOPS_CI_RETRIES='many' is not valid: invalid literal for int() with base 10: 'many'",
        ),
        ({"MLOPS_CI_UNTIL": "deploy"}, "MLOPS_CI_UNTIL='deploy' is not one of ingest, build, test"),
        ({"MLOPS_CI_JSON": "2"}, "MLOPS_CI_JSON='2' is not a yes/no value; use true or false"),
    ],
)
def test_bad_environment_values_name_the_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as raised:
        apply_environment(parser(), environ)
    assert str(raised.value) == message


def test_false_values_switch_a_flag_off() -> None:
    root = parser()
    apply_environment(root, {"MLOPS_CI_JSON": "off"})
    assert root.parse_args(["run"]).json is False
