"""The lifecycle's stages on doubles: numbering, states, records, tracking, gates."""

from __future__ import annotations

from datetime import UTC, datetime

from mlops_ci.app.lifecycle import run_stages, stages_until
from mlops_ci.app.version import next_version, version_history
from mlops_ci.core.records import StageRecord
from tests.app.conftest import model_commands
from tests.doubles.ports import World

STAGES = ["build", "test", "validate"]


def test_a_good_model_goes_from_build_to_validated(world: World) -> None:
    results = run_stages(world.context(), STAGES, None, keep_going=False)
    assert [(r.stage, r.verdict, r.state) for r in results] == [
        ("build", "passed", "candidate"),
        ("test", "passed", "tested"),
        ("validate", "passed", "validated"),
    ]
    assert {r.version for r in results} == {"1.0.1-rc.1"}  # a patch: nothing says more
    saved = world.store.saved
    assert {stage for (_, _, stage) in saved} == {"build", "test", "validate"}
    assert all(r.synced and r.mlflow_run_id for r in saved.values())
    build = saved[("churn", "1.0.1-rc.1", "build")]
    assert build.git_sha == world.vcs.head()
    assert [f["path"] for f in build.details["files"]] == ["model.bin"]
    assert [t.name for t in world.vcs.tags()] == ["churn@1.0.1-rc.1"]
    assert world.tracker is not None
    assert world.tracker.state_of("1.0.1-rc.1") == "validated"
    assert world.tracker.alias_target("validated") == "1.0.1-rc.1"
    assert world.tracker.alias_target("candidate") == "1.0.1-rc.1"


def test_a_failed_gate_stops_the_run_and_fails_the_candidate(world: World) -> None:
    model_commands(world, accuracy=0.5)
    results = run_stages(world.context(), STAGES, None, keep_going=False)
    assert [(r.stage, r.verdict) for r in results] == [("build", "passed"), ("test", "failed")]
    assert results[-1].state == "failed"
    failed = [g for g in results[-1].gates if g.verdict == "failed"]
    assert [g.name for g in failed] == ["accuracy"]


def test_keep_going_measures_the_rest_but_the_candidate_stays_failed(world: World) -> None:
    model_commands(world, accuracy=0.5)
    results = run_stages(world.context(), STAGES, None, keep_going=True)
    assert [r.stage for r in results] == STAGES
    assert results[-1].state == "failed"
    assert results[-1].verdict == "failed"


def test_a_rerun_at_the_same_commit_rebuilds_the_same_candidate(world: World) -> None:
    first = run_stages(world.context(), ["build"], None, keep_going=False)
    again = run_stages(world.context(), ["build"], None, keep_going=False)
    assert first[0].version == again[0].version == "1.0.1-rc.1"
    world.vcs.commit("fix: a better feature", {"train.py": b"print('v2')"})
    third = run_stages(world.context(), ["build"], None, keep_going=False)
    assert third[0].version == "1.0.1-rc.2"


def test_a_fresh_checkout_finds_its_commits_candidate_in_the_tracker(world: World) -> None:
    run_stages(world.context(), ["build"], None, keep_going=False)
    world.store.saved.clear()  # a new CI job: no records here
    again = run_stages(world.context(), ["build"], None, keep_going=False)
    assert again[0].version == "1.0.1-rc.1"


def test_candidate_numbers_go_past_every_one_the_tracker_registered(world: World) -> None:
    assert world.tracker is not None
    world.tracker.register("1.0.1-rc.7", None, world.manifest.root, [])
    assert str(next_version(world.context()).candidate) == "1.0.1-rc.8"


def test_the_production_gate_compares_with_productions_test_metrics(world: World) -> None:
    production = StageRecord(
        model="churn",
        version="1.0.0-rc.3",
        stage="test",
        verdict="passed",
        state="released",
        started_at=datetime(2026, 5, 1, tzinfo=UTC),
        finished_at=datetime(2026, 5, 1, tzinfo=UTC),
        metrics={"accuracy": 0.95},
    )
    world.store.write(production)
    results = run_stages(world.context(), STAGES, None, keep_going=False)
    test = results[1]
    relative = next(g for g in test.gates if g.rule == "max_drop")
    assert relative.verdict == "failed"  # 0.90 is 0.05 below production's 0.95
    assert test.details["production"] == "1.0.0"


def test_production_metrics_come_from_the_trackers_alias_without_records(world: World) -> None:
    tracker = world.tracker
    assert tracker is not None
    tracker.register("1.0.0-rc.3", None, world.manifest.root, [])
    tracker.log_stage(
        StageRecord(
            model="churn",
            version="1.0.0-rc.3",
            stage="test",
            verdict="passed",
            state="tested",
            started_at=datetime(2026, 5, 1, tzinfo=UTC),
            finished_at=datetime(2026, 5, 1, tzinfo=UTC),
            metrics={"accuracy": 0.85},
        )
    )
    tracker.move_alias("production", "1.0.0-rc.3", datetime(2026, 5, 2, tzinfo=UTC))
    results = run_stages(world.context(), ["build", "test"], None, keep_going=False)
    relative = next(g for g in results[1].gates if g.rule == "max_drop")
    assert relative.verdict == "passed"
    assert relative.production == 0.85


def test_without_tracking_the_records_wait_for_a_sync(world: World) -> None:
    world.tracker = None
    run_stages(world.context(), STAGES, None, keep_going=False)
    assert not any(r.synced for r in world.store.saved.values())


def test_a_model_without_data_sets_has_no_ingest_stage(world: World) -> None:
    assert stages_until(world.context(), "validate") == STAGES


def test_history_lists_the_candidate_with_its_state(world: World) -> None:
    run_stages(world.context(), STAGES, None, keep_going=False)
    entries = version_history(world.context())
    assert [(str(e.version), e.state) for e in entries][:1] == [("1.0.1-rc.1", "validated")]


def test_run_skips_the_gates_a_manifest_does_not_declare(world: World) -> None:
    """A model with a test section and no validate section: `run` stops after test."""
    from dataclasses import replace

    world.manifest = replace(world.manifest, validate=None)
    assert stages_until(world.context(), "validate")[-1] == "test"
    world.manifest = replace(world.manifest, test=None)
    assert "test" not in stages_until(world.context(), "validate")
