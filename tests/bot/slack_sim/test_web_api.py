"""The fake Slack Web API answers slack_sdk's WebClient like Slack: messages, directory, files, auth and failures."""

from __future__ import annotations

import http.client
import time

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator

from bot.slack_retries import retry_handlers
from bot.slack_sim import FakeSlackWebAPI
from tests.bot.slack_sim.conftest import TOKEN

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*hello*"}}


def _error(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()  # type: ignore[operator]
    return raised.value


# connections


def _auth_test(connection: http.client.HTTPConnection, headers: dict[str, str]) -> http.client.HTTPResponse:
    connection.request("POST", "/api/auth.test", b"", {"Authorization": f"Bearer {TOKEN}", **headers})
    response = connection.getresponse()
    assert b'"ok": true' in response.read()
    return response


def test_a_connection_is_kept_between_calls_unless_the_client_closes_it_and_stop_closes_it(
        sim: FakeSlackWebAPI) -> None:
    host, port = sim.url.removeprefix("http://").split(":")
    kept = http.client.HTTPConnection(host, int(port), timeout=5)
    assert not _auth_test(kept, {}).will_close
    sock = kept.sock
    assert not _auth_test(kept, {}).will_close and kept.sock is sock  # the same connection, as with Slack
    closing = http.client.HTTPConnection(host, int(port), timeout=5)
    assert _auth_test(closing, {"Connection": "close"}).will_close  # urllib's requests
    sim.stop()
    assert sock is not None and sock.recv(1) == b""  # a stopped fake answers nothing on a kept connection either
    kept.close()


# auth


def test_given_the_bot_token_when_auth_test_then_the_bot_and_team_are_named(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["team_id"], answer["bot_id"]) == ("U0BOT", "T1", "B0BOT")


@pytest.mark.parametrize("token", ["xoxb-wrong", None])
def test_given_a_wrong_or_missing_token_then_invalid_auth(sim: FakeSlackWebAPI, token: str | None) -> None:
    client = WebClient(token=token, base_url=sim.url + "/api/")
    assert _error(client.auth_test).response["error"] == "invalid_auth"
    assert sim.calls[-1].ok is False and sim.calls[-1].error == "invalid_auth"


def test_the_token_is_never_recorded(sim: FakeSlackWebAPI, client: WebClient) -> None:
    client.api_call("auth.test", params={"token": TOKEN})  # as a form field too
    client.chat_postMessage(channel="C1", text="hi")
    assert TOKEN not in repr(sim.calls) and TOKEN not in repr(sim)


def test_an_unknown_method_is_unknown_method(client: WebClient) -> None:
    assert _error(lambda: client.api_call("chat.fly")).response["error"] == "unknown_method"


# messages


def test_given_a_channel_when_posting_then_the_message_is_stored_with_a_fresh_ts(
    sim: FakeSlackWebAPI, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C1", text="one", blocks=[SECTION])
    second = client.chat_postMessage(channel="C1", text="two")
    assert first["channel"] == "C1" and first["ts"] != second["ts"]
    assert [m["text"] for m in sim.messages("C1")] == ["one", "two"]
    assert sim.message("C1", first["ts"])["blocks"] == [SECTION]
    assert sim.calls_to("chat.postMessage")[0].args["blocks"] == [SECTION]


def test_given_a_user_id_as_channel_when_posting_then_it_lands_in_their_dm(
    sim: FakeSlackWebAPI, client: WebClient
) -> None:
    answer = client.chat_postMessage(channel="U1", text="your access is ready")
    assert answer["channel"].startswith("D")
    assert answer["channel"] == client.conversations_open(users="U1")["channel"]["id"]
    assert [m["text"] for m in sim.dms("U1")] == ["your access is ready"]
    assert sim.messages("U1") == sim.dms("U1") == sim.messages(answer["channel"])


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"channel": "C404", "text": "x"}, "channel_not_found"),
        ({"channel": "C1"}, "no_text"),
        ({"channel": "C1", "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": "C1", "text": "x", "blocks": [{"type": "carousel"}]}, "invalid_blocks"),
    ],
)
def test_bad_posts_get_slacks_errors(client: WebClient, kwargs: dict[str, object], error: str) -> None:
    # api_call: chat_postMessage would warn about the missing text before sending it
    assert _error(lambda: client.api_call("chat.postMessage", json=kwargs)).response["error"] == error


def test_given_a_message_when_updating_text_only_then_blocks_are_kept(sim: FakeSlackWebAPI, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="pending", blocks=[SECTION])
    client.chat_update(channel="C1", ts=posted["ts"], text="approved")
    message = sim.message("C1", posted["ts"])
    assert (message["text"], message["blocks"]) == ("approved", [SECTION])
    client.chat_update(channel="C1", ts=posted["ts"], text="approved", blocks=[])
    assert sim.message("C1", posted["ts"])["blocks"] == []
    assert len(sim.messages("C1")) == 1


def test_chat_update_needs_a_known_channel_and_ts(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U1", text="dm")
    assert _error(lambda: client.chat_update(channel="C1", ts=posted["ts"], text="x")).response["error"] == (
        "message_not_found"
    )
    # A DM is updated by its D... id; the user id is not a conversation for chat.update.
    assert _error(lambda: client.chat_update(channel="U1", ts=posted["ts"], text="x")).response["error"] == (
        "channel_not_found"
    )
    assert client.chat_update(channel=posted["channel"], ts=posted["ts"], text="x")["ok"]


def test_ephemerals_are_recorded_per_user(sim: FakeSlackWebAPI, client: WebClient) -> None:
    client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert [(e["channel"], e["text"]) for e in sim.ephemerals(user="U1")] == [("C1", "only you")]
    assert sim.ephemerals(user="U2") == []
    assert _error(lambda: client.chat_postEphemeral(channel="C1", user="U404", text="x")).response["error"] == (
        "user_not_found"
    )


def test_permalinks_need_an_existing_message(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="x")
    link = client.chat_getPermalink(channel="C1", message_ts=posted["ts"])["permalink"]
    assert link.startswith("https://") and "C1" in link
    assert _error(lambda: client.chat_getPermalink(channel="C1", message_ts="1.2")).response["error"] == (
        "message_not_found"
    )


def test_form_encoded_calls_carry_blocks_as_json_text(sim: FakeSlackWebAPI, client: WebClient) -> None:
    answer = client.api_call(
        "chat.postMessage", params={"channel": "C1", "text": "t", "blocks": '[{"type":"divider"}]'}
    )
    assert sim.message("C1", answer["ts"])["blocks"] == [{"type": "divider"}]
    assert sim.calls_to("chat.postMessage")[-1].args["blocks"] == [{"type": "divider"}]  # recorded decoded


# directory


def test_users_info_has_the_profile_email(client: WebClient) -> None:
    user = client.users_info(user="U1")["user"]
    assert (user["id"], user["name"], user["profile"]["email"], user["team_id"]) == (
        "U1",
        "ann",
        "ann@example.com",
        "T1",
    )
    assert "email" not in client.users_info(user="U0BOT")["user"]["profile"]
    assert _error(lambda: client.users_info(user="U404")).response["error"] == "user_not_found"


def test_lookup_by_email_ignores_case_and_says_users_not_found(client: WebClient) -> None:
    assert client.users_lookupByEmail(email="bob@example.com")["user"]["id"] == "U2"
    assert _error(lambda: client.users_lookupByEmail(email="nobody@example.com")).response["error"] == (
        "users_not_found"
    )


def test_usergroups_list_includes_members_only_when_asked(client: WebClient) -> None:
    without = client.usergroups_list()["usergroups"]
    with_users = client.usergroups_list(include_users=True)["usergroups"]
    assert without[0]["handle"] == "payments-oncall" and "users" not in without[0]
    assert with_users[0]["users"] == ["U2", "U3"]
    assert client.usergroups_users_list(usergroup="S1")["users"] == ["U2", "U3"]
    assert _error(lambda: client.usergroups_users_list(usergroup="S404")).response["error"] == "no_such_subteam"


def test_conversations_open_needs_known_users(client: WebClient) -> None:
    assert _error(lambda: client.conversations_open(users="U404")).response["error"] == "user_not_found"
    assert client.conversations_open(users="U1,U2")["channel"]["id"].startswith("G")


# files


def test_given_the_current_upload_api_when_sharing_a_file_then_the_sim_keeps_it(
    sim: FakeSlackWebAPI, client: WebClient
) -> None:
    dm = client.conversations_open(users="U1")["channel"]["id"]
    answer = client.files_upload_v2(
        channel=dm, content="when,who\n1,ann\n", filename="audit.csv", title="Audit", initial_comment="export"
    )
    assert answer["file"]["name"] == "audit.csv"
    [uploaded] = sim.uploaded_files
    assert (uploaded.content, uploaded.channel_id, uploaded.title) == (b"when,who\n1,ann\n", dm, "Audit")
    assert sim.dms("U1")[-1]["files"][0]["id"] == uploaded.file_id


def test_the_deprecated_files_upload_is_refused(client: WebClient) -> None:
    with pytest.warns(UserWarning):  # slack_sdk itself warns before calling it
        error = _error(lambda: client.files_upload(channels="C1", content="x", filename="x.txt"))
    assert error.response["error"] == "method_deprecated"


def test_completing_an_upload_that_never_happened_is_file_not_found(client: WebClient) -> None:
    issued = client.files_getUploadURLExternal(filename="a.csv", length=3)
    error = _error(lambda: client.files_completeUploadExternal(files=[{"id": issued["file_id"], "title": "a"}]))
    assert error.response["error"] == "file_not_found"


# failures and rate limits


def test_fail_next_answers_429_with_retry_after_then_recovers(sim: FakeSlackWebAPI, client: WebClient) -> None:
    sim.fail_next("chat.postMessage", retry_after=7, count=2)
    for _ in range(2):
        error = _error(lambda: client.chat_postMessage(channel="C1", text="x"))
        assert (error.response.status_code, error.response.headers["Retry-After"]) == (429, "7")
        assert error.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert [c.ok for c in sim.calls_to("chat.postMessage")] == [False, False, True]


def test_fail_next_with_a_5xx(sim: FakeSlackWebAPI, client: WebClient) -> None:
    sim.fail_next("users.info", status=503)
    assert _error(lambda: client.users_info(user="U1")).response.status_code == 503
    assert client.users_info(user="U1")["ok"]


def test_slack_sdk_retry_handlers_ride_out_injected_failures(sim: FakeSlackWebAPI) -> None:
    sim.fail_next("chat.postMessage", retry_after=0)
    sim.fail_next("users.info", status=500)
    client = WebClient(
        token=TOKEN, base_url=sim.url + "/api/",
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=BackoffRetryIntervalCalculator(0.01)),
        ],
    )  # fmt: skip
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert client.users_info(user="U1")["ok"]


def test_a_429_is_waited_out_when_short_and_left_to_the_caller_when_long(sim: FakeSlackWebAPI) -> None:
    # given the app's retry handlers, their waits recorded instead of slept
    sleeps: list[float] = []
    client = WebClient(token=TOKEN, base_url=sim.url + "/api/", retry_handlers=retry_handlers(sleeps.append))
    # when Slack asks for a second, then the call waits it out and goes through
    sim.fail_next("chat.postMessage", retry_after=1)
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert len(sleeps) == 1 and 1.0 <= sleeps[0] < 2.0
    # when it asks for half a minute (a per-minute tier spent), then the call fails at once as a 429
    sim.fail_next("chat.update", retry_after=30)
    error = _error(lambda: client.chat_update(channel="C1", ts="1.0", text="y"))
    assert error.response.status_code == 429 and len(sleeps) == 1


def test_a_burst_on_one_channel_is_rate_limited_per_channel(sim: FakeSlackWebAPI, client: WebClient) -> None:
    sim.channel_burst = 5
    for _ in range(5):
        client.chat_postMessage(channel="C1", text="x")
    error = _error(lambda: client.chat_postMessage(channel="C1", text="x"))
    assert error.response.status_code == 429 and error.response.headers["Retry-After"] == "1"
    assert client.chat_postMessage(channel="C0GENERAL", text="another channel")["ok"]
    sim.channel_burst = None
    assert client.chat_postMessage(channel="C1", text="limit off")["ok"]


def test_the_default_burst_allows_twenty_then_limits(sim: FakeSlackWebAPI, client: WebClient) -> None:
    answers = []
    for _ in range(21):
        try:
            answers.append(client.chat_postMessage(channel="C1", text="x")["ok"])
        except SlackApiError as error:
            answers.append(error.response["error"])
    assert answers[:20] == [True] * 20 and answers[20] == "ratelimited"


# waiting


def test_wait_for_returns_the_predicates_value_or_times_out(sim: FakeSlackWebAPI, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="x")
    assert sim.wait_for(lambda s: s.messages("C1"))[0]["text"] == "x"
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        sim.wait_for(lambda s: s.messages("C0GENERAL"), timeout=0.05)
    assert time.monotonic() - started < 1
