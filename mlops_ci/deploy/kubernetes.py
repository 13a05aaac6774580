"""Kubernetes deploy files: where the model's image is referenced (an initContainer over an
``emptyDir``, or an image volume), pinned by digest, and blue/green slots flipped.

Only references to the model's repository change; every other byte of the file, comments
included, stays as it was.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.core.image_reference import in_repository, names_modelpack
from mlops_ci.deploy.text import (
    DeployFileError,
    Splice,
    apply_splices,
    quoted,
    scalar_extent,
    value_splice,
)
from mlops_ci.errors import UsageError

SLOTS = ("blue", "green")
_POD_TEMPLATES = {
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
    "Pod": ("spec",),
}


@dataclass(frozen=True)
class ImageSite:
    """One reference to the model's image: in which object, at which field, where."""

    kind: str
    name: str
    field: str
    value: str
    line: int
    column: int
    flow: bool


def load_documents(text: str, file: str) -> list[Any]:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        return [d for d in YAML(typ="rt").load_all(io.StringIO(text)) if d is not None]
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise DeployFileError(f"{file}{where}: not valid YAML ({_first_line(error)})") from None


def image_sites(text: str, file: str, repository: str) -> list[ImageSite]:
    """Every reference to ``repository``'s images in the workloads of ``text``."""
    found = []
    for document in load_documents(text, file):
        if not isinstance(document, Mapping):
            continue
        kind = str(document.get("kind", ""))
        path = _POD_TEMPLATES.get(kind)
        pod = _dig(document, path) if path else None
        if not isinstance(pod, Mapping):
            continue
        name = str((document.get("metadata") or {}).get("name", ""))
        for group in ("initContainers", "containers"):
            for index, container in enumerate(pod.get(group) or []):
                if isinstance(container, Mapping) and in_repository(
                    container.get("image"), repository
                ):
                    found.append(_site(kind, name, f"{group}[{index}].image", container, "image"))
        for index, volume in enumerate(pod.get("volumes") or []):
            source = volume.get("image") if isinstance(volume, Mapping) else None
            if isinstance(source, Mapping) and in_repository(source.get("reference"), repository):
                where = f"volumes[{index}].image.reference"
                found.append(_site(kind, name, where, source, "reference"))
    return found


def pin_images(
    text: str,
    file: str,
    repository: str,
    reference: str,
    names: Sequence[str] | None = None,
    *,
    modelpack: str | None = None,
) -> str:
    """``text`` with every reference to ``repository`` (in the objects ``names``, when
    given) replaced by ``reference``, or by ``modelpack`` where it names the image's
    ModelPack artifact (a ``.modelpack`` tag)."""
    sites = [s for s in image_sites(text, file, repository) if names is None or s.name in names]
    if not sites:
        within = f" in {', '.join(names)}" if names else ""
        raise DeployFileError(
            f"{file} has no image of {repository}{within}: add the model's initContainer or "
            "image volume (`mlops-ci deploy init` writes one), or fix release.image.repository"
        )
    splices = []
    for site in sites:
        wanted = reference
        if names_modelpack(site.value):
            if modelpack is None:
                raise DeployFileError(
                    f"{file}:{site.line + 1}: {site.kind} {site.name} mounts the ModelPack "
                    f"artifact ({site.value}), but the image to release has none (pushed with "
                    "release.image.modelpack: false, or by the docker backend); push it again "
                    "with the oci backend, or mount the image itself (drop .modelpack)"
                )
            wanted = modelpack
        splices.append(_splice(text, site, wanted, file))
    return apply_splices(text, splices)


@dataclass(frozen=True)
class Slots:
    """A blue/green pair: the Service that routes, and which slot is live."""

    app: str
    live: str
    service: str
    line: int
    column: int
    flow: bool

    @property
    def idle(self) -> str:
        return SLOTS[1 - SLOTS.index(self.live)]


def blue_green_slots(text: str, file: str, repository: str) -> Slots:
    """The slots of ``text``: Deployments ``<app>-blue`` and ``<app>-green`` holding the
    model's image, and a Service whose selector names the live one (``slot: blue``)."""
    names = {site.name for site in image_sites(text, file, repository)}
    apps = {n.rsplit("-", 1)[0] for n in names if n.endswith(("-blue", "-green"))}
    paired = sorted(app for app in apps if {f"{app}-blue", f"{app}-green"} <= names)
    if len(paired) != 1:
        raise DeployFileError(
            f"{file} needs two Deployments <app>-blue and <app>-green with the model's image "
            "for strategy: blue-green (`mlops-ci deploy init --strategy blue-green` writes them)"
        )
    app = paired[0]
    for document in load_documents(text, file):
        if not isinstance(document, Mapping) or document.get("kind") != "Service":
            continue
        selector = (document.get("spec") or {}).get("selector")
        if isinstance(selector, Mapping) and "slot" in selector and selector.get("app") == app:
            live = str(selector["slot"])
            line, column, flow = _where(selector, "slot")
            if live not in SLOTS:
                raise DeployFileError(
                    f"{file}:{line + 1}: the Service's slot is {live!r}; write blue or green"
                )
            name = str((document.get("metadata") or {}).get("name", ""))
            return Slots(app, live, name, line, column, flow)
    raise DeployFileError(
        f"{file} has no Service with selector {{app: {app}, slot: blue|green}}; blue/green "
        "routes traffic by that selector"
    )


def flip_to(text: str, file: str, slots: Slots, slot: str) -> str:
    """The Service's selector set to ``slot``."""
    if slot not in SLOTS:
        raise UsageError(f"a slot is blue or green, not {slot!r}")
    row = text.split("\n")[slots.line]
    end, quote = scalar_extent(row, slots.column, flow=slots.flow)
    if end < 0:
        raise DeployFileError(f"{file}:{slots.line + 1}: the slot value spans lines")
    return apply_splices(
        text, [value_splice(row, slots.line, slots.column, end, quoted(slot, quote))]
    )


def _site(kind: str, name: str, field: str, holder: Any, key: str) -> ImageSite:
    line, column, flow = _where(holder, key)
    return ImageSite(kind, name, field, str(holder[key]), line, column, flow)


def _where(holder: Any, key: str) -> tuple[int, int, bool]:
    """Where ruamel read ``holder[key]``'s value (0-based), and whether ``holder`` is a
    flow mapping (``{a: b}``), where a plain value ends at ``,`` or ``}``."""
    line, column = holder.lc.value(key)
    return int(line), int(column), bool(holder.fa.flow_style())


def _splice(text: str, site: ImageSite, reference: str, file: str) -> Splice:
    row = text.split("\n")[site.line]
    end, quote = scalar_extent(row, site.column, flow=site.flow)
    if end < 0:
        raise DeployFileError(
            f"{file}:{site.line + 1}: the image of {site.kind} {site.name} spans lines; "
            "write it on one line"
        )
    return value_splice(row, site.line, site.column, end, quoted(reference, quote))


def _dig(document: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def _first_line(error: Exception) -> str:
    text = str(error).strip().splitlines()
    return text[0][:200] if text else type(error).__name__
