"""Load a manifest: read YAML with positions, check it against the schema and the semantic
rules, and build the typed model. Every problem is reported at once, sorted by position.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

from mlops_ci.core.commands import Command, split_command
from mlops_ci.core.settings import Bounds, DriftLimits, Regression, RelativeBounds
from mlops_ci.core.signature import Field, Signature
from mlops_ci.core.slices import SliceRule
from mlops_ci.core.units import parse_duration, parse_size
from mlops_ci.errors import ManifestError, ManifestIssue
from mlops_ci.manifest import model as m
from mlops_ci.manifest.data_semantics import data_format, is_url
from mlops_ci.manifest.numbers import non_finite_issues, without_non_finite
from mlops_ci.manifest.schema import schema_default, schema_issues
from mlops_ci.manifest.semantics import semantic_issues
from mlops_ci.manifest.source import MAX_BYTES, SourceDocument, parse_source, read_source


def load_manifest(path: str | Path, *, display: str | None = None) -> m.Manifest:
    """The typed manifest at ``path``; raises ManifestError listing every problem."""
    file = Path(path)
    document = read_source(str(file), display or str(path))
    root = file.resolve().parent
    return _checked(document, file, root, find_repository(root))


def manifest_from_bytes(raw: bytes, display: str, path: Path, repository: Path) -> m.Manifest:
    """The manifest in ``raw`` as if it stood at ``path`` (a past version from git)."""
    document = parse_source(raw[: MAX_BYTES + 1], display)
    return _checked(document, path, path.resolve().parent, repository)


def _checked(document: SourceDocument, path: Path, root: Path, repository: Path) -> m.Manifest:
    issues = check_document(document, path, root, repository)
    if issues:
        raise ManifestError(issues)
    return build_manifest(document.data, path, root, repository)


def check_document(
    document: SourceDocument, path: Path, root: Path, repository: Path
) -> list[ManifestIssue]:
    """Numbers that are not finite, which nothing after may see; then schema issues, then
    semantic issues about values the schema did not already flag."""
    issues = non_finite_issues(document)
    if issues:  # the rest checked with those left out, each then reported once
        document = replace(document, data=without_non_finite(document.data))
    flagged = {issue.path for issue in issues}
    issues += [issue for issue in schema_issues(document) if issue.path not in flagged]
    flagged |= {issue.path for issue in issues}
    issues += [
        issue
        for issue in semantic_issues(document, path, root, repository)
        if issue.path not in flagged
    ]
    return issues


def find_repository(start: Path) -> Path:
    """The git work tree that holds ``start``, or ``start`` itself outside one."""
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def build_manifest(data: Mapping[str, Any], path: Path, root: Path, repository: Path) -> m.Manifest:
    """The typed model of ``data``, which has passed every check."""
    model = _model(data["model"])
    tracking = _mapping(_mapping(data.get("tracking")).get("mlflow"))
    candidates = _mapping(_mapping(data.get("retention")).get("candidates"))
    return m.Manifest(
        path=path,
        root=root,
        repository=repository,
        model=model,
        versioning=m.Versioning(
            **{
                key: _mapping(data.get("versioning")).get(key, schema_default("versioning", key))
                for key in ("scheme", "bump", "tag")
            }
        ),
        tracking=m.MlflowTracking(
            experiment=tracking.get("experiment", model.name),
            registered_model=tracking.get("registered_model", model.name),
            tracking_uri=tracking.get("tracking_uri"),
        ),
        retention=m.Retention(
            keep_last=int(
                candidates.get("keep_last", schema_default("retention", "candidates", "keep_last"))
            ),
            max_age=parse_duration(
                candidates.get("max_age", schema_default("retention", "candidates", "max_age"))
            ),
        ),
        data=tuple(_data_set(item, root) for item in data.get("data", ())),
        build=_build(data["build"], root) if "build" in data else None,
        test=_test(data["test"]) if "test" in data else None,
        validate=_validate(data["validate"]) if "validate" in data else None,
        release=_release(data["release"], root) if "release" in data else None,
        monitor=_monitor(data["monitor"], root) if "monitor" in data else None,
    )


def _whole(value: float | None) -> int | None:
    """JSON Schema counts 10.0 as an integer; the typed model holds it as 10."""
    return int(value) if value is not None else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _bounds(value: Mapping[str, Any]) -> Bounds:
    return Bounds(min=value.get("min"), max=value.get("max"))


def _bounds_map(value: Any) -> tuple[tuple[str, Bounds], ...]:
    return tuple((name, _bounds(bounds)) for name, bounds in _mapping(value).items())


def _field(value: Mapping[str, Any]) -> Field:
    shape = value.get("shape")
    return Field(
        value["name"], value["type"], tuple(map(int, shape)) if shape is not None else None
    )


def _model(value: Mapping[str, Any]) -> m.Model:
    signature = value.get("signature")
    return m.Model(
        name=value["name"],
        version=value["version"],
        description=value.get("description", ""),
        intended_use=value.get("intended_use", ""),
        limitations=value.get("limitations", ""),
        owners=tuple(value.get("owners", ())),
        signature=Signature(
            inputs=tuple(_field(f) for f in signature.get("inputs", ())),
            outputs=tuple(_field(f) for f in signature.get("outputs", ())),
        )
        if signature is not None
        else None,
    )


def _data_set(value: Mapping[str, Any], root: Path) -> m.DataSet:
    checks = _mapping(value.get("checks"))
    labels = checks.get("labels")
    balance = checks.get("balance")
    pii = checks.get("pii")
    # The semantic checks refused every path whose format is unknown, and a data set
    # with neither a path nor a table.
    location = value.get("path")
    file_format = cast(
        m.DataFormat,
        data_format(location, value.get("format")) if location is not None else "parquet",
    )
    spark = _mapping(value.get("spark"))
    return m.DataSet(
        name=value["name"],
        path=root / location if location is not None and not is_url(location) else None,
        url=location if location is not None and is_url(location) else None,
        table=value.get("table"),
        engine=m.Engine(
            kind=value.get("engine", "local"),
            database=root / value["database"] if "database" in value else None,
            master=spark.get("master"),
            remote=spark.get("remote"),
        ),
        format=file_format,
        label=value.get("label"),
        checks=m.DataChecks(
            columns=tuple(_mapping(checks.get("columns")).items()),
            not_null=tuple(checks.get("not_null", ())),
            unique=tuple(checks.get("unique", ())),
            range=_bounds_map(checks.get("range")),
            allowed=tuple(
                (name, tuple(values)) for name, values in _mapping(checks.get("allowed")).items()
            ),
            min_rows=_whole(checks.get("min_rows")),
            labels=m.LabelChecks(
                allowed=tuple(labels["allowed"]) if "allowed" in labels else None,
                max_missing=labels.get("max_missing", 0.0),
            )
            if labels is not None
            else None,
            balance=m.BalanceCheck(
                column=balance["column"],
                min_share=balance["min_share"],
                sensitive=tuple(balance.get("sensitive", ())),
                bins=balance.get("bins"),
            )
            if balance is not None
            else None,
            pii=m.PiiChecks(
                forbid=tuple(pii.get("forbid", ())),
                hashed=tuple(pii.get("hashed", ())),
            )
            if pii is not None
            else None,
        ),
        drift=_drift(value.get("drift")),
    )


def _drift(value: Mapping[str, Any] | None) -> DriftLimits | None:
    if value is None:
        return None
    return DriftLimits(
        psi=value.get("psi"),
        ks=value.get("ks"),
        wasserstein=value.get("wasserstein"),
        columns=tuple(value.get("columns", ())),
    )


def _command(section: Mapping[str, Any], *path: str) -> Command:
    """The command of ``section`` (at ``path`` in the manifest) with its timeout."""
    value = section["command"]
    argv = split_command(value) if isinstance(value, str) else value
    timeout = section.get("timeout", schema_default(*path, "timeout"))
    return Command(argv=tuple(argv), timeout=parse_duration(timeout))


def _build(value: Mapping[str, Any], root: Path) -> m.Build:
    return m.Build(
        command=_command(value, "build"),
        artifacts=root / value["artifacts"],
        metrics=root / value.get("metrics", schema_default("build", "metrics")),
    )


def _test(value: Mapping[str, Any]) -> m.Test:
    gates = _bounds_map(value.get("gates"))
    return m.Test(
        command=_command(value, "test") if "command" in value else None,
        metrics=tuple(value.get("metrics", [name for name, _ in gates])),
        gates=gates,
        against_production=tuple(
            (name, RelativeBounds(bounds.get("max_drop"), bounds.get("max_rise")))
            for name, bounds in _mapping(value.get("against_production")).items()
        ),
        slices=tuple(
            (name, SliceRule(Bounds(rule.get("min"), rule.get("max")), rule.get("max_gap")))
            for name, rule in _mapping(value.get("slices")).items()
        ),
    )


def _validate(value: Mapping[str, Any]) -> m.Validate:
    latency = value.get("latency")
    size = value.get("size")
    memory = value.get("memory")
    return m.Validate(
        max_size=parse_size(size["max"]) if size is not None else None,
        latency=m.Latency(
            command=_command(latency, "validate", "latency"),
            p50_ms=_mapping(latency.get("p50_ms")).get("max"),
            p95_ms=_mapping(latency.get("p95_ms")).get("max"),
        )
        if latency is not None
        else None,
        max_memory=parse_size(memory["max"]) if memory is not None else None,
    )


def _release(value: Mapping[str, Any], root: Path) -> m.Release:
    image = value.get("image")
    pull_request = _mapping(value.get("pull_request"))
    return m.Release(
        image=m.Image(
            repository=image["repository"],
            base=image.get("base", schema_default("release", "image", "base")),
            backend=image.get("backend", schema_default("release", "image", "backend")),
            layer_size=parse_size(
                image.get("layer_size", schema_default("release", "image", "layer_size"))
            ),
            dockerfile=root / image["dockerfile"] if "dockerfile" in image else None,
            modelpack=image.get("modelpack", schema_default("release", "image", "modelpack")),
            signing=m.Signing(public_key=root / image["signing"]["public_key"])
            if "signing" in image
            else None,
        )
        if image is not None
        else None,
        environments=tuple(
            m.Environment(
                name=environment["name"],
                strategy=environment.get(
                    "strategy", schema_default("release", "environments", 0, "strategy")
                ),
                targets=tuple(
                    m.Target(kind, root / target[kind])
                    for target in environment["targets"]
                    for kind in target
                ),
            )
            for environment in value.get("environments", ())
        ),
        pull_request=m.PullRequest(
            base=pull_request.get("base", schema_default("release", "pull_request", "base")),
            labels=tuple(
                pull_request.get("labels", schema_default("release", "pull_request", "labels"))
            ),
            reviewers=tuple(
                pull_request.get(
                    "reviewers", schema_default("release", "pull_request", "reviewers")
                )
            ),
        ),
    )


def _monitor(value: Mapping[str, Any], root: Path) -> m.Monitor:
    source = value["source"]
    regression = _mapping(value.get("regression"))
    return m.Monitor(
        source=m.MonitorSource(
            prometheus=source.get("prometheus"),
            file=root / source["file"] if "file" in source else None,
        ),
        slo=_bounds_map(value.get("slo")),
        metrics=tuple(str(name) for name in value.get("metrics") or ()),
        regression=Regression(
            window=int(regression.get("window", schema_default("monitor", "regression", "window"))),
            max_change=regression.get(
                "max_change", schema_default("monitor", "regression", "max_change")
            ),
            min_delta=regression.get(
                "min_delta", schema_default("monitor", "regression", "min_delta")
            ),
            max_score=regression.get("max_score"),
        ),
        drift=_monitor_drift(value.get("drift"), root),
    )


def _monitor_drift(value: Mapping[str, Any] | None, root: Path) -> m.MonitorDrift | None:
    if value is None:
        return None
    limits = _drift(value)
    assert limits is not None  # noqa: S101 - a mapping makes limits
    return m.MonitorDrift(
        limits=limits,
        data=value.get("data"),
        sample=root / value["sample"] if "sample" in value else None,
        histograms=tuple(_mapping(value.get("histograms")).items()),
    )
