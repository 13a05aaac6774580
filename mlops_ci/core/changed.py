"""Which models a change touches: the ones whose folder, manifest, data or deploy files
changed, and every one when code they share changed. A monorepo's workflow turns the answer
into a matrix, so a hundred models cost what the changed ones cost."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import PurePosixPath

# Changes outside every model that concern none of them.
DEFAULT_IGNORE = ("*.md", "docs/*", "LICENSE*", ".gitignore", ".mlops-ci/*")


@dataclass(frozen=True)
class ModelPaths:
    """A model's manifest, folder and inputs, relative to the repository (POSIX)."""

    name: str
    manifest: str
    folder: str
    inputs: tuple[str, ...] = ()

    def owns(self, path: str) -> bool:
        if path == self.manifest or path in self.inputs:
            return True
        return self.folder == "." or PurePosixPath(path).is_relative_to(self.folder)


@dataclass(frozen=True)
class Affected:
    model: ModelPaths
    reason: str


def affected_models(
    models: Sequence[ModelPaths], changed: Iterable[str], ignore: Sequence[str] = DEFAULT_IGNORE
) -> list[Affected]:
    """The models ``changed`` files touch, each with the first reason, in the order given."""
    files = sorted(set(changed))
    shared = [
        path
        for path in files
        if not any(model.owns(path) for model in models)
        and not any(fnmatch(path, pattern) for pattern in ignore)
    ]
    found = []
    for model in models:
        own = next((path for path in files if model.owns(path)), None)
        if own is not None:
            found.append(Affected(model, f"{own} changed"))
        elif shared:
            found.append(Affected(model, f"{shared[0]} changed (shared by every model)"))
    return found
