"""The GroupDirectory contract, run on the FakeDirectory and on `bot.slack.directory.SlackDirectory` over the fake
Slack (its cache time set to zero, so a change in Slack counts at once): what approver resolution relies on."""

from __future__ import annotations

import pytest

from tests.contracts.worlds import DirectoryWorld


@pytest.fixture
def slack(directory_world: DirectoryWorld) -> DirectoryWorld:
    for user_id, email in (("U1", "ann@example.com"), ("U2", "Bob@Example.com"), ("U3", "cyd@example.com"),
                           ("U4", None)):
        directory_world.add_user(user_id, email)
    directory_world.add_user("U9BOT", "bot@example.com", is_bot=True)
    directory_world.add_group("S1", "payments-oncall", ["U2", "U3"])
    directory_world.add_group("S2", "Search-Team", ["U1"])
    return directory_world


@pytest.mark.parametrize(("name", "members"), [
    ("payments-oncall", {"U2", "U3"}),
    ("@payments-oncall", {"U2", "U3"}),
    ("S1", {"U2", "U3"}),
    (" payments-oncall ", {"U2", "U3"}),
    ("Search-Team", {"U1"}),
    ("search-team", {"U1"}),
    ("ghost-team", None),
    ("S404", None),
])
def test_a_user_group_is_found_by_handle_or_id(slack: DirectoryWorld, name: str, members: set[str] | None) -> None:
    assert slack.directory.group_members(name) == members


def test_a_change_to_a_group_counts_at_once(slack: DirectoryWorld) -> None:
    slack.set_members("S1", "payments-oncall", ["U3", "U1"])
    assert slack.directory.group_members("payments-oncall") == {"U1", "U3"}
    slack.set_members("S1", "payments-oncall", [])
    assert slack.directory.group_members("S1") == frozenset()


def test_a_disabled_group_is_unknown(slack: DirectoryWorld) -> None:
    slack.disable_group("S1")
    assert slack.directory.group_members("payments-oncall") is None


@pytest.mark.parametrize(("email", "user_id"), [
    ("ann@example.com", "U1"), ("ANN@example.com", "U1"), ("bob@example.com", "U2"), ("nobody@example.com", None),
    ("bot@example.com", None), ("", None),
])
def test_a_person_is_found_by_email_without_regard_to_case(slack: DirectoryWorld, email: str,
                                                           user_id: str | None) -> None:
    assert slack.directory.user_id_for_email(email) == user_id


@pytest.mark.parametrize(("user_id", "email"), [
    ("U1", "ann@example.com"), ("U2", "Bob@Example.com"), ("U4", None), ("U404", None), ("U9BOT", None)])
def test_a_persons_email(slack: DirectoryWorld, user_id: str, email: str | None) -> None:
    assert slack.directory.email_for_user(user_id) == email


def test_a_deactivated_person_is_unknown(slack: DirectoryWorld) -> None:
    slack.deactivate("U1")
    assert slack.directory.email_for_user("U1") is None and slack.directory.user_id_for_email("ann@example.com") is None


def test_slack_trouble_answers_unknown_and_then_passes(slack: DirectoryWorld) -> None:
    slack.trouble(True)
    assert slack.directory.group_members("payments-oncall") is None
    assert slack.directory.user_id_for_email("ann@example.com") is None
    assert slack.directory.email_for_user("U1") is None
    slack.trouble(False)
    assert slack.directory.group_members("payments-oncall") == {"U2", "U3"}
    assert slack.directory.user_id_for_email("ann@example.com") == "U1"
    assert slack.directory.email_for_user("U1") == "ann@example.com"


@pytest.mark.parametrize("extra", [0, 40], ids=["a few (one look-up each)", "many (one users.list walk)"])
def test_many_emails_are_matched_to_slack_users_at_once(slack: DirectoryWorld, extra: int) -> None:
    for index in range(extra):
        slack.add_user(f"U{index:04d}X", f"person{index}@example.com")
    emails = ["ANN@example.com", "bob@example.com", "nobody@example.com", "bot@example.com",
              *(f"person{index}@example.com" for index in range(extra))]
    found = slack.directory.user_ids_for_emails(emails)
    assert found == {"ann@example.com": "U1", "bob@example.com": "U2",
                     **{f"person{index}@example.com": f"U{index:04d}X" for index in range(extra)}}
    slack.deactivate("U1")
    assert "ann@example.com" not in slack.directory.user_ids_for_emails(emails)
    slack.trouble(True)
    assert slack.directory.user_ids_for_emails(emails) == {}
