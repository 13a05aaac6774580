"""Layer digests by what their files look like on disk, kept across builds: a layer whose
files all have the same path, size, mtime, inode and ctime as when it was hashed is not
read again (ctime: a file rewritten in place with its old mtime is not the same file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlops_ci.files.atomic import write_atomically
from mlops_ci.image.layers import ModelLayer
from mlops_ci.image.oci import canonical_json, sha256_digest
from mlops_ci.image.tarstream import LayerHashes

_CACHE_ENTRIES = 256


class DigestCache:
    """Layer digests by what their files look like on disk; a layer whose files all have
    the same path, size, mtime, inode and ctime as when it was hashed is not read again."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            loaded = json.loads(path.read_text())
            self._entries: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self._entries = {}

    def get(self, layer: ModelLayer, epoch: int) -> LayerHashes | None:
        entry = self._entries.get(_layer_key(layer, epoch))
        if not isinstance(entry, dict):
            return None
        try:
            return LayerHashes(str(entry["digest"]), int(entry["size"]), dict(entry["files"]))
        except (KeyError, TypeError, ValueError):
            return None

    def put(self, layer: ModelLayer, epoch: int, hashes: LayerHashes) -> None:
        self._entries[_layer_key(layer, epoch)] = {
            "digest": hashes.digest,
            "size": hashes.size,
            "files": hashes.files,
        }
        while len(self._entries) > _CACHE_ENTRIES:
            self._entries.pop(next(iter(self._entries)))
        write_atomically(self.path, json.dumps(self._entries).encode())


def _layer_key(layer: ModelLayer, epoch: int) -> str:
    described = [
        [f.path, f.size, f.executable, str(f.source), f.mtime_ns, f.inode, f.ctime_ns]
        for f in layer.files
    ]
    return sha256_digest(canonical_json([epoch, described]))
