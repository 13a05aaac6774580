"""Our image in a real Docker engine: pulled from the registry, loaded without one, and run
as a Kubernetes initContainer would run it, over a volume."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.conftest import ENVIRON, CliRunner
from tests.image.conftest import use_image
from tests.services import DockerEngine, RegistryServer, skopeo


def test_deploy_sh_in_docker_run(
    built_candidate: Path,
    registry: RegistryServer,
    base_image: str,
    docker_engine: DockerEngine,
    cli: CliRunner,
    tmp_path: Path,
) -> None:
    use_image(built_candidate, f"{registry.host}/acme/docker-model", base_image)
    artifacts = built_candidate / "build" / "model"
    (artifacts / "assets" / "extra").mkdir(parents=True)  # empty folders ship as they are
    manifest = str(built_candidate / "mlops.yaml")
    built = cli("image", "build", "-f", manifest, "--json", "--load",
                environ={**ENVIRON, "DOCKER_HOST": docker_engine.host})  # fmt: skip
    assert built.status == 0, built.err
    summary = json.loads(built.out)
    version = summary["version"]
    assert cli("image", "push", "-f", manifest).status == 0

    reference = f"{registry.host}/acme/docker-model:{version}"
    pulled = docker_engine.docker("pull", reference)
    assert pulled.returncode == 0, pulled.stderr
    digests = docker_engine.docker(
        "image", "inspect", "--format", "{{json .RepoDigests}}", reference
    )
    assert summary["digest"] in digests.stdout

    volume = tmp_path / "model"
    volume.mkdir()
    run = ["run", "--rm", "--network", "none", "-v", f"{volume}:/model", reference]
    first = docker_engine.docker(*run, check=False)
    assert first.returncode == 0, first.stderr
    assert "deployed" in first.stderr
    deployed = volume / version
    shipped = sorted(p.relative_to(artifacts) for p in artifacts.rglob("*"))
    assert Path("assets/extra") in shipped
    assert sorted(p.relative_to(deployed) for p in deployed.rglob("*")) == shipped
    shipped = [path for path in shipped if (artifacts / path).is_file()]
    for path in shipped:
        assert (deployed / path).read_bytes() == (artifacts / path).read_bytes()
    assert (volume / "current").resolve() == deployed.resolve()
    assert {p.name for p in volume.iterdir()} == {"current", version}  # nothing half-copied

    second = docker_engine.docker(*run, check=False)
    assert second.returncode == 0, second.stderr
    assert "already" in second.stderr
    assert "nothing to do" in second.stderr

    full = docker_engine.docker(
        "run", "--rm", "--network", "none",
        "--mount", "type=tmpfs,destination=/model,tmpfs-size=4096", reference,
        "/bin/sh", "-c", "head -c 4096 /dev/zero > /model/filler; /bin/sh /deploy.sh /model",
        check=False,
    )  # fmt: skip
    assert full.returncode == 1
    assert "is the volume full?" in full.stderr
    assert "nothing was deployed" in full.stderr

    # The image loaded without a registry runs the same.
    loaded = docker_engine.docker(
        "run", "--rm", "--network", "none", "-v", f"{tmp_path / 'other'}:/model",
        f"churn-classifier:{version}",
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr


def loaded(cli: CliRunner, repository: Path, image: str, base: str, environ: dict[str, str]) -> str:
    """The candidate's image built and loaded into the engine; its version."""
    use_image(repository, image, base)
    built = cli("image", "build", "-f", str(repository / "mlops.yaml"), "--json", "--load",
                environ=environ)  # fmt: skip
    assert built.status == 0, built.err
    return str(json.loads(built.out)["version"])


def test_a_corrupt_model_file_deploys_nothing(
    built_candidate: Path,
    registry: RegistryServer,
    base_image: str,
    docker_engine: DockerEngine,
    cli: CliRunner,
    tmp_path: Path,
) -> None:
    environ = {**ENVIRON, "DOCKER_HOST": docker_engine.host}
    version = loaded(
        cli, built_candidate, f"{registry.host}/acme/broken-model", base_image, environ
    )
    # The layer as the engine unpacked it: change the model file's bytes on disk.
    layer_files = [
        path
        for path in (docker_engine.folder / "data").glob("overlay2/*/diff/opt/mlops-ci/model/*")
        if path.is_file()
    ]
    assert layer_files
    # Layers are shared by digest with the other tests' images: put the bytes back after.
    originals = {path: path.read_bytes() for path in layer_files}
    for path in layer_files:
        path.write_bytes(originals[path][:-1] + b"!")
    volume = tmp_path / "model"
    volume.mkdir()
    try:
        run = docker_engine.docker(
            "run", "--rm", "--network", "none", "-v", f"{volume}:/model",
            f"churn-classifier:{version}", check=False,
        )  # fmt: skip
    finally:
        for path, data in originals.items():
            path.write_bytes(data)
    assert run.returncode != 0
    assert "corrupt" in run.stderr
    assert "FAILED" in run.stderr
    assert list(volume.iterdir()) == []  # no version folder, no partial copy, no link
    docker_engine.docker("rmi", "-f", f"churn-classifier:{version}")


def test_the_docker_backend_runs_dockerfile_steps(
    built_candidate: Path,
    registry: RegistryServer,
    base_image: str,
    docker_engine: DockerEngine,
    cli: CliRunner,
    tmp_path: Path,
) -> None:
    (built_candidate / "Dockerfile.model").write_text(
        "ARG BASE\nFROM ${BASE}\nRUN echo 'a step only a Dockerfile has' > /extra.txt\n"
        "COPY model/ /opt/mlops-ci/model/\nCOPY deploy/ /\n"
        'CMD ["/bin/sh", "/deploy.sh", "/model"]\n'
    )
    use_image(built_candidate, f"{registry.host}/acme/dockerfile-model", base_image,
              dockerfile="Dockerfile.model")  # fmt: skip
    (built_candidate / "build" / "model" / "assets").mkdir()
    manifest = str(built_candidate / "mlops.yaml")
    environ = {
        **ENVIRON,
        "DOCKER_HOST": docker_engine.host,
        "MLOPS_CI_DOCKER_BUILD_NETWORK": "none",
    }
    built = cli("image", "build", "-f", manifest, "--json", environ=environ)
    assert built.status == 0, built.err
    summary = json.loads(built.out)
    assert summary["id"].startswith("sha256:")
    refused = cli("image", "build", "-f", manifest, "--output", "oci:x", environ=environ)
    assert refused.status == 2
    assert "need the oci backend" in refused.err

    pushed = cli("image", "push", "-f", manifest, "--json", environ=environ)
    assert pushed.status == 0, pushed.err
    result = json.loads(pushed.out)
    reference = result["reference"].rsplit("@", 1)[0]
    inspected = skopeo("inspect", "--tls-verify=false", f"docker://{reference}")
    assert json.loads(inspected.stdout)["Digest"] == result["digest"]

    volume = tmp_path / "model"
    run = docker_engine.docker(
        "run", "--rm", "--network", "none", "-v", f"{volume}:/model", reference,
        "/bin/sh", "-c", "cat /extra.txt && /bin/sh /deploy.sh /model",
    )  # fmt: skip
    assert "a step only a Dockerfile has" in run.stdout
    assert "every file verified" in run.stderr
    assert (volume / "current" / "model.json").exists()
    assert (volume / "current" / "assets").is_dir()


def test_deploy_sh_run_four_times_at_once_on_one_volume_converges(
    built_candidate: Path,
    registry: RegistryServer,
    base_image: str,
    docker_engine: DockerEngine,
    cli: CliRunner,
    tmp_path: Path,
) -> None:
    """Pods sharing a volume, or Nomad allocations a host volume: $$ is 1 in each."""
    environ = {**ENVIRON, "DOCKER_HOST": docker_engine.host}
    version = loaded(
        cli, built_candidate, f"{registry.host}/acme/shared-model", base_image, environ
    )
    volume, barrier = tmp_path / "model", tmp_path / "barrier"
    volume.mkdir()
    barrier.mkdir()
    # Each waits until all four are up, then becomes deploy.sh as PID 1 (so $$ is 1).
    start_together = (
        "touch /barrier/up.$(hostname); while [ ! -e /barrier/go ]; do :; done; "
        "exec /bin/sh /deploy.sh /model"
    )
    run = ("run", "--rm", "--network", "none", "-v", f"{volume}:/model",
           "-v", f"{barrier}:/barrier", f"churn-classifier:{version}",
           "/bin/sh", "-c", start_together)  # fmt: skip
    artifacts = built_candidate / "build" / "model"
    shipped = {
        p.relative_to(artifacts): p.read_bytes() for p in artifacts.rglob("*") if p.is_file()
    }

    def four_at_once() -> None:
        for mark in barrier.iterdir():
            mark.unlink()
        with ThreadPoolExecutor(4) as pool:
            started = [pool.submit(docker_engine.docker, *run, check=False) for _ in range(4)]
            deadline = time.monotonic() + 120
            while len(list(barrier.glob("up.*"))) < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            (barrier / "go").touch()
            runs = [future.result() for future in started]
        assert [r.returncode for r in runs] == [0] * 4, [r.stderr for r in runs]
        assert {p.name for p in volume.iterdir()} == {"current", version}  # one copy, no leftovers
        current = volume / "current"
        assert current.resolve() == (volume / version).resolve()
        found = {p.relative_to(current.resolve()): p.read_bytes()
                 for p in current.resolve().rglob("*") if p.is_file()}  # fmt: skip
        assert found == shipped

    four_at_once()
    # A copy that fails its check (changed on the volume) is replaced by all four at once.
    victim = next(path for path in (volume / version).rglob("*") if path.is_file())
    victim.write_bytes(b"changed on the volume")
    four_at_once()
