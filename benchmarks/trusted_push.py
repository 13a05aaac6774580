"""Trusted model images: what the ModelPack artifact, the signature, the three attestations
(SLSA provenance, gates, the CycloneDX ML-BOM) cost a push of a 2 GiB model, as a user runs
`mlops-ci image push`: whole processes, each to a registry started empty for it.

    python benchmarks/trusted_push.py [--mib 2048] [--runs 3]

Three pushes of the same built candidate, once a round each, each first in turn, after an
uncounted round (issue 22); wall and CPU time (the push's processes; the registry's is not
counted), and the costs as medians of each round's paired differences, beside min and max:
- plain: release.image.modelpack false, no signing (the baseline);
- modelpack: the push also writes the ModelPack artifact;
- trusted: modelpack, and release.image.signing with the key in the environment, so the
  push signs and attests the image and its ModelPack artifact in the same process.
Then `mlops-ci image sign` alone on a freshly pushed image (a process of its own), beside
`mlops-ci --version` (the cold start every command pays).

Targets (issue: trusted model images): signing, attesting and the BOM add at most 0.3 s to
the push; the ModelPack artifact adds no weight blob: the registry's storage grows by its
manifest, config and the referrers index only (bytes counted on disk).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(HERE))

from child import differences, paired, rotated, spread, timed  # noqa: E402
from image import model_file  # noqa: E402  (the image benchmark's 2 GiB of random bytes)

MANIFEST = """\
apiVersion: mlops-ci/v1
model: {{name: bench-model, version: 1.0.0, description: a 2 GiB model}}
build:
  command: python link.py {{artifacts}}
  artifacts: build/model
release:
  image:
    repository: {repository}
    base: {base}
    modelpack: {modelpack}
{signing}"""

LINK = """\
import os, sys
os.makedirs(sys.argv[1], exist_ok=True)
os.link(os.environ["BENCH_WEIGHTS"], os.path.join(sys.argv[1], "model.bin"))
"""


def mlops_ci() -> str:
    return str(Path(sys.executable).with_name("mlops-ci"))


def blob_bytes(server: Any) -> dict[str, int]:
    """Every blob the registry stores on disk, by digest, with its size."""
    found = {}
    for data in (server.folder / "data").rglob("data"):
        if data.parent.parent.parent.name == "sha256":
            found["sha256:" + data.parent.name] = data.stat().st_size
    return found


class Bench:
    def __init__(self, weights: Path) -> None:
        from tests.services import busybox_layout

        self.work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-trusted-"))
        self.weights = weights
        self.servers: list[Any] = []
        self.repository = self.work / "repo"
        self.repository.mkdir()
        self.layout = busybox_layout(self.work / "busybox")
        self.key, self.public = self._keys()
        self.environ = {
            **os.environ,
            "BENCH_WEIGHTS": str(weights),
            "MLOPS_CI_PUSH": "false",
            "GIT_AUTHOR_NAME": "bench",
            "GIT_AUTHOR_EMAIL": "bench@localhost",
            "GIT_COMMITTER_NAME": "bench",
            "GIT_COMMITTER_EMAIL": "bench@localhost",
        }
        # An installed package has its bytecode compiled; without it every process would
        # compile the modules it imports, which no user pays.
        self.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        self.environ.pop("MLOPS_CI_SIGNING_KEY", None)
        self.environ.pop("MLOPS_CI_SIGNING_KEY_FILE", None)

    def _keys(self) -> tuple[Path, Path]:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = ec.generate_private_key(ec.SECP256R1())
        private = self.work / "release.key"
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        public = self.work / "cosign.pub"
        public.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        return private, public

    def registry(self) -> Any:
        from tests.services import RegistryServer

        server = RegistryServer(self.work / f"registry-{len(self.servers)}")
        server.start()
        self.servers.append(server)
        return server

    def write_manifest(self, repository: str, *, modelpack: bool, signing: bool) -> None:
        (self.repository / "mlops.yaml").write_text(
            MANIFEST.format(
                repository=repository,
                base=self.base,
                modelpack="true" if modelpack else "false",
                signing="    signing: {public_key: cosign.pub}\n" if signing else "",
            )
        )

    def prepare(self) -> None:
        """A git repository whose candidate is built and its image built: what CI has done
        before the push."""
        from tests.services import skopeo

        self.base = f"{self.registry().host}/library/busybox:test"
        copied = skopeo(
            "copy", "--dest-tls-verify=false", f"oci:{self.layout}:test", f"docker://{self.base}"
        )  # fmt: skip
        assert copied.returncode == 0, copied.stderr
        (self.repository / "link.py").write_text(LINK)
        shutil.copy(self.public, self.repository / "cosign.pub")
        (self.repository / ".gitignore").write_text("build/\n")
        self.write_manifest("127.0.0.1:1/bench/model", modelpack=True, signing=False)
        for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "model"]):
            subprocess.run(["git", *command], cwd=self.repository, env=self.environ, check=True)
        manifest = str(self.repository / "mlops.yaml")
        timed([mlops_ci(), "build", "-f", manifest, "--no-tracking"], self.repository, self.environ)
        timed([mlops_ci(), "image", "build", "-f", manifest], self.repository, self.environ)

    def push(self, kind: str) -> dict[str, Any]:
        """One push of the candidate, whole process, to a registry started empty."""
        server = self.registry()
        self.write_manifest(
            f"{server.host}/bench/model", modelpack=kind != "plain", signing=kind == "trusted"
        )
        environ = dict(self.environ)
        if kind == "trusted":
            environ["MLOPS_CI_SIGNING_KEY_FILE"] = str(self.key)
        manifest = str(self.repository / "mlops.yaml")
        command = [mlops_ci(), "image", "push", "-f", manifest, "--json"]
        # The push before this one left gigabytes to write back; written now, they are not
        # this push's time (without it, the third push of a round was the slowest).
        os.sync()
        seconds, cpu = timed(command, self.repository, environ)
        return {"seconds": seconds, "cpu": cpu, "blobs": blob_bytes(server), "server": server}

    def sign_alone(self) -> tuple[float, float]:
        """`image sign` as its own process, on an image pushed (untimed) just before."""
        server = self.registry()
        self.write_manifest(f"{server.host}/bench/model", modelpack=True, signing=False)
        manifest = str(self.repository / "mlops.yaml")
        timed([mlops_ci(), "image", "push", "-f", manifest], self.repository, self.environ)
        environ = {**self.environ, "MLOPS_CI_SIGNING_KEY_FILE": str(self.key)}
        return timed([mlops_ci(), "image", "sign", "-f", manifest], self.repository, environ)

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        shutil.rmtree(self.work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=2048, help="the model's size")
    parser.add_argument("--runs", type=int, default=3)
    arguments = parser.parse_args()
    weights = model_file(arguments.mib)
    bench = Bench(weights)
    kinds = ["plain", "modelpack", "trusted"]
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    cpu: dict[str, list[float]] = {kind: [] for kind in kinds}
    added_bytes: list[int] = []
    added_blobs: list[int] = []
    added_big: list[int] = []
    sign_alone: list[tuple[float, float]] = []
    cold: list[tuple[float, float]] = []
    try:
        bench.prepare()
        for run in range(arguments.runs + 1):  # each first in turn; round 0 is not counted
            results = {kind: bench.push(kind) for kind in rotated(kinds, run)}
            for kind, result in results.items():
                if run:
                    seconds[kind].append(result["seconds"])
                    cpu[kind].append(result["cpu"])
                print(
                    f"  run {run} {kind:9} {result['seconds']:7.2f} s, "
                    f"CPU {result['cpu']:6.2f} s" + ("" if run else " (not counted)"),
                    file=sys.stderr,
                )
            plain, packed = results["plain"]["blobs"], results["modelpack"]["blobs"]
            new = {d: size for d, size in packed.items() if d not in plain}
            added_bytes.append(sum(new.values()))
            added_blobs.append(len(new))
            added_big.append(sum(size for size in new.values() if size > 64 << 10))
            for result in results.values():
                result["server"].stop()
                shutil.rmtree(result["server"].folder, ignore_errors=True)
            signed = bench.sign_alone()
            started = timed([mlops_ci(), "--version"], bench.repository, bench.environ)
            if run:
                sign_alone.append(signed)
                cold.append(started)
        signing_added = differences(seconds["trusted"], seconds["modelpack"])
        modelpack_added = differences(seconds["modelpack"], seconds["plain"])
        signing_cpu = differences(cpu["trusted"], cpu["modelpack"])
        sign_over = differences([s[0] for s in sign_alone], [c[0] for c in cold])
        figures = {
            "model_bytes": weights.stat().st_size,
            "runs": arguments.runs,
            "push_plain_s": round(statistics.median(seconds["plain"]), 3),
            "push_modelpack_s": round(statistics.median(seconds["modelpack"]), 3),
            "push_trusted_s": round(statistics.median(seconds["trusted"]), 3),
            "seconds": {kind: spread(values) for kind, values in seconds.items()},
            "cpu_seconds": {kind: spread(values) for kind, values in cpu.items()},
            "modelpack_added_s": round(statistics.median(modelpack_added), 3),
            "modelpack_added": spread(modelpack_added),
            "signing_added_s": round(statistics.median(signing_added), 3),
            "signing_added": spread(signing_added),
            "signing_added_cpu": spread(signing_cpu),
            "trusted_vs_plain": paired(seconds["trusted"], seconds["plain"]),
            "image_sign_process_s": round(statistics.median(s[0] for s in sign_alone), 3),
            "image_sign_cpu_s": round(statistics.median(s[1] for s in sign_alone), 3),
            "cold_start_s": round(statistics.median(c[0] for c in cold), 3),
            "image_sign_over_cold_start": spread(sign_over),
            "modelpack_added_blob_bytes": max(added_bytes),
            "modelpack_added_blobs": max(added_blobs),
            "modelpack_added_blobs_over_64k_bytes": max(added_big),
        }
        print(json.dumps(figures))
    finally:
        bench.close()


if __name__ == "__main__":
    main()
