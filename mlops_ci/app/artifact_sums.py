"""The sums the build stage took of a candidate's artifacts, kept on this runner beside each
file's identity (size, mtime, ctime, inode), so that the image build hashes each byte once:
the layer's digest is its only pass over a file the build already hashed and no write has
touched since. A file whose identity differs, or a runner that did not build, is hashed
again, as before."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from mlops_ci.app.context import Context
from mlops_ci.files.artifacts import ArtifactFile, ArtifactPath
from mlops_ci.files.atomic import write_atomically


def save_sums(context: Context, version: str, files: Iterable[ArtifactFile]) -> None:
    kept = {
        f.path: {"sha256": f.sha256, "identity": list(f.identity)}
        for f in files
        if f.identity is not None
    }
    path = context.layout.artifact_sums(context.manifest.model.name, version)
    write_atomically(path, json.dumps({"files": kept}).encode())


def known_sums(context: Context, version: str, walked: Sequence[ArtifactPath]) -> dict[str, str]:
    """The build's sum of each file of ``walked`` that is still the file it hashed."""
    path = context.layout.artifact_sums(context.manifest.model.name, version)
    try:
        stored = json.loads(path.read_text(encoding="utf-8")).get("files")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(stored, dict):
        return {}
    found = {}
    for file in walked:
        entry = stored.get(file.path)
        if not isinstance(entry, dict):
            continue
        sha256, identity = entry.get("sha256"), entry.get("identity")
        if isinstance(sha256, str) and identity == list(file.identity):
            found[file.path] = sha256
    return found
