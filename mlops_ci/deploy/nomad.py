"""Nomad job files: the model's image (a ``prestart`` task over a host volume) pinned by
digest, and the job's native blue/green (``update { canary = <count>, auto_promote =
false }``). Only the values that change are rewritten; comments and layout stay."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mlops_ci.core.image_reference import in_repository
from mlops_ci.deploy.text import DeployFileError, Splice, apply_splices
from mlops_ci.errors import UsageError

_IMAGE = re.compile(r'\bimage\s*=\s*"([^"\\]*)"')
_SETTING = re.compile(r"\b(canary|auto_promote)\s*=\s*([A-Za-z0-9_]+)")


@dataclass(frozen=True)
class Code:
    """A line's text outside comments and strings' insides (blanked, same columns)."""

    line: int
    text: str


def parse_job(text: str, file: str) -> dict[str, Any]:
    import hcl2

    try:
        parsed: dict[str, Any] = hcl2.loads(text)
    except Exception as error:  # python-hcl2 raises lark's errors, several kinds
        message = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        raise DeployFileError(f"{file}: not a valid Nomad job (HCL): {message}") from None
    return parsed


def pin_images(text: str, file: str, repository: str, reference: str) -> str:
    """``text`` with every ``image = "<repository>..."`` set to ``reference``."""
    parse_job(text, file)
    lines = text.split("\n")
    splices = []
    for code in _code_lines(lines):
        for match in _IMAGE.finditer(code.text):
            start, end = match.span(1)
            value = lines[code.line][start:end]
            if in_repository(value, repository):
                splices.append(Splice(code.line, start, end, reference))
    if not splices:
        raise DeployFileError(
            f'{file} has no image = "{repository}:..." in a task: add the model\'s prestart '
            "task (`mlops-ci deploy init --target nomad` writes one), or fix "
            "release.image.repository"
        )
    edited = apply_splices(text, splices)
    parse_job(edited, file)
    return edited


def ensure_blue_green(text: str, file: str) -> str:
    """The job's ``update`` block set for blue/green: ``canary`` equal to the group's
    ``count`` and ``auto_promote = false``, so the new allocations wait beside the old
    ones until someone promotes them."""
    job = parse_job(text, file)
    count = _group_count(job)
    lines = text.split("\n")
    block = _update_block(lines)
    if block is None:
        raise DeployFileError(
            f"{file} has no update block; for strategy: blue-green add to the job: "
            f"update {{ canary = {count}\n auto_promote = false }}"
        )
    wanted = {"canary": str(count), "auto_promote": "false"}
    seen: set[str] = set()
    splices = []
    for code in _code_lines(lines):
        if not block[0] <= code.line <= block[1]:
            continue
        for match in _SETTING.finditer(code.text):
            key = match.group(1)
            seen.add(key)
            if lines[code.line][match.start(2) : match.end(2)] != wanted[key]:
                splices.append(Splice(code.line, match.start(2), match.end(2), wanted[key]))
    missing = [key for key in wanted if key not in seen]
    if missing:
        raise DeployFileError(
            f"{file}:{block[0] + 1}: the update block needs "
            + " and ".join(f"{key} = {wanted[key]}" for key in missing)
            + " for strategy: blue-green"
        )
    return apply_splices(text, splices) if splices else text


def _group_count(job: dict[str, Any]) -> int:
    counts = []
    for body in _blocks(job.get("job"), "group"):
        counts.append(int(body.get("count", 1)))
    if len(counts) != 1:
        raise UsageError("blue/green on Nomad needs a job with exactly one group")
    return counts[0]


def _blocks(value: Any, kind: str) -> Iterator[dict[str, Any]]:
    """The bodies of the ``kind`` blocks below ``value`` (python-hcl2 nests them as lists
    of {label: body})."""
    if isinstance(value, list):
        for item in value:
            yield from _blocks(item, kind)
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key == kind:
                for item in inner if isinstance(inner, list) else [inner]:
                    if isinstance(item, dict):
                        yield from (
                            (body for body in item.values() if isinstance(body, dict))
                            if _labelled(item)
                            else [item]
                        )
            else:
                yield from _blocks(inner, kind)


def _labelled(item: dict[str, Any]) -> bool:
    return len(item) == 1 and isinstance(next(iter(item.values())), dict)


def _update_block(lines: list[str]) -> tuple[int, int] | None:
    """The first and last line of the job's first ``update { ... }`` block."""
    depth = 0
    start = None
    for code in _code_lines(lines):
        if start is None:
            match = re.search(r"\bupdate\s*\{", code.text)
            if match:
                start = code.line
                depth = code.text[match.end() - 1 :].count("{") - code.text[
                    match.end() - 1 :
                ].count("}")
                if depth <= 0:
                    return start, code.line
            continue
        depth += code.text.count("{") - code.text.count("}")
        if depth <= 0:
            return start, code.line
    return None


def _code_lines(lines: list[str]) -> Iterator[Code]:
    """Each line with comments blanked out and string contents kept (images are strings)
    but braces inside strings blanked, so blocks can be counted."""
    in_block_comment = False
    for number, line in enumerate(lines):
        out = []
        position = 0
        in_string = False
        while position < len(line):
            char = line[position]
            if in_block_comment:
                if line.startswith("*/", position):
                    in_block_comment = False
                    out.append("  ")
                    position += 2
                    continue
                out.append(" ")
            elif in_string:
                if char == "\\":
                    out.append(line[position : position + 2])
                    position += 2
                    continue
                if char == '"':
                    in_string = False
                out.append(" " if char in "{}" else char)
            elif char == '"':
                in_string = True
                out.append(char)
            elif char == "#" or line.startswith("//", position):
                out.append(" " * (len(line) - position))
                break
            elif line.startswith("/*", position):
                in_block_comment = True
                out.append("  ")
                position += 2
                continue
            else:
                out.append(char)
            position += 1
        yield Code(number, "".join(out))
