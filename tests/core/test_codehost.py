from __future__ import annotations

from mlops_ci.core.codehost import ReviewRequest, review_request


def test_users_go_without_at_and_teams_of_the_organisation_by_slug() -> None:
    asked = review_request(
        ["@octocat", "@acme/ml-leads", "octocat", "Acme/ML-Leads", "hubot", "@other/team"],
        "acme",
    )
    assert asked == ReviewRequest(
        users=("octocat", "hubot"), teams=("ml-leads",), elsewhere=("other/team",)
    )


def test_nobody_to_ask() -> None:
    assert review_request([], "acme") == ReviewRequest((), ())
