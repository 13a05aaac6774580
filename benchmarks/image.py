"""Model images: our daemonless build and push of a 2 GiB model against the floor (hashing
the bytes), skopeo and Docker, all in the same run, against the same local registry.

    python benchmarks/image.py [--mib 2048] [--runs 3] [--skip-docker]

Targets (issue: model container images): build at most 1.5x `hashlib.file_digest` of the
same bytes; build + push at most 1.2x `skopeo copy --preserve-digests` of the same OCI
layout, and at least 5x faster than `docker build` (BuildKit) + `docker push`; a rebuild and
push with nothing changed under 1 s; peak RSS of build + push under 200 MB.

Every push goes to a registry started empty for it (Debian's docker-registry on 127.0.0.1),
so no tool finds blobs another left. Each of our measurements runs in a process of its own
(peak RSS is per process). Needs docker-registry, skopeo, busybox-static and docker.io
(scripts/services installs them).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from child import measure, peak_rss

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

DATA = HERE / "results" / "data"


def model_file(mib: int) -> Path:
    """``mib`` MiB of random bytes, written once and reused."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"model-{mib}mib.bin"
    if not path.exists():
        partial = path.with_suffix(".partial")
        with partial.open("wb") as handle:
            for _ in range(mib):
                handle.write(os.urandom(1 << 20))
        partial.rename(path)
    return path


# -- what each child process measures ----------------------------------------------------


def child_floor(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {"digest": digest}


def child_build(artifacts: Path, base: str, registry: str | None, state: Path) -> dict[str, Any]:
    """Our build (and push, with ``registry``): the library calls `mlops-ci image build`
    and `image push` make, without git and records around them."""
    from mlops_ci.adapters.registry import RegistryClient
    from mlops_ci.core.image_reference import parse_reference
    from mlops_ci.files.artifacts import walk_artifacts
    from mlops_ci.image.base import BlobCache, resolve_base
    from mlops_ci.image.build import build_image
    from mlops_ci.image.digest_cache import DigestCache
    from mlops_ci.image.publish import Blobs, push

    clients: dict[str, RegistryClient] = {}

    def client(reference: Any) -> RegistryClient:
        return clients.setdefault(reference.api_host, RegistryClient(reference.api_host))

    cache = BlobCache(state / "blobs")
    started = time.perf_counter()
    base_image = resolve_base(base, client, cache)
    image = build_image(
        "bench",
        "1.0.0-rc.1",
        walk_artifacts(artifacts),
        base_image,
        layer_size=8 << 30,
        cache=DigestCache(state / "digests.json"),
    )
    built = time.perf_counter() - started
    result: dict[str, Any] = {"digest": image.digest, "build_seconds": built}
    if registry:
        target = parse_reference(f"{registry}/bench/model:1.0.0-rc.1")
        pushed = push(
            image, Blobs(image, cache, lambda: client(base_image.reference)), client(target), target
        )
        result["uploaded"] = pushed.uploaded
        result["uploaded_bytes"] = pushed.uploaded_bytes
    result["seconds"] = time.perf_counter() - started
    return result


def child(arguments: list[str]) -> None:
    name, *rest = arguments
    started = time.perf_counter()
    if name == "floor":
        result = child_floor(Path(rest[0]))
    else:
        registry = rest[2] if rest[2] != "-" else None
        result = child_build(Path(rest[0]), rest[1], registry, Path(rest[3]))
    result.setdefault("seconds", time.perf_counter() - started)
    print(json.dumps({**result, "peak_rss_bytes": peak_rss()}))


def timed(command: list[str], environ: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=environ, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


class Bench:
    """One run's folders, registries and best figures."""

    def __init__(self, weights: Path) -> None:
        from tests.services import busybox_layout

        self.work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-image-"))
        self.registries: list[Any] = []
        self.engine: Any = None
        self.best: dict[str, dict[str, Any]] = {}
        self.artifacts = self.work / "artifacts"
        self.artifacts.mkdir()
        os.link(weights, self.artifacts / "model.bin")  # the same bytes, no copy
        self.layout = busybox_layout(self.work / "busybox")

    def registry(self) -> Any:
        from tests.services import RegistryServer

        server = RegistryServer(self.work / f"registry-{len(self.registries)}")
        server.start()
        self.registries.append(server)
        return server

    def base(self) -> str:
        """The base in a registry of its own, as it would be on Docker Hub."""
        from tests.services import skopeo

        base = f"{self.registry().host}/library/busybox:test"
        copied = skopeo(
            "copy", "--dest-tls-verify=false", f"oci:{self.layout}:test", f"docker://{base}"
        )
        assert copied.returncode == 0, copied.stderr
        return base

    def keep(self, name: str, result: dict[str, Any]) -> None:
        rss = result.get("peak_rss_bytes", 0) / 2**20
        print(f"  {name:18} {result['seconds']:7.2f} s  peak RSS {rss:6.0f} MiB", file=sys.stderr)
        if name not in self.best or result["seconds"] < self.best[name]["seconds"]:
            self.best[name] = result

    def ours_and_skopeo(self, weights: Path, run: int) -> None:
        self.keep("floor", measure(__file__, "floor", str(weights)))
        base = self.base()
        artifacts = str(self.artifacts)
        self.keep(
            "build", measure(__file__, "build", artifacts, base, "-", str(self.work / f"s{run}"))
        )
        target = self.registry().host
        state = str(self.work / f"state-push-{run}")
        self.keep("build+push", measure(__file__, "build", artifacts, base, target, state))
        again = measure(__file__, "build", artifacts, base, target, state)
        assert again["uploaded"] == 0, again
        self.keep("rebuild+push", again)
        oci = self.work / f"oci-{run}"
        _write_layout(self.artifacts, base, oci, self.work / f"state-oci-{run}")
        destination = f"docker://{self.registry().host}/bench/model:1.0.0-rc.1"
        skopeo = ["skopeo", "--insecure-policy", "copy", "--preserve-digests"]
        source = f"oci:{oci}:1.0.0-rc.1"
        seconds = timed([*skopeo, "--dest-tls-verify=false", source, destination])
        self.keep("skopeo copy", {"seconds": seconds})

    def docker(self) -> None:
        from tests.services import DockerEngine

        self.engine = DockerEngine(self.work / "docker")
        self.engine.start()
        base = self.base()
        self.engine.docker("pull", base)
        (self.artifacts / "Dockerfile").write_text(f"FROM {base}\nCOPY model.bin /model/\n")
        environ = {**os.environ, "DOCKER_HOST": self.engine.host, "DOCKER_BUILDKIT": "1"}
        tag = f"{self.registry().host}/bench/model:docker"
        docker = "/usr/bin/docker"
        build = timed([docker, "build", "--no-cache", "-t", tag, str(self.artifacts)], environ)
        push = timed([docker, "push", tag], environ)
        self.keep("docker build", {"seconds": build})
        self.keep("docker push", {"seconds": push})
        self.best["docker build+push"] = {"seconds": build + push}

    def figures(self, model_bytes: int, runs: int) -> dict[str, Any]:
        seconds = {name: round(result["seconds"], 3) for name, result in self.best.items()}
        figures: dict[str, Any] = {"model_bytes": model_bytes, "runs": runs, "seconds": seconds}
        figures["build_vs_floor"] = round(seconds["build"] / seconds["floor"], 2)
        figures["build_push_vs_skopeo"] = round(seconds["build+push"] / seconds["skopeo copy"], 2)
        if "docker build+push" in seconds:
            ratio = seconds["docker build+push"] / seconds["build+push"]
            figures["docker_vs_build_push"] = round(ratio, 1)
        figures["rebuild_push_seconds"] = seconds["rebuild+push"]
        figures["peak_rss_mib_build_push"] = round(
            self.best["build+push"]["peak_rss_bytes"] / 2**20
        )
        return figures

    def close(self) -> None:
        if self.engine is not None:
            self.engine.stop()
        for server in self.registries:
            server.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=2048, help="the model's size")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-docker", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    weights = model_file(arguments.mib)
    bench = Bench(weights)
    try:
        for run in range(arguments.runs):
            bench.ours_and_skopeo(weights, run)
        if not arguments.skip_docker:
            bench.docker()
        print(json.dumps(bench.figures(weights.stat().st_size, arguments.runs)))
    finally:
        bench.close()


def _write_layout(artifacts: Path, base: str, folder: Path, state: Path) -> None:
    from mlops_ci.adapters.registry import RegistryClient
    from mlops_ci.files.artifacts import walk_artifacts
    from mlops_ci.image.base import BlobCache, resolve_base
    from mlops_ci.image.build import build_image
    from mlops_ci.image.publish import Blobs, write_oci_layout

    client = RegistryClient(base.split("/", maxsplit=1)[0])
    cache = BlobCache(state / "blobs")
    base_image = resolve_base(base, lambda reference: client, cache)
    image = build_image(
        "bench", "1.0.0-rc.1", walk_artifacts(artifacts), base_image, layer_size=8 << 30
    )
    write_oci_layout(image, Blobs(image, cache, lambda: client), folder, "1.0.0-rc.1")


if __name__ == "__main__":
    main()
