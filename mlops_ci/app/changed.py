"""``changed --since REF``: the models a change touched, for a workflow's matrix."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlops_ci.core.changed import DEFAULT_IGNORE, Affected, ModelPaths, affected_models
from mlops_ci.errors import UsageError
from mlops_ci.manifest.loader import load_manifest
from mlops_ci.manifest.model import Manifest
from mlops_ci.ports import Vcs

_NO_COMMIT = "0" * 40


@dataclass(frozen=True)
class Changed:
    affected: tuple[Affected, ...]
    models: int  # how many models were asked about


def changed_models(
    vcs: Vcs,
    repository: Path,
    since: str,
    chosen: Sequence[Path] = (),
    ignore: Sequence[str] = DEFAULT_IGNORE,
) -> Changed:
    """The models among ``chosen`` (default: every mlops.yaml git tracks) whose folder,
    manifest, data sets or deploy files changed since ``since``, and all of them when a
    file they share changed."""
    # Every model's folder is its own, not shared code, even when a few are asked about.
    tracked = vcs.tracked_manifests()
    chosen = [path.resolve() for path in chosen] or tracked
    if not chosen:
        raise UsageError(f"no mlops.yaml is tracked in {repository}; pass the manifests with -f")
    everyone = [model_paths(load_manifest(p), repository) for p in sorted({*tracked, *chosen})]
    wanted = set(chosen)
    models = [m for m in everyone if (repository / m.manifest).resolve() in wanted]
    since = since.strip()
    if not since or since == _NO_COMMIT:
        affected = [Affected(model, "no earlier commit to compare with") for model in models]
    else:
        if not vcs.is_commit(since):
            raise UsageError(
                f"--since {since!r} is not a commit here; fetch more history "
                "(actions/checkout with fetch-depth: 0) or pass another REF"
            )
        files = vcs.changed_files(since)
        affected = [a for a in affected_models(everyone, files, ignore) if a.model in models]
    return Changed(tuple(affected), len(models))


def model_paths(manifest: Manifest, repository: Path) -> ModelPaths:
    """What of the repository belongs to the model, relative to its root."""

    def relative(target: Path) -> str:
        resolved = target.resolve()
        if resolved.is_relative_to(repository):
            return resolved.relative_to(repository).as_posix()
        return target.as_posix()

    targets = [
        t.path
        for e in (manifest.release.environments if manifest.release else ())
        for t in e.targets
    ]
    return ModelPaths(
        name=manifest.model.name,
        manifest=relative(manifest.path),
        folder=relative(manifest.root) or ".",
        inputs=tuple(relative(p) for p in [*_data_files(manifest), *targets]),
    )


def _data_files(manifest: Manifest) -> list[Path]:
    """The data sets' files in the repository: a file at an address or a table of an
    engine changes without a commit."""
    files = [d.path for d in manifest.data if d.path is not None]
    return files + [d.engine.database for d in manifest.data if d.engine.database is not None]
