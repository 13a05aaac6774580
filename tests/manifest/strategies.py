"""Shared hypothesis strategies and data for the manifest tests."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import strategies as st

from tests.conftest import EXAMPLE

EXAMPLE_TEXT = (EXAMPLE / "mlops.yaml").read_text(encoding="utf-8")

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths_of(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += paths_of(child, (*prefix, index))
    return found


EXAMPLE_DATA: Any = yaml.safe_load(EXAMPLE_TEXT)
EXAMPLE_PATHS = paths_of(EXAMPLE_DATA)[1:]
