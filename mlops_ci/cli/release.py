"""``mlops-ci release pr``: the release pull request of a validated candidate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus

if TYPE_CHECKING:
    pass


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "release",
        help="open and update release pull requests",
        description="Release a validated candidate through a pull request that bumps "
        "model.version, pins the image by digest in the deploy files and says on one page "
        "whether the candidate deserves production.",
    )
    actions = group.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="what to do"
    )
    pr = actions.add_parser(
        "pr",
        parents=[common_options()],
        help="open or update the release pull request",
        description="One commit on top of the latest base branch on mlops-ci/release/<model>"
        "[/<environment>], and one pull request for it, updated in place; nothing changed "
        "means no write. Needs GITHUB_TOKEN and GITHUB_REPOSITORY (GITHUB_API_URL for "
        "GitHub Enterprise) and the candidate's image pushed.",
    )
    pr.add_argument(
        "--version", metavar="CANDIDATE", help="the candidate (default: the one built at HEAD)"
    )
    pr.add_argument(
        "--environment",
        metavar="NAME",
        help="the environment (default: the first one this version has not reached)",
    )
    pr.add_argument(
        "--rollback-to",
        metavar="VERSION",
        help="open a pull request that pins this earlier released version again "
        "(default environment: the last one)",
    )
    pr.set_defaults(handler=pr_command)
    publish = actions.add_parser(
        "publish",
        parents=[common_options()],
        help="after a release pull request merged: tag, promote, release",
        description="Run on the base branch right after a release pull request merged: an "
        "annotated tag {name}@{version} at the merge commit, the image tagged by digest, "
        "MLflow's aliases moved, a GitHub release with the notes, the pull request labelled "
        "released. Safe to run twice, or twice at once: the second says already released.",
    )
    publish.add_argument("--no-tracking", action="store_true", help="leave MLflow's aliases alone")
    publish.add_argument(
        "--merged-model",
        action="store_true",
        help="publish the model whose release pull request merged as HEAD, its manifest "
        "found among those git tracks (a monorepo's one publish job); -f is ignored",
    )
    publish.set_defaults(handler=publish_command)


def pr_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.release import release_pr

    manifest = load_manifest(arguments.manifest)
    context = wiring.context(manifest, console.environ, "off")
    github = wiring.code_host(console.environ, console.add_secret)
    tools = wiring.image_tools(console.environ, console.add_secret)
    done = release_pr(
        context,
        github,
        tools,
        version=arguments.version,
        environment=arguments.environment,
        rollback_to=arguments.rollback_to,
    )
    if done.created:
        what = "opened"
    elif done.pushed or done.edited:
        what = "updated"
    else:
        what = "up to date (nothing to do)"
    summary = {
        "number": done.pull.number,
        "url": done.pull.url,
        "branch": done.plan.branch,
        "version": done.plan.version,
        "candidate": done.plan.candidate,
        "digest": done.plan.digest,
        "environment": done.plan.environment,
        "created": done.created,
        "pushed": done.pushed,
        "edited": done.edited,
    }
    if arguments.json:
        console.out.write(strict_dumps(summary, indent=2) + "\n")
    else:
        console.out.write(f"#{done.pull.number} {done.plan.title}: {what}\n  {done.pull.url}\n")
    return ExitStatus.PASSED


def publish_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.publish import release_publish
    from mlops_ci.cli.deferred_sync import finish_sync, start_sync

    github = wiring.code_host(console.environ, console.add_secret)
    if arguments.merged_model:
        from mlops_ci.app.publish import merged_model_manifest
        from mlops_ci.manifest.loader import find_repository

        repository = find_repository(Path.cwd()).resolve()
        manifest = merged_model_manifest(wiring.vcs(repository), github, repository)
    else:
        manifest = load_manifest(arguments.manifest)
    environ = console.environ
    tracked = not arguments.no_tracking and wiring.tracking_configured(manifest, environ)
    # MLflow is told by a sync at the end: the publish record, the aliases it moves.
    context = wiring.context(manifest, environ, "off", defers_mirror=tracked)
    tools = wiring.image_tools(environ, console.add_secret)
    ci = wiring.ci_host(environ, console.err)
    deferred = (
        start_sync(manifest, environ, console.err, in_ci=wiring.in_ci(environ)) if tracked else None
    )
    try:
        trust = wiring.image_trust(manifest, environ, console.add_secret)
        done = release_publish(context, github, tools, trust)
    except BaseException:
        if deferred is not None:
            deferred.cancel()
        raise
    summary = {
        "version": done.version,
        "candidate": done.candidate,
        "environment": done.environment,
        "tag": done.tag,
        "digest": done.digest,
        "release": done.release_url,
        "already_released": done.already,
    }
    if arguments.json:
        console.out.write(strict_dumps(summary, indent=2) + "\n")
    elif done.already:
        console.out.write(f"{done.tag} is already released ({done.release_url})\n")
    else:
        console.out.write(f"released {done.tag} ({done.digest[:19]}): {done.release_url}\n")
    ci.set_outputs({"tag": done.tag, "version": done.version, "release": done.release_url})
    if deferred is not None:
        finish_sync(deferred, wiring.tracking_uri(manifest, environ), console.err)
    return ExitStatus.PASSED
