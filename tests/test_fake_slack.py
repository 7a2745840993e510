"""The loopback Slack fake behaves like Slack when driven by the real slack_sdk and Bolt clients,
so the bot's tests exercise the same calls and failures they would meet in production."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest
from fakes.slack import BOT_ID, BOT_USER_ID, TEAM_ID, USER_ID, FakeSlack, sign_request
from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient as AiohttpSocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.builtin import SocketModeClient as BuiltinSocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

CHANNEL = "C0FAKECHAN"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as slack:
        yield slack


@pytest.fixture
def web(fake: FakeSlack) -> WebClient:
    return WebClient(token=fake.bot_token, base_url=fake.base_url)


def _fetch(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[int, str, bytes]:
    """A bare urllib request, to see exactly what the fake answers on the wire."""
    request = urllib.request.Request(url, data=body, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.headers.get_content_type(), response.read()


def _error_of(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as raised:
        call()  # type: ignore[operator]
    return raised.value


# ----- Web API: auth, errors, scripted failures


def test_auth_test_identifies_the_bot_and_records_the_bearer_token(fake: FakeSlack, web: WebClient) -> None:
    response = web.auth_test()
    assert (response["user_id"], response["bot_id"], response["team_id"]) == (
        BOT_USER_ID,
        BOT_ID,
        TEAM_ID,
    )
    assert response["url"].startswith("https://")
    assert fake.base_url.endswith("/api/")
    [call] = fake.calls_to("auth.test")
    assert call.headers["authorization"] == f"Bearer {fake.bot_token}"


def test_missing_or_wrong_token_fails_with_status_200(fake: FakeSlack) -> None:
    no_token = _error_of(WebClient(base_url=fake.base_url).auth_test)
    wrong = _error_of(WebClient(token="xoxb-not-ours", base_url=fake.base_url).auth_test)
    assert (no_token.response.status_code, no_token.response["error"]) == (200, "not_authed")
    assert (wrong.response.status_code, wrong.response["error"]) == (200, "invalid_auth")


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [("application/x-www-form-urlencoded", urlencode), ("application/json", json.dumps)],
)
def test_token_and_params_may_come_in_a_form_or_json_body(fake: FakeSlack, content_type: str, encode: object) -> None:
    body = encode({"token": fake.bot_token, "channel": CHANNEL, "text": "hi"})  # type: ignore[operator]
    status, kind, raw = _fetch(f"{fake.base_url}chat.postMessage", body.encode(), {"Content-Type": content_type})
    assert (status, kind, json.loads(raw)["ok"]) == (200, "application/json", True)
    assert fake.calls_to("chat.postMessage")[0].params["text"] == "hi"


def test_each_token_type_only_opens_its_own_methods(fake: FakeSlack, web: WebClient) -> None:
    as_app = WebClient(token=fake.app_token, base_url=fake.base_url)
    assert (
        _error_of(lambda: web.apps_connections_open(app_token=fake.bot_token)).response["error"]
        == "not_allowed_token_type"
    )
    assert (
        _error_of(lambda: as_app.chat_postMessage(channel=CHANNEL, text="x")).response["error"]
        == "not_allowed_token_type"
    )
    assert as_app.apps_connections_open(app_token=fake.app_token)["url"].startswith("ws://")


def test_unknown_methods_and_scripted_failures_answer_like_slack(fake: FakeSlack, web: WebClient) -> None:
    assert _error_of(lambda: web.api_call("reid.nothing")).response["error"] == "unknown_method"
    fake.fail_next("chat.postMessage", "channel_not_found")
    failed = _error_of(lambda: web.chat_postMessage(channel=CHANNEL, text="x"))
    assert failed.response["error"] == "channel_not_found"
    assert web.chat_postMessage(channel=CHANNEL, text="x")["ok"]


# ----- Web API: rate limits with the real retry handlers


def test_rate_limit_answers_429_with_retry_after(fake: FakeSlack, web: WebClient) -> None:
    fake.rate_limit_next("chat.postMessage")
    limited = _error_of(lambda: web.chat_postMessage(channel=CHANNEL, text="x"))
    assert (limited.response.status_code, limited.response["error"]) == (429, "ratelimited")
    assert limited.response.headers["Retry-After"] == "1"
    assert web.chat_postMessage(channel=CHANNEL, text="x")["ok"]


def test_sync_retry_handler_retries_a_rate_limited_call(fake: FakeSlack) -> None:
    fake.rate_limit_next("chat.postMessage", retry_after=0)
    web = WebClient(token=fake.bot_token, base_url=fake.base_url, retry_handlers=[RateLimitErrorRetryHandler()])
    assert web.chat_postMessage(channel=CHANNEL, text="x")["ok"]
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429, 200]


def test_async_retry_handler_waits_retry_after_then_succeeds(fake: FakeSlack) -> None:
    fake.rate_limit_next("chat.postMessage")
    web = AsyncWebClient(
        token=fake.bot_token,
        base_url=fake.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler()],
    )
    started = time.monotonic()
    response = asyncio.run(web.chat_postMessage(channel=CHANNEL, text="x"))
    assert response["ok"] and time.monotonic() - started >= 1.0
    assert [call.status for call in fake.calls_to("chat.postMessage")] == [429, 200]


# ----- Web API: messages, reactions, views


def test_messages_get_increasing_ts_and_thread_together(fake: FakeSlack, web: WebClient) -> None:
    parent = web.chat_postMessage(
        channel=CHANNEL,
        text="Working on it",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": "*Working*"}},
        ],
    )
    reply = web.chat_postMessage(channel=CHANNEL, text="Done", thread_ts=parent["ts"])
    other = web.chat_postMessage(channel=CHANNEL, text="Elsewhere")
    assert float(parent["ts"]) < float(reply["ts"]) < float(other["ts"])
    assert parent["message"]["blocks"][0]["text"]["text"] == "*Working*"
    thread = web.conversations_replies(channel=CHANNEL, ts=parent["ts"])["messages"]
    history = web.conversations_history(channel=CHANNEL)["messages"]
    assert [m["text"] for m in thread] == ["Working on it", "Done"]
    assert [m["text"] for m in history] == ["Elsewhere", "Working on it"]


def test_update_keeps_fields_it_is_not_given_and_ephemeral_stays_out(fake: FakeSlack, web: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Queued"}}]
    posted = web.chat_postMessage(channel=CHANNEL, text="Queued", blocks=blocks)
    updated = web.chat_update(channel=CHANNEL, ts=posted["ts"], text="Done: 2 people found")
    ephemeral = web.chat_postEphemeral(channel=CHANNEL, user=USER_ID, text="Only you")
    assert updated["ts"] == posted["ts"] and ephemeral["message_ts"]
    [stored] = fake.messages(CHANNEL)
    assert (stored["text"], stored["blocks"]) == ("Done: 2 people found", blocks)
    missing = _error_of(lambda: web.chat_update(channel=CHANNEL, ts="1.000000", text="x"))
    assert missing.response["error"] == "message_not_found"
    users = fake.add_message(CHANNEL, "a person's message")
    foreign = _error_of(lambda: web.chat_update(channel=CHANNEL, ts=users["ts"], text="x"))
    assert foreign.response["error"] == "cant_update_message"


def test_reactions_fail_twice_like_slack(fake: FakeSlack, web: WebClient) -> None:
    message = fake.add_message(CHANNEL, "find Eileen")
    react = {"channel": CHANNEL, "timestamp": message["ts"], "name": "eyes"}
    web.reactions_add(**react)
    assert _error_of(lambda: web.reactions_add(**react)).response["error"] == "already_reacted"
    assert fake.messages(CHANNEL)[0]["reactions"] == [{"name": "eyes", "users": [BOT_USER_ID], "count": 1}]
    web.reactions_remove(**react)
    assert _error_of(lambda: web.reactions_remove(**react)).response["error"] == "no_reaction"
    assert fake.messages(CHANNEL)[0]["reactions"] == []


def test_views_open_then_update_by_id(fake: FakeSlack, web: WebClient) -> None:
    modal = {
        "type": "modal",
        "callback_id": "reid",
        "title": {"type": "plain_text", "text": "Find"},
        "blocks": [],
    }
    opened = web.views_open(trigger_id="123.456.abc", view=modal)["view"]
    retitled = {**modal, "title": {"type": "plain_text", "text": "Running"}}
    updated = web.views_update(view_id=opened["id"], hash=opened["hash"], view=retitled)["view"]
    assert opened["id"].startswith("V") and updated["id"] == opened["id"]
    assert updated["title"]["text"] == "Running" and updated["callback_id"] == "reid"
    stale = _error_of(lambda: web.views_update(view_id=opened["id"], hash=opened["hash"], view=modal))
    assert stale.response["error"] == "hash_conflict"
    assert _error_of(lambda: web.views_update(view_id="V404", view=modal)).response["error"] == "not_found"


# ----- Files: uploads, downloads, stubs


def test_files_upload_v2_sends_several_files_into_a_thread(fake: FakeSlack, web: WebClient) -> None:
    parent = web.chat_postMessage(channel=CHANNEL, text="Results")
    response = web.files_upload_v2(
        channel=CHANNEL,
        thread_ts=parent["ts"],
        initial_comment="Eileen at 0:03",
        file_uploads=[
            {"content": b"png-bytes", "filename": "eileen.png", "title": "Eileen"},
            {"content": b"jpg-bytes", "filename": "grace.jpg", "title": "Grace"},
        ],
    )
    ids = [file["id"] for file in response["files"]]
    uploaded = [fake.uploaded_files[file_id] for file_id in ids]
    assert [(u["filename"], u["bytes"], u["title"]) for u in uploaded] == [
        ("eileen.png", b"png-bytes", "Eileen"),
        ("grace.jpg", b"jpg-bytes", "Grace"),
    ]
    assert all(
        (u["channel_id"], u["thread_ts"], u["initial_comment"]) == (CHANNEL, parent["ts"], "Eileen at 0:03")
        for u in uploaded
    )
    assert [call.method for call in fake.calls[1:]] == [
        "files.getUploadURLExternal",
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    shared = web.conversations_replies(channel=CHANNEL, ts=parent["ts"])["messages"][-1]
    assert [file["name"] for file in shared["files"]] == ["eileen.png", "grace.jpg"]
    assert web.files_info(file=ids[1])["file"]["mimetype"] == "image/jpeg"


def test_async_files_upload_v2_reaches_uploaded_files(fake: FakeSlack) -> None:
    web = AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)
    response = asyncio.run(web.files_upload_v2(channel=CHANNEL, content=b"\x89PNG", filename="map.png", title="Map"))
    assert fake.uploaded_files[response["file"]["id"]]["bytes"] == b"\x89PNG"


def test_raw_upload_answers_ok_with_the_length(fake: FakeSlack, web: WebClient) -> None:
    issued = web.files_getUploadURLExternal(filename="clip.mp4", length=5)
    assert issued["upload_url"].startswith(fake.url)
    assert _fetch(issued["upload_url"], b"12345") == (200, "text/plain", b"OK - 5")
    incomplete = _error_of(lambda: web.files_completeUploadExternal(files=[{"id": "F404"}]))
    assert incomplete.response["error"] == "file_not_found"


def test_downloads_need_the_bot_token_or_get_an_html_sign_in_page(fake: FakeSlack) -> None:
    data = b"\x00\x00\x00\x18ftypmp42" + bytes(64)
    file = fake.add_file("clip.mp4", data, "video/mp4", "mp4")
    bearer = {"Authorization": f"Bearer {fake.bot_token}"}
    assert file["size"] == len(data) and f"{TEAM_ID}-{file['id']}" in file["url_private"]
    assert _fetch(file["url_private_download"], headers=bearer) == (200, "video/mp4", data)
    anonymous = _fetch(file["url_private_download"])
    wrong = _fetch(file["url_private"], headers={"Authorization": "Bearer xoxb-not-ours"})
    assert anonymous[:2] == wrong[:2] == (200, "text/html")
    assert b"Sign in" in anonymous[2]
    assert [download.authorized for download in fake.downloads] == [True, False, False]


def test_stub_files_only_expand_through_files_info(fake: FakeSlack, web: WebClient) -> None:
    stub = fake.add_file("door.mov", b"moov", "video/quicktime", "mov", stub=True)
    assert (stub["mode"], stub["file_access"]) == ("file_access", "check_file_info")
    assert "url_private_download" not in stub
    full = web.files_info(file=stub["id"])["file"]
    assert (full["name"], full["size"], full["mimetype"]) == ("door.mov", 4, "video/quicktime")
    assert _error_of(lambda: web.files_info(file="F404")).response["error"] == "file_not_found"


# ----- Socket Mode


def test_aiohttp_socket_mode_client_receives_an_event_and_acks_it(fake: FakeSlack) -> None:
    received: list[dict] = []
    requests: list[SocketModeRequest] = []

    async def on_message(client: AsyncBaseSocketModeClient, message: dict, raw: str | None) -> None:
        received.append(message)

    async def on_request(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        requests.append(request)
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    async def scenario() -> tuple[str, dict]:
        client = AiohttpSocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.base_url))
        client.message_listeners.append(on_message)
        client.socket_mode_request_listeners.append(on_request)
        await client.connect()
        try:
            event = fake.event_callback({"type": "app_mention", "channel": CHANNEL, "text": "hi"})
            envelope_id = fake.socket_send("events_api", event, 1, "timeout")
            return envelope_id, await fake.wait_for_ack_async(envelope_id)
        finally:
            await client.close()

    envelope_id, ack = asyncio.run(scenario())
    assert ack == {"envelope_id": envelope_id}
    assert [message["type"] for message in received] == ["hello", "events_api"]
    [request] = requests
    assert (request.type, request.retry_attempt, request.retry_reason) == (
        "events_api",
        1,
        "timeout",
    )
    assert request.payload["event"]["type"] == "app_mention"
    assert fake.calls_to("apps.connections.open")[0].headers["authorization"].endswith(fake.app_token)


def test_disconnect_message_makes_the_client_reconnect(fake: FakeSlack) -> None:
    async def on_request(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id))

    async def scenario() -> dict:
        client = AiohttpSocketModeClient(app_token=fake.app_token, web_client=AsyncWebClient(base_url=fake.base_url))
        client.socket_mode_request_listeners.append(on_request)
        await client.connect()
        try:
            fake.socket_request_reconnect()
            await fake.wait_for_async(lambda: fake.socket_connects == 2 and fake.socket_connections == 1)
            return await fake.wait_for_ack_async(fake.socket_send("events_api", {"n": 1}))
        finally:
            await client.close()

    assert asyncio.run(scenario())["envelope_id"]
    assert len(fake.calls_to("apps.connections.open")) == 2


def test_builtin_client_acks_a_slash_command_with_a_payload(fake: FakeSlack) -> None:
    requests: list[SocketModeRequest] = []

    def on_request(client: BaseSocketModeClient, request: SocketModeRequest) -> None:
        requests.append(request)
        client.send_socket_mode_response(SocketModeResponse(request.envelope_id, {"text": "On it"}))

    client = BuiltinSocketModeClient(app_token=fake.app_token, web_client=WebClient(base_url=fake.base_url))
    client.socket_mode_request_listeners.append(on_request)
    client.connect()
    try:
        command = {"command": "/reid", "text": "", "trigger_id": "1.2.3", "channel_id": CHANNEL}
        envelope_id = fake.socket_send("slash_commands", command)
        ack = fake.wait_for_ack(envelope_id)
    finally:
        client.close()
    assert ack == {"envelope_id": envelope_id, "payload": {"text": "On it"}}
    assert requests[0].accepts_response_payload and requests[0].retry_attempt is None


def test_socket_server_says_hello_and_refuses_unissued_tickets(fake: FakeSlack) -> None:
    url = WebClient(base_url=fake.base_url).apps_connections_open(app_token=fake.app_token)["url"]
    with connect(url) as socket:
        hello = json.loads(socket.recv(timeout=5))
    assert hello["type"] == "hello" and hello["connection_info"]["app_id"]
    with pytest.raises(InvalidStatus) as refused:
        connect(url.split("?")[0] + "?ticket=forged")
    assert refused.value.response.status_code == 401


def test_bolt_app_in_socket_mode_replies_to_a_mention_in_its_thread(fake: FakeSlack) -> None:
    app = App(client=WebClient(token=fake.bot_token, base_url=fake.base_url))

    @app.event("app_mention")
    def reply(event: dict, say: object) -> None:
        say(text="On it", thread_ts=event["ts"])  # type: ignore[operator]

    footage = fake.add_file("clip.mp4", b"mp4", "video/mp4", "mp4")
    message = fake.add_message(CHANNEL, f"<@{BOT_USER_ID}> find Eileen", files=[footage])
    handler = SocketModeHandler(app, fake.app_token)
    handler.connect()
    try:
        mention = {**message, "type": "app_mention", "channel": CHANNEL}
        envelope_id = fake.socket_send("events_api", fake.event_callback(mention))
        fake.wait_for_ack(envelope_id)
        [posted] = fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    finally:
        handler.close()
    assert (posted.params["channel"], posted.params["thread_ts"]) == (CHANNEL, message["ts"])
    assert fake.calls_to("auth.test"), "Bolt verifies its token at start"


# ----- Signing


def test_sign_request_passes_slack_sdk_verification() -> None:
    body = b'{"type":"event_callback"}'
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, sign_request("s3cret", body))
    assert not verifier.is_valid_request(body + b" ", sign_request("s3cret", body))
    stale = sign_request("s3cret", body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_slow_down_answers_late_and_records_a_call_only_once_answered(fake: FakeSlack, web: WebClient) -> None:
    fake.slow_down(0.5)
    answered: list[str] = []
    caller = threading.Thread(target=lambda: answered.append(web.chat_postMessage(channel="C1", text="hi")["ts"]))
    caller.start()
    assert fake.calls == [] and answered == [], "still waiting for the answer"
    caller.join(timeout=10)
    [call] = fake.calls_to("chat.postMessage")
    assert answered == [fake.messages("C1")[0]["ts"]] and call.status == 200
    fake.slow_down(0)
