"""`mlops-ci version next` on a repository with thousands of tags, beside gto.

    python benchmarks/version_next.py [--tags 5000] [--gto-tags 1500] [--runs 5]

Target (issue: versions and tracking): under 0.5 s with 5,000 tags. The anchor tool, gto
(`gto show`), took 11.4 s at 1,500 tags on this machine (shared/CALIBRATION.md); it runs
here in the same session on a repository of --gto-tags tags in its own tag format, in a
virtual environment of its own under benchmarks/results/ (made on first use from PyPI).
--gto-tags 0 skips it. Every command (gto as often as ours) runs once a run, in an order
that starts at another command each run, after an uncounted round; figures are medians
beside min and max, wall and CPU time, and gto's is the median of paired ratios (issue 22).

Repositories are made with one `git fast-import`: releases 1.N.0, each after four
candidates, all annotated tags named `{name}@v{version}` (gto's format, which the manifest
then uses too).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from child import interleaved, paired, spread

PROJECT = Path(__file__).resolve().parent.parent
MODEL = "churn-classifier"
CANDIDATES_PER_RELEASE = 4


def make_repository(folder: Path, tags: int) -> Path:
    folder.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(folder)], check=True)
    manifest = (PROJECT / "examples" / "churn" / "mlops.yaml").read_text()
    manifest = manifest.replace('tag: "{name}@{version}"', 'tag: "{name}@v{version}"')
    releases = tags // (CANDIDATES_PER_RELEASE + 1)
    manifest = manifest.replace("version: 1.43.13", f"version: 1.{releases - 1}.0")
    content = manifest.encode()
    stream = (
        b"commit refs/heads/main\nmark :1\n"
        b"committer T <t@example.com> 1700000000 +0000\ndata 4\ninit\n"
        b"M 644 inline mlops.yaml\n" + f"data {len(content)}\n".encode() + content + b"\n"
    )
    made = 0
    for release in range(releases):
        names = [f"1.{release}.0-rc.{n}" for n in range(1, CANDIDATES_PER_RELEASE + 1)]
        for name in [*names, f"1.{release}.0"]:
            if made == tags:
                break
            stream += (
                f"tag {MODEL}@v{name}\nfrom :1\n"
                f"tagger T <t@example.com> {1700000000 + made} +0000\ndata 2\nok\n"
            ).encode()
            made += 1
    subprocess.run(["git", "-C", str(folder), "fast-import", "--quiet"], input=stream, check=True)
    subprocess.run(["git", "-C", str(folder), "checkout", "-q", "main"], check=True)
    return folder


def gto_executable() -> Path:
    venv = PROJECT / "benchmarks" / "results" / "gto-venv"
    executable = venv / "bin" / "gto"
    if not executable.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "gto==1.10.1"], check=True)
    return executable


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--tags", type=int, default=5000, help="tags in the repository")
    parser.add_argument("--gto-tags", type=int, default=1500, help="tags for gto (0: skip)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    arguments = parser.parse_args()
    mlops_ci = [
        str(Path(sys.executable).with_name("mlops-ci")),
        "version",
        "next",
        "--no-tracking",
        "--json",
    ]
    figures: dict[str, object] = {"tags": arguments.tags, "gto_tags": arguments.gto_tags}
    with tempfile.TemporaryDirectory() as temporary:
        big = make_repository(Path(temporary) / "big", arguments.tags)
        answer = json.loads(
            subprocess.run(mlops_ci, cwd=big, capture_output=True, check=True).stdout
        )
        commands = {
            "version next": (mlops_ci, big),
            "python -c pass": ([sys.executable, "-c", "pass"], big),
        }
        if arguments.gto_tags:
            small = make_repository(Path(temporary) / "small", arguments.gto_tags)
            commands["version next, gto's tags"] = (mlops_ci, small)
            commands["gto show"] = ([str(gto_executable()), "show", MODEL], small)
        wall, cpu = interleaved(commands, arguments.runs)
    figures["seconds"] = {name: spread(values) for name, values in wall.items()}
    figures["cpu_seconds"] = {name: spread(values) for name, values in cpu.items()}
    figures["version_next_s"] = statistics.median(wall["version next"])
    figures["python_c_pass_s"] = statistics.median(wall["python -c pass"])
    if arguments.gto_tags:
        figures["gto_vs_version_next"] = paired(wall["gto show"], wall["version next, gto's tags"])
        figures["gto_vs_version_next_cpu"] = paired(
            cpu["gto show"], cpu["version next, gto's tags"]
        )
    print(
        f"version next with {arguments.tags} tags: {figures['version_next_s']:.3f} s "
        f"(target < 0.5 s; python -c pass {figures['python_c_pass_s']:.3f} s) -> "
        f"{answer['candidate']}"
    )
    print(json.dumps(figures))
    shutil.rmtree(PROJECT / "benchmarks" / "results" / "tmp", ignore_errors=True)


if __name__ == "__main__":
    main()
