from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mlops_ci.core.commands import split_command


@given(st.text(alphabet=st.sampled_from(list("ab {}-_./#$|*'\"\\\t\n")), max_size=30))
def test_split_command_agrees_with_shlex(text: str) -> None:
    try:
        expected = shlex.split(text)
    except ValueError:
        with pytest.raises(ValueError, match=r"No closing quotation|No escaped character"):
            split_command(text)
        return
    assert split_command(text) == expected


def test_split_command_examples() -> None:
    assert split_command("python train.py --out {artifacts}") == [
        "python",
        "train.py",
        "--out",
        "{artifacts}",
    ]
    assert split_command("python 'my script.py' a\\ b") == ["python", "my script.py", "a b"]
