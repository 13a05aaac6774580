"""Which candidate the version in production was released from, by the records alone.

One rule for every reader (the test stage's gates against production, the release pull
request, the dashboard): the candidate its publish record names, else the newest
candidate of that release (``1.4.0-rc.2`` for ``1.4.0``) that passed its test, one on the
history checked out first. The second covers a release pull request merged (the manifest
says 1.4.0) before publish ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from mlops_ci.core.records import PUBLISHED, StageRecord
from mlops_ci.core.versions import Scheme, try_parse_version


def production_test(
    records: Iterable[StageRecord],
    production: str,
    scheme: Scheme,
    on_history: Callable[[str], bool] = lambda commit: True,
) -> StageRecord | None:
    """The passed test record of the candidate ``production`` was released from: the one
    its publish names, else one built on the checked-out history (a release pull request
    merged its commit), else the newest."""
    released = try_parse_version(production, scheme)
    if released is None:
        return None
    found = list(records)
    published = sorted(
        (r for r in found if r.stage == PUBLISHED and r.version == str(released)),
        key=lambda r: r.finished_at,
    )
    named = str(published[-1].details.get("candidate", "")) if published else ""
    of_release = [
        r
        for r in found
        if r.stage == "test"
        and r.verdict == "passed"
        and (version := try_parse_version(r.version, scheme)) is not None
        and version.final == released
    ]
    if not of_release:
        return None
    return max(
        of_release,
        key=lambda r: (
            r.version == named,
            r.git_sha is None or on_history(r.git_sha),
            r.finished_at,
        ),
    )
