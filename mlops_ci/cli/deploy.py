"""``mlops-ci deploy init``: deploy files for Kubernetes or Nomad, ready to be pinned."""

from __future__ import annotations

import argparse

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.deploy.targets import TARGETS
from mlops_ci.errors import ExitStatus


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser(
        "deploy",
        help="scaffold deploy files for Kubernetes or Nomad",
        description="Deploy files that run the model image's /deploy.sh beside the "
        "application, in the patterns release pull requests know how to pin.",
    )
    actions = group.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="what to do"
    )
    init = actions.add_parser(
        "init",
        parents=[common_options()],
        help="write a Kubernetes or Nomad file for the model",
        description="Write a deploy file for the model: Kubernetes (an initContainer over an "
        "emptyDir, or an image volume) or Nomad (a prestart task over a host volume), "
        "rolling or blue/green. The model image is release.image.repository at model.version.",
    )
    init.add_argument("--target", required=True, choices=tuple(TARGETS), help="the orchestrator")
    init.add_argument(
        "--strategy",
        choices=("rolling", "blue-green"),
        default="rolling",
        help="rolling (default) or blue-green",
    )
    init.add_argument(
        "--pattern",
        choices=("init-container", "image-volume"),
        default="init-container",
        help="Kubernetes only: how the model reaches the pod (default: init-container)",
    )
    init.add_argument("--app", help="the application's name (default: the model's name)")
    init.add_argument(
        "--app-image",
        default="registry.example/your-app:1.0.0",
        help="the application's image (default: a placeholder to replace)",
    )
    init.add_argument("--replicas", type=int, default=2, help="how many (default: 2)")
    init.add_argument("--port", type=int, default=8080, help="the app's port (default: 8080)")
    init.add_argument("--namespace", help="Kubernetes namespace (default: none written)")
    init.add_argument(
        "--output", metavar="FILE", help="where to write (default: deploy/<target>/<app>.…)"
    )
    init.add_argument("--force", action="store_true", help="overwrite an existing file")
    init.set_defaults(handler=init_command)


def init_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.app.deploy import DeployFile, init_deploy_file, where_to_add

    manifest = load_manifest(arguments.manifest)
    wanted = DeployFile(
        kind=arguments.target,
        strategy=arguments.strategy,
        app=arguments.app or manifest.model.name,
        app_image=arguments.app_image,
        replicas=arguments.replicas,
        port=arguments.port,
        namespace=arguments.namespace,
        pattern=arguments.pattern,
    )
    written = init_deploy_file(manifest, wanted, arguments.output, force=arguments.force)
    for path in (written.deploy, written.policy):
        if path is not None:
            shown = path.relative_to(manifest.root) if path.is_relative_to(manifest.root) else path
            console.out.write(f"wrote {shown}\n")
    console.out.write(where_to_add(manifest, written.deploy, arguments.target, arguments.strategy))
    if written.policy is not None:
        console.out.write(
            f"apply {written.policy.name} to the cluster once (Kyverno): it admits the model "
            "only signed by release.image.signing's key and attested as having passed its gates\n"
        )
    return ExitStatus.PASSED
