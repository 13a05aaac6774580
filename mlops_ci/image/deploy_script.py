"""What the image's small last layer holds: ``/deploy.sh``, ``/model.json``,
``/model.sha256`` and the model's empty folders.

``deploy.sh`` runs in the image as a Kubernetes initContainer over an ``emptyDir`` or a
Nomad ``prestart`` task over a host volume: ``/bin/sh /deploy.sh [ROOT]`` (ROOT defaults to
``/model``). It needs a POSIX sh and ``cp``, ``mv`` (with ``-T``), ``ln``, ``rm``, ``mkdir``,
``mktemp``, ``find``, ``grep``, ``sed`` and ``sha256sum``: busybox has them. It copies into a
hidden folder of its own beside the target, checks every file's sha256, renames the folder
into ``ROOT/<version>`` and points ``ROOT/current`` at it, so a reader never sees a
half-copied model; a verified copy already there makes it a no-op. Runs at once on one
volume converge on one verified copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mlops_ci.core.checksums import sha256sum_listing
from mlops_ci.errors import ExitStatus, MlopsCiError

MODEL_FOLDER = "opt/mlops-ci/model"
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


class UnsafeNameError(MlopsCiError):
    exit_status = ExitStatus.BAD_INPUT


@dataclass(frozen=True)
class ShippedFile:
    path: str
    size: int
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "size": self.size, "sha256": self.sha256}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ShippedFile:
        return cls(str(value["path"]), int(value["size"]), str(value["sha256"]))


def model_json(
    name: str, version: str, files: Sequence[ShippedFile], folders: Sequence[str] = ()
) -> bytes:
    document: dict[str, Any] = {
        "name": name,
        "version": version,
        "folder": "/" + MODEL_FOLDER,
        "files": [f.to_json() for f in files],
    }
    if folders:
        document["empty_folders"] = list(folders)
    return (json.dumps(document, indent=2, sort_keys=True) + "\n").encode()


def sha256_list(files: Sequence[ShippedFile]) -> bytes:
    """The files' digests as ``sha256sum -c`` reads them."""
    return sha256sum_listing((f.sha256, f.path) for f in files).encode()


def deploy_files(
    name: str,
    version: str,
    files: Sequence[ShippedFile],
    folders: Sequence[str] = (),
    card: bytes = b"",
) -> list[tuple[str, bytes, bool]]:
    """The small layer's files: (name at the image's root, bytes, executable); the model
    card, when there is one, is /MODEL_CARD.md."""
    found = [
        ("deploy.sh", deploy_script(name, version), True),
        ("model.json", model_json(name, version, files, folders), False),
        ("model.sha256", sha256_list(files), False),
    ]
    return [*found, ("MODEL_CARD.md", card, False)] if card else found


def deploy_script(name: str, version: str) -> bytes:
    for what, value in (("model name", name), ("version", version)):
        if not _SAFE.match(value):
            raise UnsafeNameError(f"the {what} {value!r} cannot name a folder in deploy.sh")
    return _SCRIPT.replace("@NAME@", name).replace("@VERSION@", version).encode()


_SCRIPT = r"""#!/bin/sh
# deploy.sh, written by mlops-ci: puts @NAME@ @VERSION@ into ROOT/@VERSION@, every file's
# sha256 checked, and points ROOT/current at it. Usage: /bin/sh /deploy.sh [ROOT]
# (default /model). A verified copy already there makes it a no-op; a failure leaves
# nothing half-copied behind. Runs sharing ROOT at once (pods on one volume, allocations on
# one host volume) each copy into a folder of their own and rename it into place: the
# first verified copy stays, and every run ends with it.
set -u
name='@NAME@'
version='@VERSION@'
source=/opt/mlops-ci/model
sums=/model.sha256
root="${1:-/model}"
target="$root/$version"

say() { echo "deploy.sh: $*" >&2; }
fail() { say "$*"; exit 1; }
verified() { (cd "$1" 2>/dev/null && sha256sum -c "$sums" >/dev/null 2>&1); }
point_current() {
  # A name of its own ($$ is 1 in every container), renamed over current at once.
  link=$(mktemp -u "$root/.current.XXXXXX") &&
    ln -s "$version" "$link" && mv -f -T "$link" "$root/current" ||
    fail "cannot point $root/current at $version"
}

if [ -d "$target" ] && verified "$target"; then
  point_current
  say "$name $version is already in $target, verified; nothing to do"
  exit 0
fi
mkdir -p "$root" || fail "cannot create $root"
# Leftovers of runs that died half-way: a day old, so never a live run's copy.
find "$root" -maxdepth 1 \( -name ".partial-$version.*" -o -name ".replaced-$version.*" \) \
  -mmin +1440 -exec rm -rf {} + 2>/dev/null
partial=$(mktemp -d "$root/.partial-$version.XXXXXX") || fail "cannot write into $root"
if ! cp -R "$source/." "$partial/"; then
  rm -rf "$partial"
  fail "copying $name $version into $root failed (is the volume full?); nothing was deployed"
fi
if ! report=$(cd "$partial" && sha256sum -c "$sums" 2>&1); then
  rm -rf "$partial"
  echo "$report" | grep -v ': OK$' | sed 's/^/deploy.sh: /' >&2
  fail "the model files in this image are corrupt (the files above do not match" \
    "their sha256); nothing was deployed"
fi
# Into place by rename, never by deleting where another run may just have put its copy:
# a copy there that fails its check is renamed aside first.
tries=0
until mv -T "$partial" "$target" 2>/dev/null; do
  if [ -d "$target" ] && verified "$target"; then
    rm -rf "$partial"  # another run's verified copy is in place
    break
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 10 ]; then
    rm -rf "$partial"
    fail "cannot rename into $target"
  fi
  aside=$(mktemp -d "$root/.replaced-$version.XXXXXX") || fail "cannot write into $root"
  mv -T "$target" "$aside/copy" 2>/dev/null
  rm -rf "$aside"
done
point_current
say "$name $version deployed into $target, every file verified"
"""
