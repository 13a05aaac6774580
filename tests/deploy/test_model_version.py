"""model.version set the way a person would: that value's bytes and nothing else."""

from __future__ import annotations

import pytest

from mlops_ci.deploy.model_version import set_model_version
from mlops_ci.deploy.text import DeployFileError
from tests.conftest import EXAMPLE
from tests.deploy.test_kubernetes import changed_lines

COMMENT = "# the version in production; release pull requests bump it"


def test_the_example_keeps_its_comment_in_its_column() -> None:
    text = (EXAMPLE / "mlops.yaml").read_text()
    edited = set_model_version(text, "mlops.yaml", "1.44.0")
    assert changed_lines(text, edited) == [
        (
            "  version: 1.43.13                 " + COMMENT,
            "  version: 1.44.0                  " + COMMENT,
        )
    ]
    assert set_model_version(edited, "mlops.yaml", "1.44.0") == edited


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('model: {name: m, version: "1.0.0"}\n', 'model: {name: m, version: "2.0.0"}\n'),
        (
            "model:\n  version: '1.0.0'  # q\n  name: m\n",
            "model:\n  version: '2.0.0'  # q\n  name: m\n",
        ),
        ("model:\n  name: m\n  version: 1.0.0\n", "model:\n  name: m\n  version: 2.0.0\n"),
    ],
)
def test_styles(text: str, expected: str) -> None:
    assert set_model_version(text, "m.yaml", "2.0.0") == expected


def test_no_version_to_set() -> None:
    with pytest.raises(DeployFileError, match=r"m\.yaml has no model\.version"):
        set_model_version("model:\n  name: m\n", "m.yaml", "2.0.0")
