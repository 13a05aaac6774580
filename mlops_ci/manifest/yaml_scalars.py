"""Plain scalars as YAML 1.2's core schema reads them: ``no``, ``on`` and ``2024-01-01``
stay text (no Norway problem), and only these forms are nulls, booleans and numbers."""

from __future__ import annotations

import math
import re
from typing import Any

import yaml

from mlops_ci.manifest.positions import quote

# YAML 1.2 core schema (https://yaml.org/spec/1.2.2/#1023-core-schema), plain scalars only.
NULL_TEXT = re.compile(r"^(?:~|null|Null|NULL|)$")
BOOL_TEXT = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
INT_TEXT = re.compile(r"^[-+]?[0-9]+$|^0o[0-7]+$|^0x[0-9a-fA-F]+$")
FLOAT_TEXT = re.compile(
    r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"
    r"|^[-+]?\.(?:inf|Inf|INF)$|^\.(?:nan|NaN|NAN)$"
)
# The first characters of YAML 1.2 core nulls, booleans, integers and floats.
MAY_START_A_NON_STRING = frozenset("~nNtTfF+-.0123456789")
STR_TAG = "tag:yaml.org,2002:str"
_MOST_DIGITS = 400  # an integer's digits: a float holds up to 309
MERGE_KEY = "<<"


def resolve_scalar(event: yaml.ScalarEvent) -> Any:
    """A plain scalar's value under YAML 1.2's core schema; quoted or ``!!str``: text."""
    text = event.value
    if not event.implicit[0] or event.tag == STR_TAG:
        return text
    if text and text[0] not in MAY_START_A_NON_STRING:
        return text  # most scalars are words: skip the regular expressions
    if NULL_TEXT.match(text):
        return None
    if BOOL_TEXT.match(text):
        return text[0] in "tT"
    if INT_TEXT.match(text):
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        if len(text.lstrip("+-")) > _MOST_DIGITS:
            # Beyond any float, and past the digits Python parses at all: infinity, which
            # the checks refuse with its position (manifest/numbers.py).
            return -math.inf if text.startswith("-") else math.inf
        return int(text)
    if FLOAT_TEXT.match(text):
        return float(
            text.replace(".inf", "inf")
            .replace(".Inf", "inf")
            .replace(".INF", "inf")
            .replace(".nan", "nan")
            .replace(".NaN", "nan")
            .replace(".NAN", "nan")
        )
    return text


def tag_problem(
    event: yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent,
) -> str | None:
    """Why a node's explicit tag is refused (a manifest is data: ``!!python/object`` and its
    kind never build anything), or None when it has none."""
    tag = event.tag
    if tag in (None, "!") or (tag == STR_TAG and isinstance(event, yaml.ScalarEvent)):
        return None
    return f"explicit YAML tags such as {quote(tag)} are not allowed in a manifest; remove the tag"
