"""The same model as a CNCF ModelPack artifact: a manifest whose weight layers are the
image's model layers, the very blobs (one digest, stored once), and its model config.

The image's model layers are uncompressed tars of the files under ``opt/mlops-ci/model``,
which is what ModelPack's ``weight.v1.tar`` is: a tar of weight files, no compression. Only
the media types in the manifest differ, and a registry keys blobs by digest, so the artifact
adds its manifest and its config (a few hundred bytes) and no layer. It names the image as
its ``subject``, so it is one of the image's referrers, and the same image bytes always give
the same artifact bytes.

Pure: the documents are made here and pushed elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_ci.image.build import BuiltImage
from mlops_ci.image.deploy_script import MODEL_FOLDER
from mlops_ci.image.oci import OCI_MANIFEST, canonical_json, rfc3339, sha256_digest

MODELPACK_MANIFEST = "application/vnd.cncf.model.manifest.v1+json"  # the artifactType
MODELPACK_CONFIG = "application/vnd.cncf.model.config.v1+json"
MODELPACK_WEIGHT = "application/vnd.cncf.model.weight.v1.tar"
FILEPATH = "org.cncf.model.filepath"  # the layer annotation of the file it holds


@dataclass(frozen=True)
class ModelPack:
    manifest: bytes
    config: bytes

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


@dataclass(frozen=True)
class ModelFacts:
    """What the model config says beyond the files: all optional in ModelPack."""

    description: str = ""
    revision: str = ""  # the git commit the candidate was built from
    source_url: str = ""  # where that commit can be read
    authors: tuple[str, ...] = ()


def modelpack_of(image: BuiltImage, facts: ModelFacts) -> ModelPack:
    """The ModelPack artifact of ``image``: its model layers as weight layers, by digest."""
    layers = []
    for layer in image.model_layers:
        entry: dict[str, Any] = {
            "mediaType": MODELPACK_WEIGHT,
            "digest": layer.descriptor.digest,
            "size": layer.descriptor.size,
        }
        if len(layer.files) == 1:  # ModelPack's one file per layer: say which
            entry["annotations"] = {FILEPATH: f"{MODEL_FOLDER}/{layer.files[0].path}"}
        layers.append(entry)
    descriptor: dict[str, Any] = {
        "name": image.name,
        "version": image.version,
        "createdAt": rfc3339(image.epoch),
        **({"description": facts.description} if facts.description else {}),
        **({"revision": facts.revision} if facts.revision else {}),
        **({"sourceURL": facts.source_url} if facts.source_url else {}),
        **({"authors": list(facts.authors)} if facts.authors else {}),
    }
    config = canonical_json(
        {
            "descriptor": descriptor,
            "config": {},
            # An uncompressed layer's diff id is its digest.
            "modelfs": {"type": "layers", "diffIds": [entry["digest"] for entry in layers]},
        }
    )
    manifest = canonical_json(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": MODELPACK_MANIFEST,
            "config": {
                "mediaType": MODELPACK_CONFIG,
                "digest": sha256_digest(config),
                "size": len(config),
            },
            "layers": layers,
            "subject": {
                "mediaType": OCI_MANIFEST,
                "digest": image.digest,
                "size": len(image.manifest),
            },
            "annotations": {
                "org.opencontainers.image.title": image.name,
                "org.opencontainers.image.version": image.version,
            },
        }
    )
    return ModelPack(manifest, config)


def is_modelpack(entry: Mapping[str, Any]) -> bool:
    """Whether a referrer's descriptor is a ModelPack artifact."""
    return entry.get("artifactType") == MODELPACK_MANIFEST
