"""GitHub Actions files and commands, checked against the runner's documented formats."""

from __future__ import annotations

import base64
import io
import logging
import re
from pathlib import Path

import pytest

from mlops_ci.adapters.gha import (
    Annotation,
    SecretMasker,
    append_summary,
    running_in_actions,
    set_output,
)
from mlops_ci.errors import UsageError


def read_outputs(path: Path) -> dict[str, str]:
    """Parse $GITHUB_OUTPUT the way the runner does (name<<DELIMITER ... DELIMITER)."""
    outputs: dict[str, str] = {}
    lines = path.read_text().split("\n")
    index = 0
    while index < len(lines) and lines[index]:
        name, delimiter = lines[index].split("<<", 1)
        end = lines.index(delimiter, index + 1)
        outputs[name] = "\n".join(lines[index + 1 : end])
        index = end + 1
    return outputs


def test_outputs_survive_many_lines_and_forged_delimiters(tmp_path: Path) -> None:
    output = tmp_path / "output"
    environ = {"GITHUB_OUTPUT": str(output)}
    set_output("digest", "sha256:abc", environ)
    set_output("matrix", '{"include": [\n  {"model": "a"}\n]}', environ)
    set_output("evil", "x\nEOF\nstolen=1\nghadelimiter_0\n", environ)
    assert read_outputs(output) == {
        "digest": "sha256:abc",
        "matrix": '{"include": [\n  {"model": "a"}\n]}',
        "evil": "x\nEOF\nstolen=1\nghadelimiter_0\n",
    }


def test_bad_output_name_and_missing_file() -> None:
    with pytest.raises(UsageError, match="output name 'a b' is not valid"):
        set_output("a b", "x", {"GITHUB_OUTPUT": "/dev/null"})
    with pytest.raises(UsageError, match="GITHUB_OUTPUT is not set"):
        set_output("a", "x", {})


def test_summary_appends(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    environ = {"GITHUB_STEP_SUMMARY": str(summary)}
    append_summary("# One", environ)
    append_summary("two\n", environ)
    assert summary.read_text() == "# One\ntwo\n"


def test_annotation_escapes_data_and_properties() -> None:
    annotation = Annotation(
        "error", "50% bad\nsecond line", file="a,b:c.yaml", line=3, column=7, title="t"
    )
    assert annotation.render() == (
        "::error file=a%2Cb%3Ac.yaml,line=3,col=7,title=t::50%25 bad%0Asecond line"
    )
    assert Annotation("warning", "plain").render() == "::warning::plain"


def test_annotation_cannot_forge_a_second_command() -> None:
    rendered = Annotation("error", "x\n::add-mask::oops\r\n::set-env name=A::1").render()
    assert "\n" not in rendered
    assert "\r" not in rendered
    assert len(re.findall(r"(^|\n)::", rendered)) == 1


def test_masker_hides_secrets_in_text_and_logs() -> None:
    masker = SecretMasker()
    masker.add_from_environment(
        {
            "GITHUB_TOKEN": "ghp_secretvalue",
            "REGISTRY_PASSWORD": "hunter2!x",
            "MLFLOW_TRACKING_TOKEN": "tok\nline2-secret",
            "HOME": "/root",
            "X_TOKEN": "ab",
        }
    )
    assert masker.mask("push with ghp_secretvalue and hunter2!x") == "push with *** and ***"
    assert masker.mask("line2-secret") == "***"
    assert masker.mask("/root") == "/root"
    # two characters would mask ordinary words: not masked
    assert masker.mask("ab") == "ab"

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(masker)
    logger = logging.getLogger("tests.gha.masking")
    logger.addHandler(handler)
    try:
        logger.warning("token is %s", "ghp_secretvalue")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == "token is ***\n"


def test_a_secret_the_tool_comes_by_is_announced_to_the_runner_line_by_line() -> None:
    masker = SecretMasker()
    announced = io.StringIO()
    masker.add("bearer-abc%def\nsecond-line", announce_to=announced)
    assert announced.getvalue().splitlines() == [
        "::add-mask::bearer-abc%25def%0Asecond-line",
        "::add-mask::bearer-abc%25def",
        "::add-mask::second-line",
    ]
    assert masker.mask("token bearer-abc%def") == "token ***"


def test_running_in_actions() -> None:
    assert running_in_actions({"GITHUB_ACTIONS": "true"})
    assert not running_in_actions({})


def test_a_urls_password_is_masked_as_written_decoded_and_as_a_basic_header() -> None:
    """A server's error may echo the login it was given: ``decoded=user:pass`` or the
    Authorization header itself."""
    masker = SecretMasker()
    masker.add_from_environment(
        {"MLFLOW_TRACKING_URI": "https://alice:s%40cret-pass@mlflow.example.com/"}
    )
    header = base64.b64encode(b"alice:s@cret-pass").decode()
    echoed = f"401: decoded=alice:s@cret-pass header=Basic {header} raw=s%40cret-pass"
    masked = masker.mask(echoed)
    assert "cret-pass" not in masked
    assert header not in masked
    assert masked == "401: decoded=*** header=Basic *** raw=***"
    masker.add_from_environment(
        {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw-of-bob"}
    )
    assert masker.mask(base64.b64encode(b"bob:pw-of-bob").decode()) == "***"
    plain = SecretMasker()
    plain.add_from_environment({"DOCS": "see https://example.com/@team", "URL": "http://[::1"})
    assert plain.mask("see https://example.com/@team") == "see https://example.com/@team"
