from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mlops_ci.core.history import build_history, tag_name, tag_pattern, tagged_versions
from mlops_ci.core.records import StageRecord
from mlops_ci.core.retention import plan_retention
from mlops_ci.core.versions import parse_version

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class FakeTag:
    name: str
    commit: str
    date: datetime


def v(text: str):  # type: ignore[no-untyped-def]
    return parse_version(text, "semver")


def test_tag_templates() -> None:
    assert tag_name("{name}@{version}", "churn", v("1.2.0-rc.1")) == "churn@1.2.0-rc.1"
    pattern = tag_pattern("{name}@{version}", "churn")
    assert pattern.match("churn@1.2.0")
    assert not pattern.match("churn-v2@1.2.0")
    assert tag_pattern("v{version}", "churn").match("v1.2.0")["version"] == "1.2.0"  # type: ignore[index]


def test_tagged_versions_skip_other_models_and_junk() -> None:
    tags = [
        FakeTag(n, "c" * 40, NOW)
        for n in ["churn@1.2.0", "churn@1.3.0-rc.2", "other@9.9.9", "churn@latest", "churn@1.2"]
    ]
    found = tagged_versions(tags, "{name}@{version}", "churn", "semver")
    assert [str(version) for version, _ in found] == ["1.2.0", "1.3.0-rc.2"]


def record(
    version: str, stage: str, state: str, minutes: int, digest: str | None = None
) -> StageRecord:
    at = NOW - timedelta(minutes=minutes)
    return StageRecord(
        model="churn",
        version=version,
        stage=stage,
        verdict="passed",
        state=state,
        started_at=at,
        finished_at=at,  # type: ignore[arg-type]
        git_sha="d" * 40,
        image_digest=digest,
    )


def test_history_combines_tags_records_and_production() -> None:
    tags = [
        FakeTag("churn@1.2.0", "a" * 40, NOW - timedelta(days=9)),
        FakeTag("churn@1.3.0-rc.1", "b" * 40, NOW - timedelta(days=2)),
    ]
    digest = "sha256:" + "e" * 64
    records = [
        record("1.3.0-rc.1", "build", "candidate", 60),
        record("1.3.0-rc.1", "test", "failed", 50),
        record("1.3.0-rc.2", "build", "candidate", 30),
        record("1.3.0-rc.2", "validate", "validated", 10, digest),
    ]
    history = build_history(
        v("1.2.0"), tagged_versions(tags, "{name}@{version}", "churn", "semver"), records, "semver"
    )
    assert [(str(e.version), e.state) for e in history] == [
        ("1.3.0-rc.2", "validated"),
        ("1.3.0-rc.1", "failed"),
        ("1.2.0", "released"),
    ]
    assert history[0].tag is None
    assert history[0].commit == "d" * 40
    assert history[0].image_digest == digest
    assert history[1].commit == "b" * 40


def test_retention_keeps_the_newest_and_the_protected() -> None:
    tags = [
        FakeTag(f"churn@1.3.0-rc.{n}", "a" * 40, NOW - timedelta(days=40 - n)) for n in range(1, 6)
    ]
    tags.append(FakeTag("churn@1.2.0-rc.3", "b" * 40, NOW - timedelta(days=90)))
    history = build_history(
        v("1.2.0"), tagged_versions(tags, "{name}@{version}", "churn", "semver"), [], "semver"
    )
    plan = plan_retention(
        history,
        v("1.2.0"),
        keep_last=3,
        max_age=timedelta(days=37),
        now=NOW,
        protected={v("1.3.0-rc.1"): "release PR #7 points at it"},
    )
    assert [(str(d.version), d.expire, d.reason) for d in plan] == [
        ("1.3.0-rc.5", False, "recent and among the newest"),
        ("1.3.0-rc.4", False, "recent and among the newest"),
        ("1.3.0-rc.3", False, "recent and among the newest"),
        ("1.3.0-rc.2", True, "not among the 3 newest candidates"),
        ("1.3.0-rc.1", False, "release PR #7 points at it"),
        ("1.2.0-rc.3", False, "it became the version in production"),
    ]


def test_retention_by_age() -> None:
    tags = [
        FakeTag("churn@1.3.0-rc.1", "a" * 40, NOW - timedelta(days=31)),
        FakeTag("churn@1.3.0-rc.2", "a" * 40, NOW - timedelta(days=1)),
    ]
    history = build_history(
        v("1.2.0"), tagged_versions(tags, "{name}@{version}", "churn", "semver"), [], "semver"
    )
    plan = plan_retention(history, v("1.2.0"), keep_last=10, max_age=timedelta(days=30), now=NOW)
    assert [(str(d.version), d.expire) for d in plan] == [
        ("1.3.0-rc.2", False),
        ("1.3.0-rc.1", True),
    ]
    assert plan[1].reason == "31 days old, older than 30 days"
