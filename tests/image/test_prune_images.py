"""`mlops-ci prune` deletes the registry images of expired candidates, and never an image
that a kept tag shares."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.test_prune import setup_candidates
from tests.conftest import CliRunner
from tests.services import RegistryServer, busybox_layout, skopeo


def test_prune_deletes_expired_images_but_not_a_shared_one(
    example_copy: Path, registry: RegistryServer, base_layout: Path, cli: CliRunner
) -> None:
    repository = f"{registry.host}/acme/pruned-model"
    setup_candidates(example_copy, repository)
    # Every candidate's tag on one image, except rc.1's; rc.2's image is also 1.44.0's.
    for tag in ("1.44.0-rc.2", "1.44.0-rc.3", "1.44.0-rc.4", "1.44.0-rc.5", "1.44.0"):
        copied = skopeo("copy", "--dest-tls-verify=false", f"oci:{base_layout}:test",
                        f"docker://{repository}:{tag}")  # fmt: skip
        assert copied.returncode == 0, copied.stderr
    # rc.1's layer compressed otherwise: a blob of its own, which its deletion frees.
    other = busybox_layout(example_copy.parent / "other-busybox", gzip_mtime=1)
    changed = skopeo(
        "copy", "--dest-tls-verify=false", "--preserve-digests", f"oci:{other}:test",
        f"docker://{repository}:1.44.0-rc.1",
    )  # fmt: skip
    assert changed.returncode == 0, changed.stderr
    raw = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{repository}:1.44.0-rc.1")
    shared = skopeo("inspect", "--raw", "--tls-verify=false", f"docker://{repository}:1.44.0")
    theirs = {d["digest"] for d in json.loads(shared.stdout)["layers"]}
    own = [d["size"] for d in json.loads(raw.stdout)["layers"] if d["digest"] not in theirs]
    assert own
    manifest = str(example_copy / "mlops.yaml")

    dry = cli("prune", "--json", "--dry-run", "--no-tracking", "-f", manifest)
    assert dry.status == 0, dry.err
    outcomes = {i["tag"]: i["outcome"] for i in json.loads(dry.out)["images"]}
    assert outcomes == {"1.44.0-rc.1": "would delete", "1.44.0-rc.2": outcomes["1.44.0-rc.2"]}
    assert outcomes["1.44.0-rc.2"].startswith("kept: ")
    # its own layers (the config is the same image's, so shared): what the registry frees
    assert json.loads(dry.out)["freed_bytes"]["registry"] == sum(own)

    done = cli("prune", "--no-tracking", "-f", manifest)
    assert done.status == 0, done.err
    assert "image 1.44.0-rc.1: deleted" in done.out
    listed = skopeo("list-tags", "--tls-verify=false", f"docker://{repository}")
    tags = set(json.loads(listed.stdout)["Tags"])
    assert tags == {"1.44.0-rc.2", "1.44.0-rc.3", "1.44.0-rc.4", "1.44.0-rc.5", "1.44.0"}

    again = cli("prune", "--json", "--no-tracking", "-f", manifest)
    assert [i["tag"] for i in json.loads(again.out)["images"]] == ["1.44.0-rc.2"]
