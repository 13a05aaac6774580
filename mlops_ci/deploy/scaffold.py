"""``mlops-ci deploy init``: deploy files for the article's patterns, ready for release pull
requests to pin.

Kubernetes: the model image as an initContainer that runs ``/deploy.sh`` into an
``emptyDir`` (or, with ``image-volume``, the image mounted as a volume, Kubernetes 1.33+),
rolling or blue/green (two Deployments ``<app>-blue``/``<app>-green`` and a Service whose
selector names the live slot). Nomad: a ``prestart`` task over a host volume, rolling or
the job's native blue/green (``canary = count``, ``auto_promote = false``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mlops_ci.errors import UsageError

Target = Literal["kubernetes", "nomad"]
Strategy = Literal["rolling", "blue-green"]
Pattern = Literal["init-container", "image-volume"]
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$")


@dataclass(frozen=True)
class Scaffold:
    app: str
    app_image: str
    model_image: str
    replicas: int = 2
    port: int = 8080
    namespace: str | None = None
    volume_image: str | None = None  # what an image volume mounts (the ModelPack artifact)

    def __post_init__(self) -> None:
        if not _NAME.match(self.app):
            raise UsageError(
                f"--app {self.app!r}: a name of lower-case letters, digits and '-' (at most 52)"
            )
        if self.replicas < 1:
            raise UsageError("--replicas: at least 1")


def kubernetes(scaffold: Scaffold, strategy: Strategy, pattern: Pattern) -> str:
    if strategy == "rolling":
        header = (
            f"# {scaffold.app}: one Deployment, updated in place (strategy: rolling).\n"
            + _pattern_comment(pattern, scaffold)
        )
        return header + _service(scaffold, None) + "---\n" + _deployment(scaffold, None, pattern)
    header = (
        f"# {scaffold.app}: blue/green. Two Deployments hold the two slots; the Service's\n"
        "# selector names the live one. A release pull request pins the new model into the\n"
        "# idle slot and points the selector at it; the other slot keeps the previous model,\n"
        "# so a rollback is one line.\n" + _pattern_comment(pattern, scaffold)
    )
    return (
        header
        + _service(scaffold, "blue")
        + "---\n"
        + _deployment(scaffold, "blue", pattern)
        + "---\n"
        + _deployment(scaffold, "green", pattern)
    )


def nomad(scaffold: Scaffold, strategy: Strategy) -> str:
    count = scaffold.replicas
    if strategy == "blue-green":
        comment = (
            "# Blue/green with Nomad's own deployments: the new allocations (canary = count)\n"
            "# start beside the old ones and wait for `nomad deployment promote`.\n"
        )
        update = (
            f"  update {{\n    max_parallel     = {count}\n    canary           = {count}\n"
            "    auto_promote     = false\n    auto_revert      = true\n"
            '    min_healthy_time = "30s"\n  }\n'
        )
    else:
        comment = "# Rolling: allocations are replaced one at a time.\n"
        update = (
            "  update {\n    max_parallel     = 1\n    auto_revert      = true\n"
            '    min_healthy_time = "30s"\n  }\n'
        )
    return (
        f"# {scaffold.app} on Nomad: a prestart task copies the model, verified, into a host\n"
        "# volume where versions sit side by side (/model/<version>, /model/current).\n"
        + comment
        + f'job "{scaffold.app}" {{\n'
        + '  datacenters = ["dc1"]\n'
        + '  type        = "service"\n\n'
        + update
        + "\n"
        + f'  group "{scaffold.app}" {{\n'
        + f"    count = {count}\n\n"
        + '    volume "models" {\n      type      = "host"\n      source    = "models"\n'
        + "      read_only = false\n    }\n\n"
        + '    task "model" {\n      driver = "docker"\n'
        + '      lifecycle {\n        hook    = "prestart"\n        sidecar = false\n      }\n'
        + f'      config {{\n        image   = "{scaffold.model_image}"\n'
        + '        command = "/bin/sh"\n        args    = ["/deploy.sh", "/model"]\n      }\n'
        + '      volume_mount {\n        volume      = "models"\n'
        + '        destination = "/model"\n      }\n    }\n\n'
        + f'    task "{scaffold.app}" {{\n      driver = "docker"\n'
        + f'      config {{\n        image = "{scaffold.app_image}"   # your application\n'
        + '        ports = ["http"]\n      }\n'
        + '      env {\n        MODEL_PATH = "/model/current"\n      }\n'
        + '      volume_mount {\n        volume      = "models"\n'
        + '        destination = "/model"\n        read_only   = true\n      }\n    }\n\n'
        + f'    network {{\n      port "http" {{ to = {scaffold.port} }}\n    }}\n'
        + "  }\n}\n"
    )


def _pattern_comment(pattern: Pattern, scaffold: Scaffold) -> str:
    if pattern == "image-volume" and scaffold.volume_image:
        return (
            "# The model's ModelPack artifact is mounted as a volume (Kubernetes 1.33+, the\n"
            "# ImageVolume feature): the model files alone, the same blobs as the model image,\n"
            "# pulled by digest. A runtime that mounts images but not OCI artifacts takes the\n"
            "# image itself: drop .modelpack from the reference (same files, same subPath).\n"
        )
    if pattern == "image-volume":
        return (
            "# The model image is mounted as a volume (Kubernetes 1.33+, the ImageVolume\n"
            "# feature); the kubelet pulls it by digest, so the files are the ones released.\n"
        )
    return (
        "# The model ships in its own image: an initContainer runs /deploy.sh, which copies\n"
        "# the files, checks every sha256 and points /model/current at them.\n"
    )


def _metadata(scaffold: Scaffold, name: str, labels: str) -> str:
    namespace = f"  namespace: {scaffold.namespace}\n" if scaffold.namespace else ""
    return f"metadata:\n  name: {name}\n{namespace}  labels: {labels}\n"


def _service(scaffold: Scaffold, slot: str | None) -> str:
    selector = f"{{app: {scaffold.app}, slot: {slot}}}" if slot else f"{{app: {scaffold.app}}}"
    live = "    # the live slot" if slot else ""
    return (
        "apiVersion: v1\nkind: Service\n"
        + _metadata(scaffold, scaffold.app, f"{{app: {scaffold.app}}}")
        + f"spec:\n  selector: {selector}{live}\n"
        + f"  ports:\n    - {{port: 80, targetPort: {scaffold.port}}}\n"
    )


def _deployment(scaffold: Scaffold, slot: str | None, pattern: Pattern) -> str:
    name = f"{scaffold.app}-{slot}" if slot else scaffold.app
    labels = f"{{app: {scaffold.app}, slot: {slot}}}" if slot else f"{{app: {scaffold.app}}}"
    if pattern == "image-volume":
        model_path = "/model"
        init = ""
        mount = (
            "            - {name: model, mountPath: /model, subPath: opt/mlops-ci/model,"
            " readOnly: true}\n"
        )
        volume = (
            "        - name: model\n"
            f"          image: {{reference: {scaffold.volume_image or scaffold.model_image},"
            " pullPolicy: IfNotPresent}\n"
        )
    else:
        model_path = "/model/current"
        init = (
            "      initContainers:\n"
            "        - name: model\n"
            f"          image: {scaffold.model_image}"
            "   # release pull requests pin this by digest\n"
            '          command: ["/bin/sh", "/deploy.sh", "/model"]\n'
            "          volumeMounts:\n"
            "            - {name: model, mountPath: /model}\n"
        )
        mount = "            - {name: model, mountPath: /model, readOnly: true}\n"
        volume = "        - name: model\n          emptyDir: {}\n"
    return (
        "apiVersion: apps/v1\nkind: Deployment\n"
        + _metadata(scaffold, name, labels)
        + f"spec:\n  replicas: {scaffold.replicas}\n"
        + f"  selector:\n    matchLabels: {labels}\n"
        + f"  template:\n    metadata:\n      labels: {labels}\n    spec:\n"
        + init
        + "      containers:\n"
        + f"        - name: {scaffold.app}\n"
        + f"          image: {scaffold.app_image}   # your application\n"
        + f"          env:\n            - {{name: MODEL_PATH, value: {model_path}}}\n"
        + f"          ports:\n            - {{containerPort: {scaffold.port}}}\n"
        + "          volumeMounts:\n"
        + mount
        + "      volumes:\n"
        + volume
    )
