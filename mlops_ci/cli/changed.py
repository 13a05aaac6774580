"""``mlops-ci changed --since REF``: the models a push touched, as a matrix for a workflow."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from mlops_ci.adapters.git import Git
from mlops_ci.cli.options import Console, common_options
from mlops_ci.core.changed import ModelPaths
from mlops_ci.errors import ExitStatus, UsageError
from mlops_ci.manifest.loader import find_repository, load_manifest

_NO_COMMIT = "0" * 40


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    changed = commands.add_parser(
        "changed",
        parents=[common_options(many_manifests=True)],
        help="the models a change touched (a matrix for strategy.matrix)",
        description="The models whose folder, manifest, data sets or deploy files changed "
        "since REF, and every model when a file they share changed (outside every model's "
        "folder; Markdown and docs/ excepted). Without -f every mlops.yaml git tracks is a "
        "model. In Actions the outputs matrix ({include: [...]}), models and any are set.",
    )
    changed.add_argument(
        "--since",
        required=True,
        metavar="REF",
        help="the commit to compare HEAD with (a push's `before`; all zeros: every model)",
    )
    changed.add_argument(
        "--ignore",
        action="append",
        default=None,
        metavar="GLOB",
        help="a path pattern that touches no model (repeat; default: *.md, docs/*, LICENSE*)",
    )
    changed.set_defaults(handler=changed_command)


def changed_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.adapters.gha import set_outputs
    from mlops_ci.core.changed import DEFAULT_IGNORE, Affected, affected_models

    repository = find_repository(Path.cwd()).resolve()
    git = Git(repository)
    # Every model's folder is its own, not shared code, even when -f picks a few to report.
    tracked = git.tracked_manifests()
    chosen = [Path(p).resolve() for p in arguments.manifest] if arguments.manifest else tracked
    if not chosen:
        raise UsageError(f"no mlops.yaml is tracked in {repository}; pass the manifests with -f")
    everyone = [_model_paths(path, repository) for path in sorted({*tracked, *chosen})]
    wanted = {path.resolve() for path in chosen}
    models = [m for m in everyone if (repository / m.manifest).resolve() in wanted]
    since = arguments.since.strip()
    if not since or since == _NO_COMMIT:
        affected = [Affected(model, "no earlier commit to compare with") for model in models]
    else:
        if not git.run("rev-parse", "--verify", "--quiet", f"{since}^{{commit}}", check=False):
            raise UsageError(
                f"--since {since!r} is not a commit here; fetch more history "
                "(actions/checkout with fetch-depth: 0) or pass another REF"
            )
        files = git.run("diff", "--name-only", "--no-renames", since, "HEAD").splitlines()
        ignore = tuple(arguments.ignore or DEFAULT_IGNORE)
        affected = [a for a in affected_models(everyone, files, ignore) if a.model in models]
    include = [
        {"model": a.model.name, "manifest": a.model.manifest, "folder": a.model.folder}
        for a in affected
    ]
    matrix = json.dumps({"include": include}, separators=(",", ":"))
    set_outputs(
        {
            "matrix": matrix,
            "models": " ".join(a.model.name for a in affected),
            "any": "true" if affected else "false",
        },
        console.environ,
    )
    if arguments.json:
        console.out.write(
            json.dumps(
                {
                    "include": include,
                    "reasons": {a.model.name: a.reason for a in affected},
                    "models": len(models),
                },
                indent=2,
            )
            + "\n"
        )
    else:
        for item in affected:
            console.out.write(f"{item.model.name}\t{item.model.manifest}\t{item.reason}\n")
        console.out.write(f"{len(affected)} of {len(models)} models changed\n")
    return ExitStatus.PASSED


def _model_paths(path: Path, repository: Path) -> ModelPaths:
    manifest = load_manifest(path)

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
        inputs=tuple(relative(p) for p in [*(d.path for d in manifest.data), *targets]),
    )
