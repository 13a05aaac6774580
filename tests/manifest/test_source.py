"""The YAML reader: YAML 1.2 types, positions, merge keys, and the limits it enforces."""

from __future__ import annotations

import pytest

from mlops_ci.errors import ManifestError
from mlops_ci.manifest.positions import Position, quote, render_path
from mlops_ci.manifest.source import parse_source


def test_yaml_1_2_core_types_keep_norway_and_dates_as_text() -> None:
    document = parse_source(
        b"a: no\nb: on\nc: 2024-01-01\nd: true\ne: ~\nf: 0x1F\ng: 0o17\nh: 1e3\n"
        b"i: .inf\nj: '5'\nk: 012\nl: -.inf\n",
        "m.yaml",
    )
    assert document.data == {
        "a": "no",
        "b": "on",
        "c": "2024-01-01",
        "d": True,
        "e": None,
        "f": 31,
        "g": 15,
        "h": 1000.0,
        "i": float("inf"),
        "j": "5",
        "k": 12,
        "l": float("-inf"),
    }


def test_positions_of_values_and_keys_are_one_based() -> None:
    document = parse_source(b"model:\n  name: churn\nlist:\n  - {a: 1}\n", "m.yaml")
    assert document.position(("model", "name")) == Position(2, 9)
    assert document.position(("model", "name"), key=True) == Position(2, 3)
    assert document.position(("list", 0, "a")) == Position(4, 9)
    # a path that is not there points at its nearest ancestor
    assert document.position(("model", "version")) == Position(2, 3)


def test_merge_keys_and_aliases_expand_with_explicit_keys_winning() -> None:
    document = parse_source(
        b"x-base: &base {min: 0.9, max: 1.0}\n"
        b"gates:\n  accuracy:\n    <<: *base\n    max: 0.99\n  f1: *base\n",
        "m.yaml",
    )
    assert document.data["gates"] == {
        "accuracy": {"min": 0.9, "max": 0.99},
        "f1": {"min": 0.9, "max": 1.0},
    }


def test_merge_of_a_list_of_mappings_earlier_wins() -> None:
    document = parse_source(b"a: &a {x: 1}\nb: &b {x: 2, y: 2}\nc:\n  <<: [*a, *b]\n", "m.yaml")
    assert document.data["c"] == {"x": 1, "y": 2}


def test_merge_of_a_scalar_is_an_error() -> None:
    with pytest.raises(ManifestError) as raised:
        parse_source(b"c:\n  <<: 3\n", "m.yaml")
    assert raised.value.issues[0].message == (
        "a merge key (<<) takes a mapping or a list of mappings"
    )


def test_alias_used_as_key_is_an_error() -> None:
    with pytest.raises(ManifestError) as raised:
        parse_source(b"a: &k key\n*k : 1\n", "m.yaml")
    assert raised.value.issues[0].message == "an alias cannot be a key; write the key out"


def test_every_duplicate_is_reported_not_just_the_first() -> None:
    with pytest.raises(ManifestError) as raised:
        parse_source(b"a: 1\nb: 2\na: 3\nb: 4\n", "m.yaml")
    assert [(i.line, i.column) for i in raised.value.issues] == [(3, 1), (4, 1)]


def test_byte_order_mark_is_accepted() -> None:
    assert parse_source(b"\xef\xbb\xbfa: 1\n", "m.yaml").data == {"a": 1}


def test_quote_escapes_control_characters_and_bounds_length() -> None:
    assert quote("a\nb::add-mask::x") == "'a\\nb::add-mask::x'"
    assert len(quote("x" * 500)) == 62
    assert quote(1.5) == "'1.5'"


def test_render_path() -> None:
    assert render_path(("data", 0, "checks", "range")) == "data[0].checks.range"
    assert render_path(()) == "(root)"
