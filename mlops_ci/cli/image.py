"""``mlops-ci image build|push|promote|inspect``: the model's container image."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

from mlops_ci.cli.options import Console, common_options, load_manifest
from mlops_ci.core.json_text import strict_dumps
from mlops_ci.errors import ExitStatus, UsageError

if TYPE_CHECKING:
    from mlops_ci.app.context import Context
    from mlops_ci.app.image import ImageTools

DEFAULT_EPOCH = 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    image = commands.add_parser(
        "image",
        help="build, push, promote and inspect the model's container image",
        description="The model's container image: the base image, the model files in "
        "uncompressed layers, and /deploy.sh, which copies them verified into /model/<version>.",
    )
    actions = image.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="what to do with the image"
    )
    build = actions.add_parser(
        "build",
        parents=[common_options()],
        help="build the candidate's image from its artifacts (no daemon needed)",
        description="Build the image of a candidate from exactly the files its build "
        "recorded: reads each file once, writes nothing big. SOURCE_DATE_EPOCH sets the "
        "timestamps (default 0), so the same files give the same digest anywhere.",
    )
    _version_option(build)
    build.add_argument(
        "--output",
        action="append",
        default=[],
        metavar="DEST",
        help="also write the image to oci:FOLDER (an OCI layout) or docker-archive:FILE "
        "(a tar for `docker load`); repeat for several",
    )
    build.add_argument(
        "--load",
        action="store_true",
        help="load the image into the local Docker engine (DOCKER_HOST) for `docker run`",
    )
    build.set_defaults(handler=build_command)
    push = actions.add_parser(
        "push",
        parents=[common_options()],
        help="push the built image to release.image.repository, tagged with its version",
        description="Push the built image: blobs the registry has are skipped, the base's "
        "are mounted from its repository when it is on the same registry, big layers go up "
        "in resumable chunks. Credentials: MLOPS_CI_REGISTRY_USERNAME and "
        "MLOPS_CI_REGISTRY_PASSWORD, or ~/.docker/config.json.",
    )
    _version_option(push)
    push.set_defaults(handler=push_command)
    promote = actions.add_parser(
        "promote",
        parents=[common_options()],
        help="tag a validated candidate's image as its release version",
        description="Tag the digest of a validated candidate's image as X.Y.Z (and as the "
        "environment, when given) by putting the same manifest: no blob moves, nothing is "
        "rebuilt.",
    )
    promote.add_argument("--version", required=True, metavar="CANDIDATE", help="the candidate")
    promote.add_argument("--to", required=True, metavar="VERSION", help="the release version")
    promote.add_argument("--environment", metavar="NAME", help="also tag it with this name")
    promote.set_defaults(handler=promote_command)
    inspect = actions.add_parser(
        "inspect",
        parents=[common_options()],
        help="show an image's digest, layers and model files",
        description="Show the built image of a candidate, or with REFERENCE an image in a "
        "registry: digest, layers, labels and its /model.json.",
    )
    inspect.add_argument("reference", nargs="?", metavar="REFERENCE", help="an image reference")
    _version_option(inspect)
    inspect.set_defaults(handler=inspect_command)
    sign = actions.add_parser(
        "sign",
        parents=[common_options()],
        help="sign an image's digest in its registry (cosign's layout)",
        description="Sign the digest of the candidate's pushed image, or of REFERENCE, with "
        "an ECDSA P-256 key: MLOPS_CI_SIGNING_KEY (the PEM) or MLOPS_CI_SIGNING_KEY_FILE, "
        "and MLOPS_CI_SIGNING_KEY_PASSWORD when it is encrypted. The signature goes beside "
        "the image as sha256-<digest>.sig, where cosign, skopeo, podman and sigstore's "
        "policy-controller find it. For the candidate (no REFERENCE) it also attests, "
        "as signed in-toto statements in sha256-<digest>.att: its SLSA provenance, its "
        "gates and its CycloneDX ML-BOM. Both are OCI referrers of the image. Signing again "
        "with the same key adds nothing.",
    )
    sign.add_argument("reference", nargs="?", metavar="REFERENCE", help="an image reference")
    _version_option(sign)
    sign.set_defaults(handler=sign_command)
    verify = actions.add_parser(
        "verify",
        parents=[common_options()],
        help="check that a key signed an image's digest and attested its gates",
        description="Check that the image (the candidate's pushed image, or REFERENCE) has a "
        "signature of the key for its digest and repository, and a gates attestation of "
        "the key that says every gate passed. Exit 1 when it has not.",
    )
    verify.add_argument(
        "--signature-only",
        action="store_true",
        help="check the signature alone (an image signed by REFERENCE has no attestations)",
    )
    verify.add_argument("reference", nargs="?", metavar="REFERENCE", help="an image reference")
    verify.add_argument(
        "--key", required=True, metavar="FILE", help="the public key (PEM, as cosign.pub)"
    )
    _version_option(verify)
    verify.set_defaults(handler=verify_command)


def _version_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--version", metavar="VERSION", help="the candidate (default: the one built at HEAD)"
    )


def build_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.app.image import DockerBuilt, build_candidate_image, load_into_engine, write_image

    context, tools = _prepare(arguments, console)
    destinations = [_destination(text) for text in arguments.output]
    image = build_candidate_image(context, arguments.version, tools, _epoch(console))
    if isinstance(image, DockerBuilt):
        if destinations or arguments.load:
            raise UsageError(
                "--output and --load need the oci backend; the docker backend's image is "
                f"in the Docker engine already, as {image.reference}"
            )
        summary: dict[str, Any] = {
            "name": image.name,
            "version": image.version,
            "id": image.image_id,
            "reference": image.reference,
            "model_files": len(image.files),
            "written": ["docker engine"],
        }
        line = f"built {image.reference} ({image.image_id[:19]}) with the Docker engine"
        _render(console, arguments.json, summary, line)
        return ExitStatus.PASSED
    written = []
    for kind, path in destinations:
        target = context.manifest.root / path
        write_image(kind, target, image, tools)
        written.append(f"{kind}:{target}")
    if arguments.load:
        load_into_engine(image, tools)
        written.append("docker engine")
    summary = {
        "name": image.name,
        "version": image.version,
        "digest": image.digest,
        "size": image.size,
        "layers": len(image.base.layers) + len(image.model_layers) + 1,
        "model_files": len(image.files),
        "written": written,
    }
    _render(console, arguments.json, summary, f"built {image.name}:{image.version} {image.digest}")
    return ExitStatus.PASSED


def push_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.image import DockerBuilt, load_image, push_image
    from mlops_ci.image.publish import PushResult

    context, tools = _prepare(arguments, console)
    trust = wiring.image_trust(context.manifest, console.environ, console.add_secret)
    signer = trust.configured_signer() if trust is not None else None  # before the push
    image = load_image(context, arguments.version)
    result = push_image(context, image, tools)
    if isinstance(result, PushResult):
        summary: dict[str, Any] = {
            "reference": result.reference,
            "digest": result.digest,
            "uploaded": result.uploaded,
            "uploaded_bytes": result.uploaded_bytes,
            "already_there": result.present,
            "mounted": result.mounted,
            "tagged": result.manifest_written,
            "modelpack": result.modelpack,
        }
        line = (
            f"pushed {result.reference} with the Docker engine"
            if result.engine
            else f"pushed {result.reference} ({result.uploaded} blobs uploaded, "
            f"{result.present} already there, {result.mounted} mounted)"
        )
        if signer is not None:
            # release.image.signing with the key here: the push is signed and attested too.
            from mlops_ci.app.signing import sign_candidate, sign_push

            if isinstance(image, DockerBuilt):  # the engine made its own manifest
                signed, attested = sign_candidate(context, image.version, tools, signer)
            else:
                signed, attested = sign_push(context, image, result, tools, signer)
            summary["signature_tag"] = signed.signature_tag
            summary["attested"] = list(attested.added)
            summary["attested_before"] = list(attested.kept)
            line += f"\nsigned and attested with the release key ({signed.signature_tag})"
    elif not isinstance(image, DockerBuilt):
        summary = {"reference": f"oci:{result}", "digest": image.digest}
        line = f"wrote {image.name}:{image.version} {image.digest} into {result}"
    _render(console, arguments.json, summary, line)
    wiring.ci_host(console.environ, console.err).set_outputs(
        {"digest": str(summary["digest"]), "reference": str(summary["reference"])}
    )
    return ExitStatus.PASSED


def promote_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.app.promote import promote_image
    from mlops_ci.core.versions import parse_version

    context, tools = _prepare(arguments, console)
    parse_version(arguments.to, context.manifest.versioning.scheme)
    from mlops_ci import wiring

    trust = wiring.image_trust(context.manifest, console.environ, console.add_secret)
    promotion = promote_image(
        context, arguments.version, arguments.to, arguments.environment, tools, trust=trust
    )
    summary = {
        "reference": promotion.reference,
        "digest": promotion.digest,
        "tags": list(promotion.tags),
        "written": list(promotion.written),
    }
    already = "" if promotion.written else " (already tagged; nothing to do)"
    _render(
        console,
        arguments.json,
        summary,
        f"tagged {promotion.reference} as {', '.join(promotion.tags)}{already}",
    )
    return ExitStatus.PASSED


def inspect_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci.app.image import DockerBuilt, load_image
    from mlops_ci.app.promote import inspect_remote

    context, tools = _prepare(arguments, console)
    if arguments.reference:
        summary = inspect_remote(arguments.reference, tools)
    else:
        image = load_image(context, arguments.version)
        if isinstance(image, DockerBuilt):
            raise UsageError(
                f"{image.reference} is in the Docker engine: `docker image inspect` it, or "
                "push it and inspect it in the registry (mlops-ci image inspect REFERENCE)"
            )
        summary = {
            "reference": f"{image.name}:{image.version}",
            "digest": image.digest,
            "base": f"{image.base.reference}@{image.base.manifest_digest}",
            "layers": json.loads(image.manifest)["layers"],
            "model": json.loads(image.manifest).get("annotations", {}),
            "files": [f.to_json() for f in image.files],
        }
    if arguments.json:
        console.out.write(strict_dumps(summary, indent=2) + "\n")
        return ExitStatus.PASSED
    console.out.write(f"{summary['reference']}\n  digest {summary['digest']}\n")
    for layer in summary["layers"]:
        console.out.write(
            f"  layer  {layer['digest']}  {layer['size']:>14,}  {layer['mediaType']}\n"
        )
    for file in summary.get("files") or (summary.get("model") or {}).get("files", []):
        console.out.write(f"  file   {file['sha256'][:12]}  {file['size']:>14,}  {file['path']}\n")
    return ExitStatus.PASSED


def sign_command(arguments: argparse.Namespace, console: Console) -> int:
    from mlops_ci import wiring
    from mlops_ci.app.signing import sign_candidate, sign_image

    key = wiring.signing_key(console.environ, console.add_secret)
    if arguments.reference:
        tools = wiring.image_tools(console.environ, console.add_secret)
        result, attested = sign_image(arguments.reference, tools, key), None
    else:
        context, tools = _prepare(arguments, console)
        result, attested = sign_candidate(context, arguments.version, tools, key)
    summary: dict[str, Any] = {
        "reference": result.reference,
        "digest": result.digest,
        "signature_tag": result.signature_tag,
        "added": result.added,
    }
    said = "signed" if result.added else "already signed with this key"
    line = f"{said}: {result.reference} {result.digest}"
    if attested is not None:
        summary["attestation_tag"] = attested.attestation_tag
        summary["attested"] = list(attested.added)
        summary["attested_before"] = list(attested.kept)
        line += "\n" + (
            f"attested: {', '.join(attested.added)}"
            if attested.added
            else "already attested with this key"
        )
    _render(console, arguments.json, summary, line)
    return ExitStatus.PASSED


def verify_command(arguments: argparse.Namespace, console: Console) -> int:
    from pathlib import Path

    from mlops_ci import wiring
    from mlops_ci.app.signing import verify_trusted

    key = wiring.public_key(Path(arguments.key))
    reference, tools = _image_to_check(arguments, console)
    result, gates = verify_trusted(reference, tools, key, gates=not arguments.signature_only)
    summary: dict[str, Any] = {
        "reference": result.reference,
        "digest": result.digest,
        "signatures": result.signatures,
        "gates": dict(gates.predicate) if gates is not None else None,
    }
    line = f"verified: {result.reference} {result.digest} is signed with this key"
    if gates is not None:
        line += " and passed its gates"
    _render(console, arguments.json, summary, line)
    return ExitStatus.PASSED


def _image_to_check(arguments: argparse.Namespace, console: Console) -> tuple[str, ImageTools]:
    """REFERENCE (no manifest needed), else the candidate's pushed image."""
    from mlops_ci import wiring
    from mlops_ci.app.signing import pushed_reference

    if arguments.reference:
        return arguments.reference, wiring.image_tools(console.environ, console.add_secret)
    context, tools = _prepare(arguments, console)
    return pushed_reference(context, arguments.version), tools


def _prepare(arguments: argparse.Namespace, console: Console) -> tuple[Context, ImageTools]:
    from mlops_ci import wiring
    from mlops_ci.cli.meters import meters_for

    manifest = load_manifest(arguments.manifest)
    context = wiring.context(
        manifest, console.environ, "off", meters=meters_for(console.err, console.environ)
    )
    return context, wiring.image_tools(console.environ, console.add_secret)


def _destination(text: str) -> tuple[str, str]:
    kind, _, path = text.partition(":")
    if kind not in ("oci", "docker-archive") or not path:
        raise UsageError(
            f"--output {text!r}: write oci:FOLDER for an OCI layout or docker-archive:FILE "
            "for a tar that `docker load` reads"
        )
    return kind, path


def _epoch(console: Console) -> int:
    text = console.environ.get("SOURCE_DATE_EPOCH", "")
    if not text:
        return DEFAULT_EPOCH
    if not text.isdigit():
        raise UsageError(f"SOURCE_DATE_EPOCH={text!r} is not a number of seconds")
    return int(text)


def _render(console: Console, as_json: bool, summary: dict[str, Any], line: str) -> None:
    console.out.write(strict_dumps(summary, indent=2) + "\n" if as_json else line + "\n")
