"""``mlops-ci changed --since REF``: the models a push touched, as a matrix for a workflow."""

from __future__ import annotations

import argparse
from pathlib import Path

from mlops_ci.cli.options import Console, common_options, find_repository
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus


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
    from mlops_ci import wiring
    from mlops_ci.app.changed import changed_models
    from mlops_ci.core.changed import DEFAULT_IGNORE

    repository = find_repository(Path.cwd()).resolve()
    found = changed_models(
        wiring.vcs(repository),
        repository,
        arguments.since,
        [Path(p) for p in arguments.manifest or ()],
        tuple(arguments.ignore or DEFAULT_IGNORE),
    )
    affected = found.affected
    include = [
        {"model": a.model.name, "manifest": a.model.manifest, "folder": a.model.folder}
        for a in affected
    ]
    matrix = strict_dumps({"include": include}, separators=(",", ":"))
    wiring.ci_host(console.environ, console.err).set_outputs(
        {
            "matrix": matrix,
            "models": " ".join(a.model.name for a in affected),
            "any": "true" if affected else "false",
        }
    )
    if arguments.json:
        console.out.write(
            strict_dumps(
                {
                    "include": include,
                    "reasons": {a.model.name: a.reason for a in affected},
                    "models": found.models,
                },
                indent=2,
            )
            + "\n"
        )
    else:
        for item in affected:
            console.out.write(f"{item.model.name}\t{item.model.manifest}\t{item.reason}\n")
        console.out.write(f"{len(affected)} of {found.models} models changed\n")
    return ExitStatus.PASSED
