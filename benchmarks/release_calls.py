"""GitHub API calls of `mlops-ci release pr`, counted by the test suite's fake GitHub
(GitHub itself cannot be reached from here) over a real bare repository, with a real
registry holding the candidates' images.

    python benchmarks/release_calls.py

Budget (issue: GitOps release): a new release pull request at most 12 calls; an update for
a new candidate at most 8; a re-run with nothing changed at most 3 reads and 0 writes.
The counts are exact, so nothing is paired; each step's wall and CPU time (this process's:
the fake GitHub answers from a thread of it, so its work is counted too) are printed beside
them for reference.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))


def mlops_ci(*arguments: str, environ: dict[str, str]) -> str:
    from mlops_ci.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    status = main(list(arguments), environ=environ, stdout=out, stderr=err)
    if status != 0:
        raise SystemExit(
            f"mlops-ci {' '.join(arguments[:2])} exited {status}:\n{err.getvalue()}{out.getvalue()}"
        )
    return out.getvalue()


def git(folder: Path, *arguments: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=bench",
         "-c", "user.email=bench@localhost", *arguments],
        check=True, capture_output=True,
    )  # fmt: skip


def candidate(repository: Path, environ: dict[str, str]) -> None:
    manifest = str(repository / "mlops.yaml")
    mlops_ci("run", "-f", manifest, "--no-tracking", environ=environ)
    mlops_ci("image", "build", "-f", manifest, environ=environ)
    mlops_ci("image", "push", "-f", manifest, environ=environ)
    git(repository, "push", "-q", "origin", "HEAD:main")


def main() -> None:
    from tests.github.fake import TOKEN, FakeGitHub
    from tests.services import RegistryServer, busybox_layout, skopeo

    work = Path(tempfile.mkdtemp(prefix="mlops-ci-bench-release-"))
    registry = RegistryServer(work / "registry")
    fake = None
    try:
        registry.start()
        base = f"{registry.host}/library/busybox:bench"
        layout = busybox_layout(work / "busybox")
        assert (
            skopeo(
                "copy", "--dest-tls-verify=false", f"oci:{layout}:test", f"docker://{base}"
            ).returncode
            == 0
        )
        repository = work / "repo"
        skipped = shutil.ignore_patterns("build", ".mlops-ci", "__pycache__")
        shutil.copytree(PROJECT / "examples" / "churn", repository, ignore=skipped)
        image = f"{registry.host}/acme/bench-model"
        for path in [repository / "mlops.yaml", *(repository / "deploy").rglob("*.*")]:
            text = path.read_text().replace("ghcr.io/acme/churn-model", image)
            path.write_text(text.replace("docker.io/library/busybox:1.36", base))
        git(repository, "init", "-q", "-b", "main")
        git(repository, "add", "-A")
        git(repository, "commit", "-q", "-m", "feat: the model")
        bare = work / "origin.git"
        subprocess.run(["git", "clone", "-q", "--bare", str(repository), str(bare)], check=True)
        git(repository, "remote", "add", "origin", str(bare))
        environ = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HOME": os.environ.get("HOME", "/root"),
        }
        candidate(repository, environ)
        fake = FakeGitHub(bare)
        github = {
            **environ,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": "acme/models",
            "GITHUB_API_URL": fake.url,
            "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
        }
        figures: dict[str, Any] = {}
        manifest = str(repository / "mlops.yaml")
        for step in ("new", "update", "rerun"):
            if step == "update":
                (repository / "notes.txt").write_text("a change\n")
                git(repository, "add", "-A")
                git(repository, "commit", "-q", "-m", "fix: a change")
                candidate(repository, environ)
            before = len(fake.calls)
            began, used = time.perf_counter(), time.process_time()
            mlops_ci("release", "pr", "-f", manifest, environ=github)
            seconds, cpu = time.perf_counter() - began, time.process_time() - used
            calls = fake.calls[before:]
            figures[step] = {
                "seconds": round(seconds, 3),
                "cpu_seconds": round(cpu, 3),
                "calls": len(calls),
                "reads": sum(1 for method, _ in calls if method == "GET"),
                "writes": sum(1 for method, _ in calls if method != "GET"),
                "sequence": [f"{method} {path}" for method, path in calls],
            }
        if fake.schema_errors:
            raise SystemExit(
                f"the fake answered off GitHub's description: {fake.schema_errors[:3]}"
            )
        print(json.dumps(figures))
    finally:
        if fake is not None:
            fake.stop()
        registry.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
