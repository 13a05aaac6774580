"""`mlops-ci report`: the HTML dashboard opened in a real headless Chromium, the Markdown
and JSON forms, a report from a fresh clone (git alone), and one where only MLflow remembers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ENVIRON, PROJECT, CliRunner, commit, git, records_of
from tests.report.browser import Page
from tests.report.synthetic import MODEL, observations, write_history

# Where the browser test keeps its screenshot (CI can upload it).
SCREENSHOTS = Path(os.environ.get("MLOPS_CI_SCREENSHOTS", PROJECT / "build" / "screenshots"))


@pytest.fixture
def with_history(example_copy: Path) -> Path:
    """The example with 40 candidates and 30 observations on record (in git, where the
    lifecycle and monitor keep them)."""
    commit(example_copy, "feat: the churn model")
    head = git(example_copy, "rev-parse", "HEAD").strip()
    write_history(example_copy, 40, commit=head)
    store = records_of(example_copy)
    for observation in observations(30):
        store.add_observation(observation)
    return example_copy


@pytest.mark.slow
def test_the_html_dashboard_draws_every_chart_in_chromium(
    cli: CliRunner, with_history: Path
) -> None:
    page_file = with_history / "dashboard.html"
    done = cli(
        "report", "-f", str(with_history / "mlops.yaml"), "-o", str(page_file), environ=ENVIRON
    )
    assert done.status == 0, done.err
    text = page_file.read_text()
    # Self-contained: nothing to fetch, no script at all.
    assert "<script" not in text.lower()
    assert re.findall(r"\b(?:src|href)=", text) == []
    assert set(re.findall(r"https?://[^\s\"'<]+", text)) == {"http://www.w3.org/2000/svg"}

    page = Page()
    try:
        page.open(page_file.as_uri())
        assert page.problems() == []
        assert page.requests() == [page_file.as_uri()]
        charts = page.evaluate(
            "[...document.querySelectorAll('svg.chart')].map(s => {"
            " const box = s.getBoundingClientRect();"
            " return {chart: s.dataset.chart, points: +s.dataset.points,"
            " width: box.width, height: box.height,"
            " drawn: s.querySelectorAll('polyline, rect, circle').length}; })"
        )
        by_name = {c["chart"]: c for c in charts}
        for chart in charts:
            assert chart["width"] > 200, chart
            assert chart["height"] > 40, chart
            assert chart["drawn"] > 0, chart
        assert by_name[f"timeline:{MODEL}"]["points"] == 40
        assert by_name[f"timeline:{MODEL}"]["drawn"] == 40
        for name in ("accuracy", "f1", "log_loss", "roc_auc"):
            assert by_name[f"metric:{MODEL}:{name}"]["points"] == 40
        # the 6 that failed their test were never validated: no measures
        for name in ("size_mib", "p95_ms", "peak_rss_mib"):
            assert by_name[f"measure:{MODEL}:{name}"]["points"] == 34
        assert by_name[f"gates:{MODEL}"]["points"] == 6
        assert by_name[f"time:{MODEL}:latency_p95_ms"]["points"] == 30
        assert by_name[f"time:{MODEL}:error_rate"]["points"] == 30
        # Failed candidates are marked in the charts over versions, as releases are.
        marks = page.evaluate(
            "[...document.querySelectorAll('svg.chart')].map(s => [s.dataset.chart,"
            " [...s.querySelectorAll('circle.mark')].map(c => c.dataset.state)])"
        )
        by_chart = dict(marks)
        assert sorted(by_chart[f"metric:{MODEL}:accuracy"]) == ["failed"] * 6 + ["released"] * 2
        assert by_chart[f"measure:{MODEL}:p95_ms"] == ["released"] * 2  # failed: not measured
        for width in (1400, 1000, 700):
            page.open(page_file.as_uri(), width=width)
            assert _cut_or_tiny_text(page) == [], width
        page.open(page_file.as_uri())
        breaches = page.evaluate("document.querySelectorAll('table')[1].rows.length")
        assert breaches == 1 + 4  # two observations, two kinds each
        shot = page.screenshot(SCREENSHOTS / "dashboard.png")
        assert shot.startswith(b"\x89PNG")

        page.open(page_file.as_uri(), javascript=False)
        assert page.problems() == []
        without = page.screenshot(SCREENSHOTS / "dashboard-no-javascript.png")
        assert without == shot  # the same pixels: nothing waits on a script
    finally:
        page.close()


# Every text of every chart: [chart, text, what is wrong] when its box leaves the chart's
# box, or when it is drawn smaller than 10 CSS pixels (the chart scaled down).
_TEXT_PROBLEMS = """
[...document.querySelectorAll('svg.chart')].flatMap(svg => {
  const box = svg.getBoundingClientRect();
  const scale = box.width / svg.viewBox.baseVal.width;
  return [...svg.querySelectorAll('text')].flatMap(t => {
    const r = t.getBoundingClientRect();
    const size = parseFloat(getComputedStyle(t).fontSize) * scale;
    const found = [];
    if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5
        || r.bottom > box.bottom + 0.5) found.push('cut');
    if (size < 10) found.push('drawn at ' + size.toFixed(1) + ' px');
    return found.map(p => [svg.dataset.chart, t.textContent, p]);
  });
})
"""


def _cut_or_tiny_text(page: Page) -> list[list[str]]:
    found: list[list[str]] = page.evaluate(_TEXT_PROBLEMS)
    return found


def test_markdown_and_json(cli: CliRunner, with_history: Path) -> None:
    manifest = str(with_history / "mlops.yaml")
    md = cli("report", "-f", manifest, "--format", "md", environ=ENVIRON)
    assert md.status == 0, md.err
    assert md.out.startswith(f"### {MODEL}: 1.43.13 in production\n")
    assert "validated 25 · released 2 · failed 6 · expired 7" in md.out  # 40 candidates
    assert md.out.count("```mermaid\nxychart-beta") == 6
    assert "| `accuracy ≥ 0.9` | 34/40 |" in md.out
    assert "**Latest SLO breaches**" in md.out

    data = json.loads(cli("report", "-f", manifest, "--format", "json", environ=ENVIRON).out)
    (model,) = data["models"]
    states = [v["state"] for v in model["versions"]]
    assert len(states) == 40
    assert states.count("released") == 2
    assert [v["released_as"] for v in model["versions"] if v["released_as"]] == [
        "1.0.14",
        "1.1.9",
    ]
    assert len(model["observations"]) == 30
    assert model["key_metrics"][:4] == ["accuracy", "f1", "log_loss", "roc_auc"]
    rates = {(g["name"], g["rule"]): (g["passed"], g["measured"]) for g in model["gate_pass_rates"]}
    assert rates[("accuracy", "min")] == (34, 40)  # the 6 failed ones measured 0.87
    assert rates[("p95_ms", "max")] == (34, 34)


def test_a_fresh_clone_reports_from_git_alone(
    cli: CliRunner, shipped_example: Path, tmp_path: Path
) -> None:
    commit(shipped_example, "feat: the churn model")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(shipped_example), str(origin)], check=True)
    git(shipped_example, "remote", "add", "origin", str(origin))
    pushing = {**ENVIRON, "MLOPS_CI_PUSH": "true"}
    manifest = str(shipped_example / "mlops.yaml")
    ran = cli("run", "-f", manifest, environ=pushing)
    assert ran.status == 0, ran.err
    for latency in (12, 13):
        (shipped_example / "monitoring" / "metrics.json").write_text(
            json.dumps({"latency_p95_ms": latency, "error_rate": 0.001})
        )
        watched = cli("monitor", "-f", manifest, environ=pushing)
        assert watched.status == 0, watched.err
    fresh = tmp_path / "fresh"
    subprocess.run(["git", "clone", "-q", str(origin), str(fresh)], check=True)
    assert not (fresh / ".mlops-ci").exists()
    data = json.loads(
        cli("report", "-f", str(fresh / "mlops.yaml"), "--format", "json", environ=ENVIRON).out
    )
    # monitor's history is git's too: the fresh clone sees both observations, and its
    # own monitor run compares with them.
    observed = data["models"][0]["observations"]
    assert [o["metrics"]["latency_p95_ms"] for o in observed] == [12.0, 13.0]
    (fresh / "monitoring" / "metrics.json").write_text(
        '{"latency_p95_ms": 40, "error_rate": 0.001}'
    )
    jumped = cli("monitor", "-f", str(fresh / "mlops.yaml"), "--json", environ=ENVIRON)
    assert jumped.status == 1
    assert json.loads(jumped.out)["breaches"]["sudden-change"][0].startswith("latency_p95_ms rose")
    (version,) = data["models"][0]["versions"]
    assert (version["version"], version["state"]) == ("1.44.0-rc.1", "validated")
    assert version["stages"] == {
        "ingest": "passed",
        "build": "passed",
        "test": "passed",
        "validate": "passed",
    }
    assert version["metrics"]["accuracy"] > 0.9


def test_records_only_mlflow_has_are_reported(cli: CliRunner, example_copy: Path) -> None:
    """Runs logged before records lived in git (or whose ref was lost) still show."""
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    assert cli("run", "-f", manifest, environ=ENVIRON).status == 0
    git(example_copy, "update-ref", "-d", "refs/mlops-ci/records")
    data = json.loads(cli("report", "-f", manifest, "--format", "json", environ=ENVIRON).out)
    (version,) = data["models"][0]["versions"]
    assert (version["version"], version["state"]) == ("1.44.0-rc.1", "validated")
    alone = cli("report", "-f", manifest, "--format", "json", "--no-tracking", environ=ENVIRON)
    assert json.loads(alone.out)["models"][0]["versions"] == []


def test_one_report_for_every_model_of_a_repository(
    cli: CliRunner, repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from tests.conftest import EXAMPLE

    for name in ("churn-classifier", "upsell-ranker"):
        folder = repository / "models" / name
        shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("build", ".mlops-ci"))
        manifest = folder / "mlops.yaml"
        manifest.write_text(manifest.read_text().replace("churn-classifier", name))
    commit(repository, "feat: two models")
    monkeypatch.chdir(repository / "models")
    done = cli("report", "--all", "--no-tracking", "--format", "json", environ=ENVIRON)
    assert done.status == 0, done.err
    assert [m["model"] for m in json.loads(done.out)["models"]] == [
        "churn-classifier",
        "upsell-ranker",
    ]
    page = cli("report", "--all", "--no-tracking", environ=ENVIRON)
    assert "<title>2 models: dashboard</title>" in page.out
    assert page.out.count('<section class="model"') == 2
    monkeypatch.chdir(repository.parent)
    outside = cli("report", "--all", "--no-tracking", environ=ENVIRON)
    assert outside.status == 2


def test_names_from_records_cannot_inject_markup(cli: CliRunner, example_copy: Path) -> None:
    from datetime import UTC, datetime

    from mlops_ci.core.records import StageRecord

    commit(example_copy, "feat: the churn model")
    hostile = "<script>alert(1)</script>|x"
    when = datetime(2026, 11, 1, tzinfo=UTC)
    records_of(example_copy).write(
        StageRecord(
            model=MODEL, version="1.44.0-rc.1", stage="test", verdict="passed", state="tested",
            started_at=when, finished_at=when,
            metrics={hostile: 1.0, "accuracy": 0.95},
        )
    )  # fmt: skip
    manifest = str(example_copy / "mlops.yaml")
    page = cli("report", "-f", manifest, "--no-tracking", environ=ENVIRON).out
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;|x" in page
    md = cli("report", "-f", manifest, "--no-tracking", "--format", "md", environ=ENVIRON).out
    assert "| `&lt;script>alert(1)&lt;/script>\\|x` | — | 1 |  |" in md


def test_a_report_from_git_never_opens_mlflow(cli: CliRunner, example_copy: Path) -> None:
    """MLflow costs seconds to import and open; with the records in git it is not asked."""
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    assert cli("run", "-f", manifest, environ=ENVIRON).status == 0
    assert (example_copy / ".mlops-ci" / "mlflow.db").exists()  # tracking is on
    script = (
        "import sys; from mlops_ci.cli.main import main; "
        f"main(['report', '-f', {manifest!r}, '-o', 'd.html']); "
        "print('mlflow' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=example_copy, env={**os.environ, **ENVIRON},
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "False", done.stderr


def test_production_and_the_current_candidate_follow_the_history_checked_out(
    cli: CliRunner, shipped_example: Path
) -> None:
    """Production is shown with the candidate it came from even before publish ran (a
    release pull request merged), and the current candidate is never one reset away."""
    manifest = shipped_example / "mlops.yaml"
    first = commit(shipped_example, "feat: the churn model")

    def dashboard() -> dict[str, object]:
        done = cli("report", "-f", str(manifest), "--format", "json", environ=ENVIRON)
        assert done.status == 0, done.err
        (model,) = json.loads(done.out)["models"]
        found: dict[str, object] = model
        return found

    assert cli("run", "-f", str(manifest), "--no-tracking", environ=ENVIRON).status == 0
    (built,) = [v["version"] for v in dashboard()["versions"]]  # type: ignore[attr-defined]
    commit(shipped_example, "fix: a retrained model", touch="README.md")
    assert cli("run", "-f", str(manifest), "--no-tracking", environ=ENVIRON).status == 0
    later = dashboard()
    newer = later["current"]
    assert newer != built
    git(shipped_example, "reset", "-q", "--hard", first)
    assert dashboard()["current"] == built  # the newer one is on no commit checked out

    # The release pull request of ``built`` merged: the manifest says its version.
    release = str(built).split("-")[0]
    manifest.write_text(manifest.read_text().replace("version: 1.43.13", f"version: {release}"))
    commit(shipped_example, f"chore: release {release}")
    shown = dashboard()
    assert (shown["production"], shown["released_from"]) == (release, built)
    page = shipped_example / "dashboard.html"
    done = cli("report", "-f", str(manifest), "-o", str(page), environ=ENVIRON)
    assert done.status == 0, done.err
    text = page.read_text()
    assert f"production: {release} (from {built})" in text
    row = re.search(r"<tr><td><code>accuracy</code></td><td class=n>([^<]+)</td>", text)
    assert row is not None
    assert float(row.group(1)) > 0.9
    assert page.stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
