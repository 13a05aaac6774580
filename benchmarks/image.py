"""Model images: our daemonless build and push of a 2 GiB model against the floor (hashing
the bytes), skopeo and Docker, all in the same run, against the same local registry.

    python benchmarks/image.py [--mib 2048] [--runs 3] [--skip-docker] [--load 1]

Targets (issue: model container images): build at most 1.5x `hashlib.file_digest` of the
same bytes; build + push at most 1.2x `skopeo copy --preserve-digests` of the same OCI
layout, and at least 5x faster than `docker build` (BuildKit) + `docker push`; a rebuild and
push with nothing changed under 1 s; peak RSS of build + push under 200 MB. Issue 22: the
build hashes each byte once, so it costs at most 1.2x the floor in CPU time as well as in
wall time, loaded or not: "build" is `mlops-ci image build` on the runner that built the
candidate (the build stage's sums taken, each byte through the layer's SHA-256 alone);
"build, sums unknown" is a fresh runner (the file's own SHA-256 beside the layer's, on two
threads), shown for comparison. `--load N` keeps N processes spinning a core each for the
whole measurement, as another job on the same runner would: the "loaded" case.

Every side runs once a run, in an order that starts at another side each run (the floor is
not always first); a first, uncounted floor warms the page cache. Each figure is the median
of the runs beside its min and max, wall and CPU time (the processes' own: dockerd's is not
docker's client's), and each ratio the median of the runs' paired ratios.

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

from child import measure, paired, peak_rss, rotated, spread
from child import timed as run_timed

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
    started, cpu = time.perf_counter(), time.process_time()
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return {
        "digest": digest,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": time.process_time() - cpu,
    }


def child_build(
    artifacts: Path, base: str, registry: str | None, state: Path, *, sums_known: bool
) -> dict[str, Any]:
    """Our build (and push, with ``registry``): the library calls `mlops-ci image build`
    and `image push` make, without git and records around them. ``sums_known``: the files'
    sums come from the build stage, as on the runner that built the candidate (they are
    taken before the clock, as `mlops-ci build` takes them); else the build hashes each file
    itself beside the layer, as on a fresh runner."""
    from mlops_ci.adapters.registry import RegistryClient
    from mlops_ci.core.image_reference import parse_reference
    from mlops_ci.files.artifacts import artifact_files, walk_artifacts
    from mlops_ci.image.base import BlobCache, resolve_base
    from mlops_ci.image.build import build_image
    from mlops_ci.image.digest_cache import DigestCache
    from mlops_ci.image.publish import Blobs, push

    clients: dict[str, RegistryClient] = {}

    def client(reference: Any) -> RegistryClient:
        return clients.setdefault(reference.api_host, RegistryClient(reference.api_host))

    cache = BlobCache(state / "blobs")
    hashed = {f.path: f for f in artifact_files(artifacts)} if sums_known else {}
    started, cpu = time.perf_counter(), time.process_time()
    base_image = resolve_base(base, client, cache)
    walked = walk_artifacts(artifacts)
    known = {
        f.path: hashed[f.path].sha256
        for f in walked
        if f.path in hashed and hashed[f.path].identity == f.identity
    }
    image = build_image(
        "bench",
        "1.0.0-rc.1",
        walked,
        base_image,
        layer_size=8 << 30,
        cache=DigestCache(state / "digests.json"),
        known=known,
    )
    built = time.perf_counter() - started
    result: dict[str, Any] = {
        "digest": image.digest,
        "build_seconds": built,
        "build_cpu_seconds": time.process_time() - cpu,
    }
    if registry:
        target = parse_reference(f"{registry}/bench/model:1.0.0-rc.1")
        pushed = push(
            image, Blobs(image, cache, lambda: client(base_image.reference)), client(target), target
        )
        result["uploaded"] = pushed.uploaded
        result["uploaded_bytes"] = pushed.uploaded_bytes
    result["seconds"] = time.perf_counter() - started
    result["cpu_seconds"] = time.process_time() - cpu
    return result


def child(arguments: list[str]) -> None:
    name, *rest = arguments
    started = time.perf_counter()
    if name == "floor":
        result = child_floor(Path(rest[0]))
    else:
        registry = rest[2] if rest[2] != "-" else None
        known = name == "build"
        result = child_build(Path(rest[0]), rest[1], registry, Path(rest[3]), sums_known=known)
    result.setdefault("seconds", time.perf_counter() - started)
    print(json.dumps({**result, "peak_rss_bytes": peak_rss()}))


def timed(command: list[str], environ: dict[str, str] | None = None) -> dict[str, float]:
    """Wall time, and the CPU time of the command's processes (a daemon's is not counted:
    docker's build runs in dockerd, so its CPU figure is the client's alone)."""
    seconds, cpu = run_timed(command, environ=environ)
    return {"seconds": seconds, "cpu_seconds": cpu}


class Bench:
    """One run's folders, registries and best figures."""

    def __init__(self, weights: Path) -> None:
        from tests.services import busybox_layout

        self.work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-image-"))
        self.registries: list[Any] = []
        self.engine: Any = None
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.docker_base = ""
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
        print(
            f"  {name:22} {result['seconds']:7.2f} s  cpu {result.get('cpu_seconds', 0):7.2f} s"
            f"  peak RSS {rss:6.0f} MiB",
            file=sys.stderr,
        )
        self.runs.setdefault(name, []).append(result)

    def one_run(self, weights: Path, run: int, *, with_docker: bool) -> None:
        """Every side once, in an order that starts at another side each run."""
        base = self.base()
        artifacts = str(self.artifacts)
        oci = self.work / f"oci-{run}"
        _write_layout(self.artifacts, base, oci, self.work / f"state-oci-{run}")

        def floor() -> None:
            self.keep("floor", measure(__file__, "floor", str(weights)))

        def build() -> None:
            state = str(self.work / f"s{run}")
            self.keep("build", measure(__file__, "build", artifacts, base, "-", state))

        def build_unknown() -> None:
            state = str(self.work / f"u{run}")
            result = measure(__file__, "build-unknown", artifacts, base, "-", state)
            self.keep("build, sums unknown", result)

        def build_push() -> None:
            target = self.registry().host
            state = str(self.work / f"state-push-{run}")
            self.keep("build+push", measure(__file__, "build", artifacts, base, target, state))
            again = measure(__file__, "build", artifacts, base, target, state)
            assert again["uploaded"] == 0, again
            self.keep("rebuild+push", again)

        def skopeo() -> None:
            destination = f"docker://{self.registry().host}/bench/model:1.0.0-rc.1"
            command = ["skopeo", "--insecure-policy", "copy", "--preserve-digests"]
            source = f"oci:{oci}:1.0.0-rc.1"
            self.keep(
                "skopeo copy", timed([*command, "--dest-tls-verify=false", source, destination])
            )

        sides = {
            "floor": floor,
            "build": build,
            "build, sums unknown": build_unknown,
            "build+push": build_push,
            "skopeo copy": skopeo,
        }
        if with_docker:
            sides["docker"] = self.docker
        for name in rotated(list(sides), run):
            sides[name]()

    def docker(self) -> None:
        from tests.services import DockerEngine

        if self.engine is None:
            self.engine = DockerEngine(self.work / "docker")
            self.engine.start()
            self.docker_base = self.base()
            self.engine.docker("pull", self.docker_base)
            (self.artifacts / "Dockerfile").write_text(
                f"FROM {self.docker_base}\nCOPY model.bin /model/\n"
            )
        environ = {**os.environ, "DOCKER_HOST": self.engine.host, "DOCKER_BUILDKIT": "1"}
        tag = f"{self.registry().host}/bench/model:docker"
        docker = "/usr/bin/docker"
        build = timed([docker, "build", "--no-cache", "-t", tag, str(self.artifacts)], environ)
        push = timed([docker, "push", tag], environ)
        self.keep("docker build", build)
        self.keep("docker push", push)
        self.keep(
            "docker build+push",
            {key: build[key] + push[key] for key in ("seconds", "cpu_seconds")},
        )
        self.engine.docker("image", "rm", "-f", tag)

    def figures(self, model_bytes: int, runs: int) -> dict[str, Any]:
        wall = {name: [r["seconds"] for r in found] for name, found in self.runs.items()}
        cpu = {
            name: [r.get("cpu_seconds", 0.0) for r in found] for name, found in self.runs.items()
        }
        figures: dict[str, Any] = {
            "model_bytes": model_bytes,
            "runs": runs,
            "seconds": {name: spread(values) for name, values in wall.items()},
            "cpu_seconds": {name: spread(values) for name, values in cpu.items()},
        }
        ratios = {
            "build_vs_floor": ("build", "floor"),
            "build_sums_unknown_vs_floor": ("build, sums unknown", "floor"),
            "build_push_vs_skopeo": ("build+push", "skopeo copy"),
            "docker_vs_build_push": ("docker build+push", "build+push"),
        }
        for key, (mine, theirs) in ratios.items():
            if mine in wall and theirs in wall:
                figures[key] = paired(wall[mine], wall[theirs])
                if key != "docker_vs_build_push":  # dockerd's CPU is not the client's
                    figures[key + "_cpu"] = paired(cpu[mine], cpu[theirs])
        figures["rebuild_push_seconds"] = spread(wall["rebuild+push"])
        figures["peak_rss_mib_build_push"] = round(
            max(r["peak_rss_bytes"] for r in self.runs["build+push"]) / 2**20
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
    parser.add_argument(
        "--load", type=int, default=0, help="busy processes beside the measurement (a core each)"
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child)
        return
    weights = model_file(arguments.mib)
    bench = Bench(weights)
    # Another job on the runner: each spins a core for the whole measurement.
    load = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(arguments.load)
    ]
    try:
        measure(__file__, "floor", str(weights))  # a cold page cache is paid here, uncounted
        for run in range(arguments.runs):
            bench.one_run(weights, run, with_docker=not arguments.skip_docker)
        figures = bench.figures(weights.stat().st_size, arguments.runs)
        print(json.dumps({**figures, "load": arguments.load}))
    finally:
        for process in load:
            process.kill()
            process.wait()
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
