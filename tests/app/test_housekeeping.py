"""Prune, sync, changed and monitor on doubles."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from mlops_ci.app.changed import changed_models
from mlops_ci.app.lifecycle import run_stages
from mlops_ci.app.monitor import run_monitor
from mlops_ci.app.prune import prune
from mlops_ci.app.sync import sync
from mlops_ci.app.version import current_version
from mlops_ci.core.observations import Observation
from mlops_ci.core.records import PUBLISHED, StageRecord
from tests.doubles.hosts import MemoryScraper
from tests.doubles.ports import World
from tests.doubles.store import MemoryTracker

URL = "http://app.example/metrics"


def build_three(world: World) -> list[str]:
    versions = []
    for number in range(3):
        world.vcs.commit(f"fix: change {number}", {f"src/{number}.py": b"x"})
        versions.append(run_stages(world.context(), ["build"], None, keep_going=False)[0].version)
    return versions


def test_prune_keeps_the_newest_and_expires_the_rest(world: World) -> None:
    world.manifest = dataclasses.replace(
        world.manifest, retention=dataclasses.replace(world.manifest.retention, keep_last=1)
    )
    versions = build_three(world)
    for version in versions:
        world.vcs.push_tag("origin", f"churn@{version}")
    pruned = prune(world.context(), dry_run=False, remote="origin", tools=None)
    expired = [str(d.version) for d in pruned.plan if d.expire]
    assert sorted(expired) == sorted(versions[:2])
    assert {t.name for t in world.vcs.tags()} == {f"churn@{versions[2]}"}
    assert set(world.vcs.remote.tags) == {f"churn@{versions[2]}"}
    assert world.store.saved[("churn", versions[0], "expire")].state == "expired"
    # MLflow is told by the sync: prune does not import it.
    assert world.tracker is not None
    assert world.tracker.state_of(versions[0]) == "candidate"
    synced = sync(world.context(), world.tracker)
    assert {(r.version, r.stage) for r in synced.sent} == {(v, "expire") for v in versions[:2]}
    assert world.tracker.state_of(versions[0]) == "expired"


def test_a_dry_run_changes_nothing(world: World) -> None:
    world.manifest = dataclasses.replace(
        world.manifest, retention=dataclasses.replace(world.manifest.retention, keep_last=1)
    )
    build_three(world)
    before = dict(world.store.saved), list(world.vcs.tags())
    pruned = prune(world.context(), dry_run=True, remote=None, tools=None)
    assert sum(d.expire for d in pruned.plan) == 2
    assert (dict(world.store.saved), list(world.vcs.tags())) == before


def test_prune_keeps_what_an_alias_points_at_from_git_alone(world: World) -> None:
    world.manifest = dataclasses.replace(
        world.manifest, retention=dataclasses.replace(world.manifest.retention, keep_last=1)
    )
    versions = build_three(world)
    world.tracker = None  # the records say where the aliases are
    built = world.store.saved[("churn", versions[0], "build")]
    world.store.write(dataclasses.replace(built, stage="validate", finished_at=world.clock.now()))
    pruned = prune(world.context(), dry_run=True, remote=None, tools=None)
    kept = {str(d.version): d.reason for d in pruned.plan if not d.expire}
    assert kept[versions[0]] == "the alias 'validated' points at it"
    assert [str(d.version) for d in pruned.plan if d.expire] == [versions[1]]


def test_sync_frees_an_expired_candidates_model_files_once(world: World) -> None:
    world.manifest = dataclasses.replace(
        world.manifest, retention=dataclasses.replace(world.manifest.retention, keep_last=1)
    )
    world.tracker = None
    versions = build_three(world)
    tracker = MemoryTracker()
    for version in versions:
        tracker.register(version, "run-1", world.manifest.repository, [])
        tracker.stored[version] = 1000 + int(version[-1])
    tracker.move_alias("production", versions[1], world.clock.now())  # by hand, in MLflow
    dry = prune(world.context(), dry_run=True, remote=None, tools=None, tracked=True)
    sizes = {f.version: f.mlflow for f in dry.freed}
    built = {v: world.store.saved[("churn", v, "build")].details["size"] for v in versions[:2]}
    assert all(built.values())
    assert sizes == built  # as the builds recorded them: MLflow is not asked
    prune(world.context(), dry_run=False, remote=None, tools=None, tracked=True)

    synced = sync(world.context(), tracker)
    # the one MLflow's alias points at keeps its files; the other is freed
    assert synced.freed == ((versions[0], 1001),)
    assert tracker.stored == {versions[1]: 1002, versions[2]: 1003}
    assert sync(world.context(), tracker).freed == ()
    after = prune(world.context(), dry_run=True, remote=None, tools=None, tracked=True)
    assert all(f.mlflow == 0 for f in after.freed)


def test_sync_sends_the_records_once_and_registers_the_candidate(world: World) -> None:
    world.tracker = None
    run_stages(world.context(), ["build", "test"], None, keep_going=False)
    tracker = MemoryTracker()
    first = sync(world.context(), tracker)
    assert (len(first.sent), first.already, first.registered) == (2, 0, ("1.0.1-rc.1",))
    assert all(r.synced for r in world.store.saved.values())
    second = sync(world.context(), tracker)
    assert (len(second.sent), second.already, second.registered) == (0, 2, ())
    assert len(tracker.runs) == 2


def test_sync_moves_each_environment_s_alias_to_the_candidate_its_latest_publish_released(
    world: World,
) -> None:
    world.tracker = None
    first, second = (
        run_stages(world.context(), ["build"], None, keep_going=False)[0].version,
        build_three(world)[0],
    )
    now = world.clock.now()

    def published(version: str, candidate: str, environment: str | None, minutes: int) -> None:
        world.store.write(
            StageRecord(
                model="churn",
                version=version,
                stage=PUBLISHED,
                verdict="passed",
                state="released",
                started_at=now + timedelta(minutes=minutes),
                finished_at=now + timedelta(minutes=minutes),
                details={"environment": environment, "candidate": candidate},
            )
        )

    published("1.0.1", first, None, 1)
    published("1.0.2", second, None, 2)  # the later release wins production
    published("1.0.2", second, "staging", 3)  # (one record per version: staging's)
    tracker = MemoryTracker()
    sync(world.context(), tracker)
    assert tracker.alias_target("staging") == second
    assert tracker.alias_target("production") == first
    moves = list(tracker.alias_moves)
    sync(world.context(), tracker)
    assert tracker.alias_moves == moves  # nothing sent, nothing moved


def test_sync_sends_each_observation_mlflow_lacks_once(world: World) -> None:
    at = world.clock.now().replace(microsecond=123_456)
    seen = [
        Observation("churn", "1.0.0", at + timedelta(minutes=m), {"latency_p95_ms": 12.0}, {})
        for m in range(3)
    ]
    for observation in seen:
        world.store.add_observation(observation)
    tracker = MemoryTracker()
    # One MLflow has already, its moment cut to the millisecond and a float's error off.
    kept = dataclasses.replace(seen[1], at=seen[1].at.replace(microsecond=122_000))
    tracker.logged_observations.append(kept)
    assert sync(world.context(), tracker).observations == 2
    assert sorted(o.at for o in tracker.logged_observations) == sorted(
        [seen[0].at, kept.at, seen[2].at]
    )
    assert sync(world.context(), tracker).observations == 0
    assert len(tracker.logged_observations) == 3


def test_changed_names_the_model_whose_folder_changed(world: World) -> None:
    since = world.vcs.head()
    assert since is not None
    quiet = changed_models(world.vcs, world.manifest.repository, since)
    assert quiet.affected == ()
    world.vcs.commit("fix", {"deploy/app.yaml": b"changed"})
    touched = changed_models(world.vcs, world.manifest.repository, since)
    assert [(a.model.name, a.reason) for a in touched.affected] == [
        ("churn", "deploy/app.yaml changed")
    ]
    assert touched.models == 1
    first = changed_models(world.vcs, world.manifest.repository, "0" * 40)
    assert [a.reason for a in first.affected] == ["no earlier commit to compare with"]


def test_current_version_says_whether_it_is_tagged(world: World) -> None:
    assert not current_version(world.context()).tagged
    head = world.vcs.head()
    assert head is not None
    world.vcs.create_tag("churn@1.0.0", head, "churn 1.0.0", ("t", "t@example"))
    assert current_version(world.context()).tagged


def test_monitor_opens_an_issue_on_a_breach_and_closes_it_when_clean(world: World) -> None:
    scraper = MemoryScraper({URL: "latency_p95_ms 45\n"})
    breach = run_monitor(world.context(), github=world.code_host, scraper=scraper)
    assert breach.result.verdict == "failed"
    assert [(a.kind, a.action) for a in breach.issues] == [("slo", "opened")]
    issue = next(iter(world.code_host.issues_made.values()))
    assert issue.state == "open"
    assert "latency_p95_ms" in issue.body

    scraper.pages[URL] = "latency_p95_ms 12\n"
    world.clock.moment += timedelta(hours=1)
    clean = run_monitor(world.context(), github=world.code_host, scraper=scraper)
    # Within the SLO again, but a fall from 45 to 12 is a sudden change of its own.
    assert [(a.kind, a.action) for a in clean.issues] == [
        ("slo", "closed"),
        ("sudden-change", "opened"),
    ]
    assert world.code_host.issues_made[issue.number].state == "closed"
    assert world.tracker is not None
    assert len(world.tracker.logged_observations) == 2
    assert clean.history == 1
