"""Checks the schema cannot express: units that parse, paths that stay in the repository,
unique names, references between sections, version numbers that fit the scheme.

Every check reads the raw data defensively (the schema may have failed elsewhere) and skips
values whose shape is wrong: the schema already reports those.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from mlops_ci.core.commands import split_command
from mlops_ci.core.units import UnitError, parse_duration, parse_size
from mlops_ci.core.versions import Scheme, production_version_problem
from mlops_ci.errors import ManifestIssue
from mlops_ci.manifest.data_semantics import data_set_issues, is_url
from mlops_ci.manifest.path_rules import PathRules
from mlops_ci.manifest.positions import JsonPath, quote, render_path
from mlops_ci.manifest.schema import schema_location
from mlops_ci.manifest.source import SourceDocument
from mlops_ci.manifest.values import get_value as _get
from mlops_ci.manifest.values import items as _items
from mlops_ci.manifest.values import mapping as _mapping

COMMAND_PLACEHOLDERS = ("artifacts", "metrics", "version", "name")
TAG_PLACEHOLDERS = ("name", "version")


def semantic_issues(
    document: SourceDocument, manifest: Path, root: Path, repository: Path
) -> list[ManifestIssue]:
    """Every semantic problem in ``document``, the manifest at ``manifest``, whose relative
    paths start at ``root``."""
    checks = _Checks(document, manifest, root, repository)
    return list(checks.run())


class _Checks:
    def __init__(
        self, document: SourceDocument, manifest: Path, root: Path, repository: Path
    ) -> None:
        self.document = document
        self.manifest = manifest
        self.data = document.data
        self.root = root
        self.repository = repository
        self.paths = PathRules(str(root), str(repository))

    def issue(self, path: JsonPath, message: str, *, key: bool = False) -> ManifestIssue:
        return self.document.issue(path, message, key=key, schema_path=schema_location(path))

    def run(self) -> Iterator[ManifestIssue]:
        yield from self._version()
        yield from self._tag()
        yield from self._units()
        yield from self._paths()
        yield from self._unique_names()
        yield from data_set_issues(self.data, self.issue)
        yield from self._commands()
        yield from self._metrics()
        yield from self._bounds()

    def _version(self) -> Iterator[ManifestIssue]:
        version = _get(self.data, "model", "version")
        scheme = _get(self.data, "versioning", "scheme") or "semver"
        if isinstance(version, str) and scheme in ("semver", "calver"):
            problem = production_version_problem(version, cast(Scheme, scheme))
            if problem:
                yield self.issue(("model", "version"), f"model.version {problem}")

    def _tag(self) -> Iterator[ManifestIssue]:
        template = _get(self.data, "versioning", "tag")
        if not isinstance(template, str):
            return
        path = ("versioning", "tag")
        unknown = _unknown_placeholders(template, TAG_PLACEHOLDERS)
        if unknown is not None:
            yield self.issue(path, f"versioning.tag {unknown}")
            return
        sample = template.replace("{name}", "model").replace("{version}", "1.0.0-rc.1")
        problem = _git_ref_problem(sample)
        if problem:
            yield self.issue(
                path, f"versioning.tag {quote(template)} makes tags that git refuses: {problem}"
            )

    def _units(self) -> Iterator[ManifestIssue]:
        sizes = [
            ("validate", "size", "max"),
            ("validate", "memory", "max"),
            ("release", "image", "layer_size"),
        ]
        durations = [
            ("build", "timeout"),
            ("test", "timeout"),
            ("validate", "latency", "timeout"),
            ("retention", "candidates", "max_age"),
        ]
        yield from self._parse_each(sizes, parse_size, (int, float, str))
        yield from self._parse_each(durations, parse_duration, (str,))

    def _parse_each(
        self,
        paths: Sequence[tuple[str, ...]],
        parse: Callable[[Any], object],
        kinds: tuple[type, ...],
    ) -> Iterator[ManifestIssue]:
        for path in paths:
            value = _get(self.data, *path)
            if isinstance(value, kinds) and not isinstance(value, bool):
                try:
                    parse(value)
                except UnitError as error:
                    yield self.issue(path, f"{render_path(path)}: {error}")

    def _paths(self) -> Iterator[ManifestIssue]:
        inside: list[tuple[JsonPath, str]] = []
        for path in self._path_fields():
            value = _get(self.data, *path)
            if isinstance(value, str) and not (path[0] == "data" and is_url(value)):
                problem = self.paths.problem(value)
                if problem:
                    yield self.issue(path, f"{render_path(path)} {problem}")
                else:
                    inside.append((path, value))
        artifacts = _get(self.data, "build", "artifacts")
        if isinstance(artifacts, str) and (self.root / artifacts).resolve() == self.root.resolve():
            yield self.issue(
                ("build", "artifacts"),
                "build.artifacts is the manifest's own "
                "folder, so everything in it would ship; name the folder the build "
                "writes the model into, such as build/model",
            )
            inside = [(path, value) for path, value in inside if path != ("build", "artifacts")]
        yield from self._emptied_or_written(inside)

    def _emptied_or_written(self, inside: list[tuple[JsonPath, str]]) -> Iterator[ManifestIssue]:
        """Of the paths inside the repository: the folder build empties, and the files the
        tool deletes (the metrics file, before each build) or writes (the deploy targets)."""
        for path, value in inside:
            if path == ("build", "artifacts"):
                problem = self.paths.emptied_folder_problem(value)
                if problem:
                    yield self.issue(
                        path,
                        f"build.artifacts {problem}, and build empties it before each build; "
                        "name a folder of the build's own, such as build/model",
                    )
                continue
            if path == ("build", "metrics"):
                action = "build deletes it first"
            elif path[0] == "release":
                action = "release writes it"
            else:
                continue  # read, never written
            problem = self.paths.written_file_problem(value, str(self.manifest))
            if problem:
                yield self.issue(
                    path, f"{render_path(path)} {problem}, and {action}; name another file"
                )

    def _path_fields(self) -> Iterator[JsonPath]:
        for index, _ in _items(_get(self.data, "data")):
            yield ("data", index, "path")
            yield ("data", index, "database")
        yield ("build", "artifacts")
        yield ("build", "metrics")
        for index, environment in _items(_get(self.data, "release", "environments")):
            for target_index, target in _items(_get(environment, "targets")):
                # Whichever deploy target it names (the schema allows one key per target).
                for kind in _mapping(target):
                    yield ("release", "environments", index, "targets", target_index, kind)
        yield ("monitor", "source", "file")
        yield ("monitor", "drift", "sample")

    def _unique_names(self) -> Iterator[ManifestIssue]:
        lists: list[tuple[JsonPath, str]] = [
            (("data",), "data set"),
            (("release", "environments"), "environment"),
            (("model", "signature", "inputs"), "input"),
            (("model", "signature", "outputs"), "output"),
        ]
        for path, what in lists:
            first_seen: dict[str, int] = {}
            for index, item in _items(_get(self.data, *path)):
                name = _get(item, "name")
                if not isinstance(name, str):
                    continue
                if name in first_seen:
                    where = self.document.position((*path, first_seen[name], "name"))
                    yield self.issue(
                        (*path, index, "name"),
                        f"{render_path(path)} has a second {what} named "
                        f"{quote(name)} (the first is at line {where.line}); names "
                        "must be unique",
                    )
                else:
                    first_seen[name] = index

    def _commands(self) -> Iterator[ManifestIssue]:
        for path in (("build", "command"), ("test", "command"), ("validate", "latency", "command")):
            command = _get(self.data, *path)
            if isinstance(command, str):
                try:
                    argv = split_command(command)
                except ValueError as error:
                    yield self.issue(
                        path,
                        f"{render_path(path)} cannot be split into "
                        f"arguments ({error}); close the quote or use a list",
                    )
                    continue
                if not argv:
                    yield self.issue(path, f"{render_path(path)} is blank; name a program")
                    continue
            elif isinstance(command, list) and all(isinstance(a, str) for a in command):
                argv = command
            else:
                continue
            for argument in argv:
                unknown = _unknown_placeholders(argument, COMMAND_PLACEHOLDERS)
                if unknown is not None:
                    yield self.issue(path, f"{render_path(path)} {unknown}")
                    break

    def _metrics(self) -> Iterator[ManifestIssue]:
        test = _mapping(_get(self.data, "test"))
        gates = _mapping(test.get("gates"))
        declared = test.get("metrics")
        reported = (
            [m for m in declared if isinstance(m, str)]
            if isinstance(declared, list)
            else list(gates)
        )
        if isinstance(declared, list):
            for metric in gates:
                if metric not in reported:
                    path = ("test", "gates", metric)
                    yield self.issue(
                        path,
                        f"test.gates names {quote(metric)}, which test.metrics "
                        "does not list; add it there or fix the name",
                        key=True,
                    )
        for metric in _mapping(test.get("against_production")):
            if metric not in reported:
                path = ("test", "against_production", metric)
                source = "test.metrics" if isinstance(declared, list) else "test.gates"
                yield self.issue(
                    path,
                    f"test.against_production names {quote(metric)}, a metric "
                    f"the model does not report ({source} names: "
                    f"{', '.join(reported) or 'none'}); add it to test.metrics or "
                    "fix the name",
                    key=True,
                )

    def _bounds(self) -> Iterator[ManifestIssue]:
        maps: list[JsonPath] = [("test", "gates"), ("monitor", "slo")]
        maps += [("data", i, "checks", "range") for i, _ in _items(_get(self.data, "data"))]
        for path in maps:
            for name, bounds in _mapping(_get(self.data, *path)).items():
                low, high = _get(bounds, "min"), _get(bounds, "max")
                if _is_number(low) and _is_number(high) and low > high:
                    where = (*path, name)
                    yield self.issue(
                        where,
                        f"{render_path(where)} has min {low} above max "
                        f"{high}, so nothing could pass; swap them",
                    )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unknown_placeholders(text: str, known: tuple[str, ...]) -> str | None:
    """Why ``text`` is not a valid template over ``known`` placeholders, or None."""
    try:
        fields = [
            (name, spec, conversion)
            for _, name, spec, conversion in string.Formatter().parse(text)
            if name is not None or spec or conversion
        ]
    except ValueError as error:
        return f"is not a valid template ({error}); write a literal brace as {{{{ or }}}}"
    names = ", ".join("{" + k + "}" for k in known)
    for name, spec, conversion in fields:
        if name not in known:
            return f"uses the unknown placeholder {quote('{' + str(name) + '}')}; known: {names}"
        if spec or conversion:
            # A format spec is Python's, not ours: it can fail, or ask for gigabytes.
            shown = str(name) + (f"!{conversion}" if conversion else "")
            written = "{" + shown + (f":{spec}" if spec else "") + "}"
            return (
                f"writes {quote(written[:60])}: placeholders take no format spec or "
                f"conversion; write {{{name}}}"
            )
    return None


def _git_ref_problem(name: str) -> str | None:
    """git check-ref-format's rules, for tags made from a template."""
    bad = [c for c in (" ", "~", "^", ":", "?", "*", "[", "\\") if c in name]
    if bad:
        return f"it contains {quote(bad[0])}"
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return "it contains a control character"
    if ".." in name or "@{" in name or "//" in name:
        return "it contains '..', '@{' or '//'"
    if name.startswith(("/", ".", "-")) or name.endswith(("/", ".", ".lock")):
        return "it starts with '/', '.' or '-', or ends with '/', '.' or '.lock'"
    if any(part.startswith(".") for part in name.split("/")):
        return "a part of it starts with '.'"
    return None
