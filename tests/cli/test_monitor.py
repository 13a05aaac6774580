"""`mlops-ci monitor` against a real exporter (prometheus-client's own HTTP server on
127.0.0.1), the embedded MLflow store, and the fake GitHub for issues and feedback."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tests.conftest import ENVIRON, CliRunner, commit, embedded_tracker, tag
from tests.github.fake import TOKEN, FakeGitHub
from tests.services import serve

MODEL = "churn-classifier"


class Exporter(NamedTuple):
    url: str
    latency: Gauge
    errors: Gauge
    requests: Counter


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    """The model's service as a user runs it: prometheus-client serving its metrics."""
    registry = CollectorRegistry()
    latency = Gauge("mlapp_latency_p95_ms", "95th percentile latency", registry=registry)
    errors = Gauge("mlapp_error_rate", "Share of requests that failed", registry=registry)
    requests = Counter("mlapp_requests", "Requests served", ["code"], registry=registry)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    yield Exporter(f"http://127.0.0.1:{server.server_port}/metrics", latency, errors, requests)
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def watch(repository: Path, url: str) -> str:
    """The example's manifest pointed at ``url``, with SLOs on the exporter's series."""
    manifest = repository / "mlops.yaml"
    text = manifest.read_text()
    start = text.index("monitor:")
    manifest.write_text(
        text[:start] + f"monitor:\n  source: {{prometheus: {url}}}\n"
        "  slo:\n"
        "    mlapp_latency_p95_ms: {max: 30}\n"
        "    mlapp_error_rate: {max: 0.01}\n"
        '    mlapp_requests_total{code="500"}: {max: 100}\n'
        "  regression: {window: 3, max_change: 0.5}\n"
    )
    return str(manifest)


def test_observations_build_history_and_breaches_open_one_issue_each(
    cli: CliRunner, example_copy: Path, exporter: Exporter, tmp_path: Path
) -> None:
    manifest = watch(example_copy, exporter.url)
    commit(example_copy, "feat: the churn model")
    tag(example_copy, f"{MODEL}@1.43.13", days_ago=10)  # when production's version shipped
    fake = FakeGitHub(tmp_path)
    now = datetime.now(UTC)
    for title, body, days in (
        ("churn-classifier flags loyal customers", "seen since Monday", 5),
        ("Odd scores", "the CHURN-CLASSIFIER gives 0.99 to everyone", 2),
        ("churn-classifier was slow", "before the release", 20),
        ("fraud-detector misses cards", "not this model", 1),
    ):
        when = (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        fake.add_issue(title, body, ["model-feedback"], when)
    environ = {
        **ENVIRON,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_API_URL": fake.url,
        "MLOPS_CI_GITHUB_WRITE_PAUSE": "0",
    }

    def observe(latency: float, errors: float = 0.002) -> tuple[int, dict[str, object]]:
        exporter.latency.set(latency)
        exporter.errors.set(errors)
        exporter.requests.labels(code="200").inc(100)
        done = cli("monitor", "-f", manifest, "--json", environ=environ)
        assert done.status in (0, 1), done.err
        return done.status, json.loads(done.out)

    def actions(report: dict[str, object]) -> list[tuple[object, object]]:
        return [(i["kind"], i["action"]) for i in report["issues"]]  # type: ignore[attr-defined]

    exporter.requests.labels(code="500")  # a labelled series exists once it is touched
    status, first = observe(12.0)
    assert (status, first["verdict"], first["history"]) == (0, "passed", 0)
    assert first["feedback"]["count"] == 2  # type: ignore[index]
    assert {i["title"] for i in first["feedback"]["issues"]} == {  # type: ignore[index]
        "churn-classifier flags loyal customers",
        "Odd scores",
    }
    assert [g["name"] for g in first["slo"]] == [  # type: ignore[attr-defined]
        "mlapp_latency_p95_ms",
        "mlapp_error_rate",
        'mlapp_requests_total{code="500"}',
    ]
    assert first["breaches"] == {}  # type: ignore[comparison-overlap]
    observe(12.5)
    status, third = observe(11.8)
    assert (status, third["history"]) == (0, 2)
    assert actions(third) == []

    # A spike: over the SLO and a sudden change against the median of the last 3.
    status, spike = observe(40.0)
    assert (status, spike["verdict"]) == (1, "failed")
    assert spike["breaches"]["slo"] == ["mlapp_latency_p95_ms 40 fails <= 30"]  # type: ignore[index]
    assert spike["breaches"]["sudden-change"] == [  # type: ignore[index]
        "mlapp_latency_p95_ms rose 233.3% to 40 against the median 12 of its last 3 "
        "observations (window 3)"
    ]
    assert actions(spike) == [("slo", "opened"), ("sudden-change", "opened")]
    slo_issue = next(i for i in fake.issues.values() if i.labels[-1] == "slo")
    assert slo_issue.title == f"{MODEL} breaches its service level objectives"
    assert "- `mlapp_latency_p95_ms 40 fails <= 30`" in slo_issue.body  # as code
    assert sorted(i.labels[0] for i in fake.issues.values() if i.labels[0] != "model-feedback") == [
        "mlops-ci-monitor",
        "mlops-ci-monitor",
    ]
    # It lasts: the same two issues, kept current, none new.
    status, again = observe(40.0)
    assert status == 1
    assert actions(again) == [("slo", "unchanged"), ("sudden-change", "updated")]
    assert "against the median 12.5 of its last 3" in next(
        i.body for i in fake.issues.values() if i.labels[-1] == "sudden-change"
    )
    assert len(fake.issues) == 6  # 4 feedback issues, 2 of ours
    # Back under the SLO: that issue closes with a comment; the change is still sudden
    # against a median of 40, until the window forgets the spike.
    status, back = observe(12.0)
    assert status == 1
    assert actions(back) == [("slo", "closed"), ("sudden-change", "updated")]
    observe(12.0)
    status, clean = observe(12.0)
    assert (status, actions(clean)) == (0, [("sudden-change", "closed")])
    assert sorted(i.state for i in fake.issues.values() if "mlops-ci" in i.labels[0]) == [
        "closed",
        "closed",
    ]
    assert any("back within bounds" in c["body"] for c in fake.comments.values())
    status, quiet = observe(12.1)
    assert (status, actions(quiet)) == (0, [])
    fake.stop()
    assert sorted(set(fake.schema_errors)) == []

    # Every observation is an MLflow run against the version in production.
    tracker = embedded_tracker(example_copy)
    history = tracker.observations(MODEL, 100)
    assert len(history) == 9
    assert {o.version for o in history} == {"1.43.13"}
    assert [o.metrics["mlapp_latency_p95_ms"] for o in history][:4] == [12.1, 12.0, 12.0, 12.0]
    assert history[5].breaches.keys() == {"slo", "sudden-change"}
    assert "mlapp_requests_total.code.500" in history[0].metrics
    assert not any(k.startswith("python_") for k in history[0].metrics)  # the exporter's own


def test_a_json_file_source_and_no_tracking(cli: CliRunner, example_copy: Path) -> None:
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    unpushed = {**ENVIRON, "GITHUB_ACTIONS": "true", "MLOPS_CI_PUSH": "false"}
    in_actions = cli("monitor", "-f", manifest, environ=unpushed)
    assert in_actions.status == 0, in_actions.err
    assert "this job does not push it (MLOPS_CI_PUSH is off)" in in_actions.err
    assert "mlops-ci: warning: monitor keeps its history in git" in in_actions.err
    assert "WARNING mlops_ci." not in in_actions.err  # the module's name only with -v
    (example_copy / ".mlops-ci" / "mlflow.db").unlink()
    done = cli("monitor", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert done.status == 0, done.err
    assert done.out.startswith("✅ churn-classifier 1.43.13 is within its SLOs in production\n")
    table = done.out.split("\n\n")[1]  # the series, then the drift from the training data
    rows = [line.split()[0] for line in table.splitlines()]
    assert rows[0] == "SERIES"
    assert sorted(rows[1:]) == ["accuracy", "error_rate", "latency_p95_ms"]  # one row each
    assert "passed, steady" in done.out
    assert not (example_copy / ".mlops-ci" / "mlflow.db").exists()
    (example_copy / "monitoring" / "metrics.json").write_text('{"latency_p95_ms": 31}')
    breached = cli("monitor", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
    assert breached.status == 1
    report = json.loads(breached.out)
    # Without MLflow the history is git's: both earlier observations are in it.
    assert report["breaches"] == {
        "slo": ["latency_p95_ms 31 fails <= 30", "error_rate is missing from the metrics"],
        "sudden-change": [
            "latency_p95_ms rose 150.0% to 31 against the median 12.4 of its last 2 "
            "observations (window 5)"
        ],
    }
    (example_copy / "monitoring" / "metrics.json").write_text("[1, 2")
    broken = cli("monitor", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert broken.status == 2
    assert "metrics.json: not JSON" in broken.err
    assert "Traceback" not in broken.err


def test_a_small_absolute_move_under_min_delta_is_steady(
    cli: CliRunner, example_copy: Path
) -> None:
    manifest = example_copy / "mlops.yaml"
    text = manifest.read_text()
    rule = "regression: {window: 5, max_change: 0.10}"
    assert rule in text
    manifest.write_text(
        text.replace(rule, "regression: {window: 5, max_change: 0.10, min_delta: 0.005}")
    )
    commit(example_copy, "feat: the churn model")
    metrics = example_copy / "monitoring" / "metrics.json"
    for error_rate in (0.002, 0.003):  # +50%, but 0.001 apart
        metrics.write_text(json.dumps({"latency_p95_ms": 12.4, "error_rate": error_rate}))
        run = cli("monitor", "-f", str(manifest), "--no-tracking", "--json", environ=ENVIRON)
        assert run.status == 0, run.err
    report = json.loads(run.out)
    errors = next(c for c in report["changes"] if c["name"] == "error_rate")
    assert (errors["change"], errors["sudden"]) == (pytest.approx(0.5), False)
    assert (report["min_delta"], report["max_score"]) == (0.005, None)
    metrics.write_text(json.dumps({"latency_p95_ms": 12.4, "error_rate": 0.009}))
    jumped = cli("monitor", "-f", str(manifest), "--no-tracking", "--json", environ=ENVIRON)
    assert jumped.status == 1
    assert json.loads(jumped.out)["breaches"]["sudden-change"][0].startswith("error_rate rose")


def _answering(body: bytes, delay: float = 0.0) -> http.server.ThreadingHTTPServer:
    def handle(handler: http.server.BaseHTTPRequestHandler) -> None:
        time.sleep(delay)
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/plain; version=0.0.4")
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            handler.wfile.write(body)
        except OSError:
            pass  # the client gave up first

    return serve(handle)


def test_bad_endpoints_are_named_without_their_password(cli: CliRunner, example_copy: Path) -> None:
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")

    def monitor(url: str, *extra: str) -> tuple[int, str]:
        done = cli(
            "monitor", "-f", manifest, "--no-tracking", "--source", url, *extra, environ=ENVIRON
        )
        assert "Traceback" not in done.err
        assert "s3cret" not in done.err + done.out
        return done.status, done.err

    malformed = _answering(b"# HELP x\nmlapp_ok 1\nmlapp_latency{quantile=0.95} 12\n")
    slow = _answering(b"mlapp_ok 1\n", delay=3.0)
    try:
        port = malformed.server_address[1]
        status, err = monitor(f"http://ci:s3cret@127.0.0.1:{port}/metrics")
        assert status == 2
        assert f"http://127.0.0.1:{port}/metrics, line 3: the labels" in err
        status, err = monitor(
            f"http://127.0.0.1:{slow.server_address[1]}/metrics", "--timeout", "0.5"
        )
        assert status == 3
        assert "did not answer within 0.5 s" in err
    finally:
        threading.Thread(target=malformed.shutdown).start()
        threading.Thread(target=slow.shutdown).start()
    dead = malformed.server_address[1]
    malformed.server_close()
    status, err = monitor(f"http://ci:s3cret@127.0.0.1:{dead}/metrics")
    assert status == 3
    assert f"the metrics endpoint http://127.0.0.1:{dead}/metrics cannot be reached" in err


def test_the_timeout_bounds_the_whole_scrape_of_a_body_sent_a_byte_at_a_time(
    cli: CliRunner, example_copy: Path
) -> None:
    """Each byte comes well within a socket's timeout; their sum does not."""
    commit(example_copy, "feat: the churn model")
    body = b"mlapp_ok 1\n" + b"#\n" * 40
    sent: list[int] = []
    stop = threading.Event()

    def trickle(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/plain; version=0.0.4")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        try:
            for byte in body:
                if stop.wait(0.25):
                    return
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                sent.append(byte)
        except OSError:
            pass  # the client gave up

    server = serve(trickle)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
        done = cli(
            "monitor", "-f", str(example_copy / "mlops.yaml"), "--no-tracking",
            "--source", url, "--timeout", "1", environ=ENVIRON,
        )  # fmt: skip
        sent_by_then = len(sent)
    finally:
        stop.set()
        threading.Thread(target=server.shutdown).start()
    assert done.status == 3, done.err
    assert f"the metrics endpoint {url} did not answer within 1 s" in done.err
    assert 0 < sent_by_then < len(body)  # it gave up while the body was still coming


def test_observations_git_kept_reach_mlflow_once_by_sync(
    cli: CliRunner, example_copy: Path
) -> None:
    """Monitor without MLflow keeps its observations in git; sync sends MLflow each one once,
    and a machine whose ledger knows nothing finds them there rather than sending again."""
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    for latency in (12.0, 12.5):
        (example_copy / "monitoring" / "metrics.json").write_text(
            json.dumps({"latency_p95_ms": latency, "error_rate": 0.001})
        )
        assert cli("monitor", "-f", manifest, "--no-tracking", environ=ENVIRON).status == 0
    assert not (example_copy / ".mlops-ci" / "mlflow.db").exists()

    synced = cli("sync", "-f", manifest, environ=ENVIRON)
    assert synced.status == 0, synced.err
    assert f"{MODEL}: sent 0 records and 2 observations to sqlite:///" in synced.out
    tracker = embedded_tracker(example_copy)
    seen = tracker.observations(MODEL, 100)
    assert [o.metrics["latency_p95_ms"] for o in seen] == [12.5, 12.0]

    again = cli("sync", "-f", manifest, "--json", environ=ENVIRON)
    assert json.loads(again.out)["observations_synced"] == 0
    for ledger in (example_copy / ".mlops-ci" / "mlflow-runs").glob("*.json"):
        ledger.unlink()  # as on a fresh clone
    fresh = cli("sync", "-f", manifest, "--json", environ=ENVIRON)
    assert json.loads(fresh.out)["observations_synced"] == 0
    assert len(tracker.observations(MODEL, 100)) == 2


def test_monitor_at_a_terminal_tells_mlflow_in_the_background(
    cli: CliRunner, example_copy: Path
) -> None:
    commit(example_copy, "feat: the churn model")
    manifest = str(example_copy / "mlops.yaml")
    background = {**ENVIRON, "MLOPS_CI_SYNC": "background"}
    done = cli("monitor", "-f", manifest, "--json", environ=background)
    assert done.status == 0, done.err
    log = example_copy / ".mlops-ci" / "sync.log"
    assert f"mlops-ci: MLflow is told in the background (its log: {log})" in done.err
    assert json.loads(done.out)["mlflow_run_id"] is None  # not known when the command ends
    # Done when its ledger marks the observation told (the store is not opened meanwhile:
    # two processes making a new SQLite store at once would trip over each other).
    ledgers = example_copy / ".mlops-ci" / "mlflow-runs"
    deadline = time.monotonic() + 120
    while not _told(ledgers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _told(ledgers), log.read_text() if log.exists() else "no log"
    seen = embedded_tracker(example_copy).observations(MODEL, 10)
    assert [o.version for o in seen] == ["1.43.13"]

    wrong = cli("monitor", "-f", manifest, environ={**ENVIRON, "MLOPS_CI_SYNC": "later"})
    assert wrong.status == 2
    assert "MLOPS_CI_SYNC='later': use wait or background" in wrong.err


def _told(ledgers: Path) -> bool:
    return any(f"{MODEL}/observations.json" in f.read_text() for f in ledgers.glob("*.json"))


def _released(cli: CliRunner, repository: Path) -> str:
    """The example's candidate built, then released: the manifest names 1.44.0."""
    commit(repository, "feat: the churn model")
    manifest = repository / "mlops.yaml"
    ran = cli("run", "-f", str(manifest), "--no-tracking", environ=ENVIRON)
    assert ran.status == 0, ran.err
    manifest.write_text(manifest.read_text().replace("version: 1.43.13", "version: 1.44.0", 1))
    commit(repository, "chore: release 1.44.0")
    return str(manifest)


def _longer_tenure(path: Path) -> None:
    lines = path.read_text().splitlines()
    moved = [lines[0]]
    for line in lines[1:]:
        tenure, rest = line.split(",", 1)
        moved.append(f"{float(tenure) * 2:.1f},{rest}")
    path.write_text("\n".join(moved) + "\n")


def test_production_features_that_moved_from_the_training_data_are_a_drift_breach(
    cli: CliRunner, example_copy: Path
) -> None:
    manifest = _released(cli, example_copy)
    calm = cli("monitor", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
    assert calm.status == 0, calm.err
    drift = {g["name"]: g for g in json.loads(calm.out)["drift"]}
    assert set(drift) == {"production train: drift psi", "production train: drift ks"}
    assert {g["verdict"] for g in drift.values()} == {"passed"}
    assert drift["production train: drift ks"]["value"] < 0.1  # the holdout's own rows

    _longer_tenure(example_copy / "monitoring" / "features.csv")
    moved = cli("monitor", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
    assert moved.status == 1
    report = json.loads(moved.out)
    assert report["summary"] == (
        "❌ churn-classifier 1.44.0 sees data unlike its training data in production"
    )
    [psi, ks] = report["breaches"]["drift"]
    assert psi.startswith("psi against 1.44.0's training data is over 0.2 for 'tenure_months'")
    assert "'monthly_charges'" not in ks
    shown = cli("monitor", "-f", manifest, "--no-tracking", environ=ENVIRON)
    assert "production train: drift ks" in shown.out
    assert "Breaches (drift):" in shown.out


def test_production_histograms_of_a_feature_are_held_to_its_training_quantiles(
    cli: CliRunner, example_copy: Path
) -> None:
    manifest = _released(cli, example_copy)
    registry = CollectorRegistry()
    tenure = Histogram(
        "mlapp_feature_tenure_months",
        "Tenure of the customers scored",
        buckets=(1, 2, 4, 8, 12, 18, 24, 36, 48, 72, 96),
        registry=registry,
    )
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        text = Path(manifest).read_text()
        start = text.index("monitor:")
        Path(manifest).write_text(
            text[:start] + f"monitor:\n  source: {{prometheus: {url}}}\n"
            "  drift:\n    histograms: {tenure_months: mlapp_feature_tenure_months}\n"
            "    ks: 0.1\n"
        )
        features = (example_copy / "data" / "holdout.csv").read_text().splitlines()[1:]
        values = [float(line.split(",")[1]) for line in features]
        for value in values:
            tenure.observe(value)
        calm = cli("monitor", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
        assert calm.status == 0, calm.err
        [gate] = json.loads(calm.out)["drift"]
        assert (gate["name"], gate["verdict"]) == ("production train: drift ks", "passed")
        for value in values * 3:  # three times as many customers, each twice as long
            tenure.observe(value * 2)
        moved = cli("monitor", "-f", manifest, "--no-tracking", "--json", environ=ENVIRON)
        assert moved.status == 1
        [gate] = json.loads(moved.out)["drift"]
        assert gate["verdict"] == "failed"
        assert "'tenure_months'" in gate["message"]
        text = Path(manifest).read_text()
        Path(manifest).write_text(text.replace("{tenure_months: mlapp", "{age: mlapp"))
        wrong = cli("monitor", "-f", manifest, "--no-tracking", environ=ENVIRON)
        assert wrong.status == 2
        assert "monitor.drift.histograms.age: the training data 'train' have no column 'age'" in (
            wrong.err
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
