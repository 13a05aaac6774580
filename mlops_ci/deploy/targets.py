"""The deploy targets a release pins, keyed by their manifest key (``targets: [{kubernetes:
path}]``): each knows how to pin the model image in its file, blue/green included, and how
to scaffold a new file. A new orchestrator is one module with a DeployTarget and one line in
TARGETS (and its key in the schema's ``target``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mlops_ci.errors import UsageError

if TYPE_CHECKING:
    # The editors are imported by the methods that use them: the command line names the
    # targets without loading them.
    from mlops_ci.deploy.scaffold import Pattern, Scaffold, Strategy


@dataclass(frozen=True)
class Pin:
    """Where the model image goes: ``reference`` (``repo:X.Y.Z@sha256:…``) in place of every
    image of ``repository`` in the file, and ``modelpack`` (``repo:X.Y.Z.modelpack@…``) in
    place of those that name its ModelPack artifact (an image volume may)."""

    repository: str
    reference: str
    strategy: Strategy
    modelpack: str | None = None


class DeployTarget(Protocol):
    def pin(self, text: str, file: str, pin: Pin) -> str:
        """``text`` with the model image pinned (and, blue/green, the idle slot made live);
        the same text when it already is."""
        ...

    def scaffold(self, files: Scaffold, strategy: Strategy, pattern: Pattern) -> str:
        """A new deploy file that runs the model image's ``/deploy.sh``."""
        ...

    def default_path(self, app: str) -> str:
        """Where ``deploy init`` writes the file, relative to the manifest's folder."""
        ...


class Kubernetes:
    """An initContainer (or an image volume) per Deployment; blue/green as two Deployments
    and a Service whose selector names the live slot."""

    def pin(self, text: str, file: str, pin: Pin) -> str:
        from mlops_ci.deploy import kubernetes

        if pin.strategy != "blue-green":
            return kubernetes.pin_images(
                text, file, pin.repository, pin.reference, modelpack=pin.modelpack
            )
        slots = kubernetes.blue_green_slots(text, file, pin.repository)
        idle = f"{slots.app}-{slots.idle}"
        pinned = kubernetes.pin_images(
            text, file, pin.repository, pin.reference, names=[idle], modelpack=pin.modelpack
        )
        if pinned == text:
            return text  # already pinned there and routed: a re-run changes nothing
        return kubernetes.flip_to(pinned, file, slots, slots.idle)

    def scaffold(self, files: Scaffold, strategy: Strategy, pattern: Pattern) -> str:
        from mlops_ci.deploy import scaffold

        return scaffold.kubernetes(files, strategy, pattern)

    def default_path(self, app: str) -> str:
        return f"deploy/kubernetes/{app}.yaml"


class Nomad:
    """A prestart task over a host volume; blue/green as the job's own canaries."""

    def pin(self, text: str, file: str, pin: Pin) -> str:
        from mlops_ci.deploy import nomad

        pinned = nomad.pin_images(text, file, pin.repository, pin.reference)
        return nomad.ensure_blue_green(pinned, file) if pin.strategy == "blue-green" else pinned

    def scaffold(self, files: Scaffold, strategy: Strategy, pattern: Pattern) -> str:
        from mlops_ci.deploy import scaffold

        return scaffold.nomad(files, strategy)  # a prestart task, whatever the pattern

    def default_path(self, app: str) -> str:
        return f"deploy/nomad/{app}.nomad.hcl"


TARGETS: Mapping[str, DeployTarget] = {
    "kubernetes": Kubernetes(),
    "nomad": Nomad(),
}


def target(kind: str) -> DeployTarget:
    found = TARGETS.get(kind)
    if found is None:
        raise UsageError(f"{kind!r} is not a deploy target; use one of {', '.join(TARGETS)}")
    return found
