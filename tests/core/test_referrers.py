"""The referrers tag schema's index: an attachment listed once, its earlier versions gone,
other tools' referrers kept, and hostile indexes read as empty."""

from __future__ import annotations

import json

from mlops_ci.core.referrers import (
    attachment_manifest,
    referrer_descriptor,
    referrers_of,
    referrers_tag,
    with_referrer,
)

DIGEST = "sha256:" + "ab" * 32
SUBJECT = {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": DIGEST, "size": 7}


def _entry(name: str) -> dict[str, object]:
    return referrer_descriptor(name.encode(), f"sha256:{name * 64}"[:71], "x/y")


def test_an_attachment_refers_to_its_subject() -> None:
    manifest, config = attachment_manifest([{"digest": "sha256:1"}], SUBJECT, "x/y")
    document = json.loads(manifest)
    assert document["subject"] == SUBJECT
    assert document["artifactType"] == "x/y"
    assert json.loads(config)["rootfs"]["diff_ids"] == ["sha256:1"]
    assert referrers_tag(DIGEST) == "sha256-" + "ab" * 32


def test_an_entry_is_listed_once_and_replaces_its_earlier_version() -> None:
    theirs, first, second = _entry("a"), _entry("b"), _entry("c")
    index = with_referrer(None, theirs)
    assert index is not None
    index = with_referrer(index, first)
    assert with_referrer(index, first) is None  # nothing to write
    replaced = with_referrer(index, second, replaces=[str(first["digest"])])
    assert [e["digest"] for e in referrers_of(replaced)] == [theirs["digest"], second["digest"]]
    assert json.loads(str(replaced and replaced.decode()))["mediaType"] == (
        "application/vnd.oci.image.index.v1+json"
    )


def test_hostile_indexes_list_nothing() -> None:
    for junk in (None, b"", b"[]", b'{"manifests": 1}', b'{"manifests": [1, {"digest": 2}]}'):
        assert referrers_of(junk) == []
