# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""The Slack bot in HTTP mode, end to end: real signed requests to the bot served by uvicorn, the
loopback Slack fake answering its Web API calls, the real engine where the answer matters."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import (
    CHANNEL,
    ENGINE_TIMEOUT_S,
    SIGNING_SECRET,
    CannedBackend,
    Media,
    RunningBot,
    block_text,
    button_click,
    finished,
    mention_payload,
    reply_containing,
    share_alice_and_bob,
    share_video,
    thread_replies,
    view_submission,
)
from fakes.slack import BOT_USER_ID, TEAM_ID, USER_ID, FakeSlack, sign_request

from bot.reid.app import ReIDBot
from bot.reid.modal import ModalContext, request_view
from bot.reid.run import looser_tolerance
from bot.reid.settings import BotSettings
from bot.reid.store import Store
from bot.reid.submission import Reference, SlackFile, Submission
from tools.reid.facade import ReIDTool
from tools.reid.schemas import ReIDResult
from tools.reid.settings import ReIDSettings

pytest_plugins = ["bot_fixtures"]

StartBot = Callable[..., RunningBot]
MM_SS_RANGE = re.compile(r"\d+:\d\d–\d+:\d\d")


class PictureRecordingTool(ReIDTool):
    """The real tool, noting the pictures it drew, so a test can check that each was uploaded."""

    def __init__(self, settings: ReIDSettings) -> None:
        super().__init__(settings)
        self.rendered: list[list[str]] = []

    def render_pictures(self, media: Path, result: ReIDResult, out_dir: Path, unknown: bool = False) -> list[Path]:
        pictures = super().render_pictures(media, result, out_dir, unknown)
        self.rendered.append([path.name for path in pictures])
        return pictures


def test_mention_with_a_video_and_two_photos_answers_in_the_thread(
    fake: FakeSlack,
    start_bot: StartBot,
    media: Media,
    bot_settings: BotSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    tool = PictureRecordingTool(ReIDSettings(workers=1))
    running = start_bot(tool)
    # Slack titles an upload after its file name; a title the user typed wins over the file name.
    lin = fake.add_file("Lin-Manuel Miranda.png", media.alice_png, "image/png", "png", title="Lin-Manuel Miranda")
    zoe = fake.add_file("IMG_2.jpg", media.bob_jpg, "image/jpeg", "jpg", title="Zoë O'Brien")
    ts, _ = running.mention(f"<@{BOT_USER_ID}> who is in this clip?", [share_video(fake, media, stub=True), lin, zoe])

    assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
    answer = reply_containing(fake, ts, "*Lin-Manuel Miranda*: found")
    header, *_ = answer["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Found: Lin-Manuel Miranda, Zoë O'Brien", "emoji": True},
    }
    shown = block_text(answer)
    assert "*Zoë O'Brien*: found" in shown and MM_SS_RANGE.search(shown) and "confidence" in shown
    assert answer["text"].startswith("Found: Lin-Manuel Miranda, Zoë O'Brien.") and len(answer["blocks"]) <= 50
    [buttons] = [block["elements"] for block in answer["blocks"] if block["type"] == "actions"]
    [entry] = running.bot.store.audit()
    assert [(b["text"]["text"], b["value"]) for b in buttons] == [
        ("Show every appearance", entry.request_id),
        ("Remember Lin-Manuel Miranda", f"{entry.request_id}:Lin-Manuel Miranda"),
        ("Remember Zoë O'Brien", f"{entry.request_id}:Zoë O'Brien"),
    ]

    [upload] = fake.calls_to("files.completeUploadExternal")
    assert (upload.params["channel_id"], upload.params["thread_ts"]) == (CHANNEL, ts)
    [rendered] = tool.rendered
    pictures = list(fake.uploaded_files.values())
    assert rendered and [p["filename"] for p in pictures] == rendered
    assert all(p["bytes"].startswith((b"\xff\xd8", b"\x89PNG")) for p in pictures), "JPEG or PNG images"
    assert all("clip.mp4" in p["title"] and p["alt_txt"] == p["title"] for p in pictures)
    [shared] = [m for m in thread_replies(fake, ts) if m.get("files")]
    assert float(shared["ts"]) > float(answer["ts"]), "the pictures follow the answer"

    assert all(call.params.get("thread_ts") == ts for call in fake.calls_to("chat.postMessage"))
    [status] = [m for m in thread_replies(fake, ts) if "Looking for Lin-Manuel Miranda and Zoë O'Brien" in m["text"]]
    assert status["text"].endswith("s.") and "done in" in status["text"]
    assert {call.params["ts"] for call in fake.calls_to("chat.update")} == {status["ts"]}

    added = [call.params["name"] for call in fake.calls_to("reactions.add")]
    assert added == ["eyes", "white_check_mark"]
    assert [call.params["name"] for call in fake.calls_to("reactions.remove")] == ["eyes"]
    assert fake.calls_to("files.info"), "the stub video is read back with files.info"
    assert len(fake.downloads) == 3 and all(download.authorized for download in fake.downloads)
    assert (entry.user, entry.channel, entry.names, entry.outcome) == (
        USER_ID,
        CHANNEL,
        ["Lin-Manuel Miranda", "Zoë O'Brien"],
        "done",
    )
    work = running.bot.runner.work.path
    assert work.parent == bot_settings.work_dir
    assert fake.wait_for(lambda: not any(work.iterdir())), "downloads go when the request ends"

    assert running.interaction(button_click(answer, "Show every appearance")).status_code == 200
    listing = reply_containing(fake, ts, "Every appearance in clip.mp4")
    listed = block_text(listing)
    assert "*Lin-Manuel Miranda*: 1 appearance" in listed and "*Zoë O'Brien*: 1 appearance" in listed
    assert len(MM_SS_RANGE.findall(listed)) == 2
    assert "request" in caplog.text and "accepted" in caplog.text
    for secret in (fake.bot_token, SIGNING_SECRET, "files-pri", "url_private"):
        assert secret not in caplog.text, f"the logs hold {secret!r}"


def _open_modal_view(fake: FakeSlack) -> dict[str, Any]:
    call = fake.wait_for(lambda: fake.calls_to("views.open"))[-1]
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def _files_value(*files: dict[str, Any]) -> dict[str, Any]:
    return {"value": {"type": "file_input", "files": list(files)}}


def _text_value(text: str | None) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": text}}


def test_a_caption_model_writes_the_answer_and_the_thread_shows_its_tokens(
    fake: FakeSlack, start_bot: StartBot, media: Media
) -> None:
    """With a caption model configured the thread's caption is the model's (the real ChatOpenAI
    against the loopback fake), and a line under it names the model and its token counts."""
    from fakes.openai import HONEST_USAGE, FakeOpenAI, honest

    model = FakeOpenAI(default=honest)
    try:
        settings = ReIDSettings(workers=1, caption_model="openai:fake-slack", caption_base_url=model.base_url)
        running = start_bot(ReIDTool(settings))
        ts, _ = running.mention(
            f"<@{BOT_USER_ID}> what happens here?", [share_video(fake, media), *share_alice_and_bob(fake, media)]
        )
        assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
        answer = reply_containing(fake, ts, "Caption written by openai:fake-slack")
    finally:
        model.close()
    (sent,) = model.received
    assert "Question: what happens here?" in sent.text_of("user") and sent.images
    caption = honest(sent).text  # type: ignore[union-attr]
    assert answer["blocks"][1]["text"]["text"] == caption
    used_in, used_out = HONEST_USAGE
    note = answer["blocks"][2]["elements"][0]["text"]
    assert note == (
        f":speech_balloon: Caption written by openai:fake-slack, checked against the findings ({used_in} input + "
        f"{used_out} output = {used_in + used_out} tokens)."
    )


def test_slash_command_opens_the_modal_and_its_submission_answers_in_a_new_thread(
    fake: FakeSlack, start_bot: StartBot, engine_tool: ReIDTool, media: Media
) -> None:
    running = start_bot(engine_tool)
    assert running.command().status_code == 200
    view = _open_modal_view(fake)
    inputs = {block["block_id"]: block["element"] for block in view["blocks"] if block["type"] == "input"}
    assert inputs["footage"]["type"] == "file_input" and inputs["footage"]["max_files"] == 1
    assert [inputs[f"photo_{n}"]["type"] for n in range(1, 6)] == ["file_input"] * 5
    assert json.loads(view["private_metadata"])["channel"] == CHANNEL

    alice, bob = share_alice_and_bob(fake, media)
    values = {
        "footage": _files_value(share_video(fake, media)),
        "photo_1": _files_value(alice),
        "name_1": _text_value("Eileen"),
        "photo_2": _files_value(bob),
        "name_2": _text_value(None),
        "question": _text_value("Who is on screen?"),
    }
    response = running.interaction(view_submission(view, values))
    assert response.status_code == 200 and not response.content.strip(b"{} ")

    [parent] = fake.wait_for(lambda: [m for m in fake.messages(CHANNEL) if "asked me to look for" in m["text"]])
    assert "Eileen and Bob" in parent["text"] and "thread_ts" not in parent
    assert finished(fake, parent["ts"], ENGINE_TIMEOUT_S) == ["white_check_mark"]
    assert "*Eileen*: found" in block_text(reply_containing(fake, parent["ts"], "*Bob*: found"))
    [upload] = fake.calls_to("files.completeUploadExternal")
    assert upload.params["thread_ts"] == parent["ts"]


def test_modal_input_problems_are_shown_under_the_inputs(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, media: Media
) -> None:
    running = start_bot(canned_tool)
    running.command()
    view = _open_modal_view(fake)
    notes = fake.add_file("notes.txt", b"not footage", "text/plain", "text")
    values = {"footage": _files_value(notes), "photo_1": {}, "name_2": _text_value("Bob")}
    response = running.interaction(view_submission(view, values))
    answer = response.json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"footage", "photo_1", "photo_2"}
    assert "notes.txt" in answer["errors"]["footage"] and "Bob" in answer["errors"]["photo_2"]


def test_message_shortcut_prefills_the_footage_and_answers_in_that_thread(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, canned: CannedBackend, media: Media
) -> None:
    running = start_bot(canned_tool)
    group = fake.add_file("team.jpg", media.group_jpg, "image/jpeg", "jpg")
    message = fake.add_message(CHANNEL, "our offsite", files=[group])
    shortcut = {
        "type": "message_action",
        "callback_id": "find_people",
        "trigger_id": "trigger-shortcut",
        "team": {"id": TEAM_ID, "domain": "fake-team"},
        "user": {"id": USER_ID, "name": "alice.user"},
        "channel": {"id": CHANNEL, "name": "footage"},
        "message": message,
        "message_ts": message["ts"],
        "response_url": f"{fake.url}response/2",
    }
    assert running.interaction(shortcut).status_code == 200
    view = _open_modal_view(fake)
    assert "footage" not in {block.get("block_id") for block in view["blocks"]}
    assert "team.jpg" in view["blocks"][0]["text"]["text"]
    context = json.loads(view["private_metadata"])
    assert (context["thread_ts"], context["footage"]["id"]) == (message["ts"], group["id"])

    [alice, _] = share_alice_and_bob(fake, media)
    running.interaction(view_submission(view, {"photo_1": _files_value(alice)}))
    assert finished(fake, message["ts"]) == ["white_check_mark"]
    reply_containing(fake, message["ts"], "*Alice*: not found")
    [request] = canned.requests
    assert request.media.endswith("footage.jpg") and [p.name for p in request.persons] == ["Alice"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        sign_request(SIGNING_SECRET, b"{}", timestamp=int(time.time()) - 600),
    ],
    ids=["unsigned", "bad signature", "stale"],
)
def test_unsigned_badly_signed_or_stale_requests_are_refused(
    start_bot: StartBot, canned_tool: ReIDTool, headers: dict[str, str]
) -> None:
    running = start_bot(canned_tool)
    assert running.post(b"{}", "application/json", headers).status_code == 401


def test_a_slack_retry_or_a_second_delivery_does_not_run_twice(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, canned: CannedBackend, media: Media
) -> None:
    running = start_bot(canned_tool)
    payload = mention_payload(fake, f"<@{BOT_USER_ID}>", [share_video(fake, media), *share_alice_and_bob(fake, media)])
    ts = payload["event"]["ts"]
    assert running.event(payload).status_code == 200
    assert running.event(payload, retry_num=1).status_code == 200
    as_direct_message = {**payload["event"], "type": "message", "subtype": "file_share", "channel_type": "im"}
    assert running.event(fake.event_callback(as_direct_message)).status_code == 200

    assert finished(fake, ts) == ["white_check_mark"]
    assert len(canned.requests) == 1
    assert len(running.bot.store.audit()) == 1
    assert [call.params["name"] for call in fake.calls_to("reactions.add")] == ["eyes", "white_check_mark"]


def _share(fake: FakeSlack, media: Media, name: str) -> dict[str, Any]:
    """A file a user shares, its content chosen by the name's extension."""
    if name.endswith(".mp4"):
        return share_video(fake, media, name)
    if name.endswith(".txt"):
        return fake.add_file(name, b"meeting notes", "text/plain", "text")
    return fake.add_file(name, media.alice_png, "image/png", "png")


@pytest.mark.parametrize(
    ("files", "text", "expected"),
    [
        ([], "", "There are no files in your message."),
        (["clip.mp4"], "", "no photo of anyone to look for"),
        (["clip.mp4", "notes.txt"], "", "notes.txt (text/plain) is not a video or photo"),
        (["clip.mp4", "other.mp4", "alice.png"], "", "2 videos"),
        (["alice.png", "bob.png"], "Alice=alice.png Bob=bob.png", "Every photo is named as a person"),
        (["clip.mp4", "alice.png"], "Carol=carol.jpg", "Carol=carol.jpg names a file that is not in your message"),
        (["clip.mp4", *(f"p{n}.png" for n in range(1, 7))], "", "at most 5 at once"),
    ],
    ids=["no files", "no reference", "unsupported file", "two videos", "no footage", "unknown pair", "six people"],
)
def test_incomplete_requests_get_a_reply_that_says_what_to_send(
    fake: FakeSlack,
    start_bot: StartBot,
    canned_tool: ReIDTool,
    media: Media,
    files: list[str],
    text: str,
    expected: str,
) -> None:
    running = start_bot(canned_tool)
    ts, _ = running.mention(f"<@{BOT_USER_ID}> {text}", [_share(fake, media, name) for name in files])
    reply = reply_containing(fake, ts, expected)
    assert "How to ask me" in block_text(reply)
    assert running.bot.store.audit() == [] and fake.calls_to("reactions.add") == []


def test_help_by_mention_and_by_slash_command(fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool) -> None:
    running = start_bot(canned_tool)
    ts, _ = running.mention(f"<@{BOT_USER_ID}> help", [])
    reply_containing(fake, ts, "How to ask me")
    answer = running.command("help").json()
    assert "How to ask me" in answer["text"] and answer["blocks"]
    assert fake.calls_to("views.open") == []


def test_a_corrupt_video_gets_an_error_reply_and_a_cross(
    fake: FakeSlack, start_bot: StartBot, engine_tool: ReIDTool, media: Media
) -> None:
    running = start_bot(engine_tool)
    broken = fake.add_file("broken.mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000, "video/mp4", "mp4")
    ts, _ = running.mention(f"<@{BOT_USER_ID}>", [broken, *share_alice_and_bob(fake, media)])
    assert finished(fake, ts, 30) == ["x"]
    reply = reply_containing(fake, ts, ":x:")
    assert "broken.mp4" in reply["text"] and "footage.mp4" not in reply["text"]
    assert fake.calls_to("files.completeUploadExternal") == []
    assert running.bot.store.audit()[0].outcome == "failed"


def test_a_sign_in_page_instead_of_a_file_is_reported(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, media: Media
) -> None:
    sign_in = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>"
    running = start_bot(canned_tool)
    page = fake.add_file("clip.mp4", sign_in, "video/mp4", "mp4")
    ts, _ = running.mention(f"<@{BOT_USER_ID}>", [page, *share_alice_and_bob(fake, media)])
    assert finished(fake, ts) == ["x"]
    assert "sign-in page instead of clip.mp4" in reply_containing(fake, ts, ":x:")["text"]


def test_footage_over_the_limit_is_refused_before_downloading(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, media: Media, bot_settings: BotSettings
) -> None:
    running = start_bot(canned_tool, bot_settings.model_copy(update={"max_footage_bytes": 1000}))
    ts, _ = running.mention(f"<@{BOT_USER_ID}>", [share_video(fake, media), *share_alice_and_bob(fake, media)])
    reply_containing(fake, ts, "footage can be at most")
    assert fake.downloads == []


def test_allow_lists_refuse_politely(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, media: Media, bot_settings: BotSettings
) -> None:
    running = start_bot(canned_tool, bot_settings.model_copy(update={"allowed_channels": frozenset({"C0OTHER"})}))
    running.mention(f"<@{BOT_USER_ID}>", [share_video(fake, media), *share_alice_and_bob(fake, media)])
    [ephemeral] = fake.wait_for(lambda: fake.calls_to("chat.postEphemeral"))
    assert ephemeral.params["user"] == USER_ID and "not enabled" in ephemeral.params["text"]
    assert "not enabled" in running.command().text
    assert running.bot.store.audit() == [] and fake.calls_to("views.open") == []


def test_a_modal_submitted_where_the_bot_is_not_enabled_is_refused(
    fake: FakeSlack,
    start_bot: StartBot,
    canned_tool: ReIDTool,
    canned: CannedBackend,
    media: Media,
    bot_settings: BotSettings,
) -> None:
    """A modal opened before the allow-lists narrowed (or a forged submission) is checked again."""
    running = start_bot(canned_tool, bot_settings.model_copy(update={"allowed_users": frozenset({"U0OTHER"})}))
    view = request_view(ModalContext(source="modal", channel=CHANNEL))
    alice, _ = share_alice_and_bob(fake, media)
    response = running.interaction(
        view_submission(view, {"footage": _files_value(share_video(fake, media)), "photo_1": _files_value(alice)})
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "update" and "not enabled" in json.dumps(answer["view"])
    assert running.bot.store.audit() == [] and canned.requests == []


def test_a_channel_without_the_bot_gets_a_direct_message_instead(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, canned: CannedBackend, media: Media
) -> None:
    running = start_bot(canned_tool)
    running.command()
    view = _open_modal_view(fake)
    fake.fail_next("chat.postMessage", "not_in_channel")
    alice, _ = share_alice_and_bob(fake, media)
    running.interaction(
        view_submission(view, {"footage": _files_value(share_video(fake, media)), "photo_1": _files_value(alice)})
    )
    [dm] = fake.wait_for(lambda: fake.messages(USER_ID))
    assert "/invite" in dm["text"] and f"<#{CHANNEL}>" in dm["text"]
    assert [entry.outcome for entry in running.bot.store.audit()] == ["failed"]
    assert canned.requests == [], "nothing was searched"


def test_a_request_left_unfinished_by_a_restart_is_answered(
    fake: FakeSlack,
    start_bot: StartBot,
    canned_tool: ReIDTool,
    canned: CannedBackend,
    media: Media,
    bot_settings: BotSettings,
) -> None:
    files = [share_video(fake, media), *share_alice_and_bob(fake, media)]
    message = fake.add_message(CHANNEL, f"<@{BOT_USER_ID}>", files=files)
    submission = Submission(
        source="mention",
        team=TEAM_ID,
        channel=CHANNEL,
        thread_ts=message["ts"],
        message_ts=message["ts"],
        user=USER_ID,
        footage=SlackFile.from_slack(files[0]),
        references=[
            Reference(name=n, file=SlackFile.from_slack(f)) for n, f in zip(["Alice", "Bob"], files[1:], strict=True)
        ],
    )
    store = Store(bot_settings.db_path)
    stored = store.add(submission)
    assert store.start(stored.id) is not None  # it was running when the old process died
    store.close()

    start_bot(canned_tool)
    assert finished(fake, message["ts"]) == ["white_check_mark"]
    reply_containing(fake, message["ts"], "*Bob*: not found")
    assert len(canned.requests) == 1


SLOW_SLACK_S = 2.0
"""Each Web API call answered this late: an ack that waited for even one call would come after it."""


def test_every_delivery_is_acknowledged_before_any_web_api_call_completes(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, canned: CannedBackend, media: Media
) -> None:
    """Slack wants a 2xx within 3 seconds: a slow Web API must not delay it. Each delivery is sent
    while Slack answers late; when its response arrives, the fake has completed no call yet."""
    running = start_bot(canned_tool)

    def acked_before_any_call(deliver: Callable[[], int]) -> None:
        mark = len(fake.calls)
        fake.slow_down(SLOW_SLACK_S)
        try:
            assert deliver() == 200
            assert fake.calls[mark:] == [], "the ack waited for the Web API"
        finally:
            fake.slow_down(0)

    # A mention with a stub video needs files.info, reactions.add and chat.postMessage: all after the ack.
    payload = mention_payload(
        fake, f"<@{BOT_USER_ID}>", [share_video(fake, media, stub=True), *share_alice_and_bob(fake, media)]
    )
    ts = payload["event"]["ts"]
    acked_before_any_call(lambda: running.event(payload).status_code)
    assert finished(fake, ts, 30) == ["white_check_mark"]
    assert fake.calls_to("files.info") and [c.params["name"] for c in fake.calls_to("reactions.add")][0] == "eyes"

    answer = reply_containing(fake, ts, "Nobody found")
    acked_before_any_call(lambda: running.interaction(button_click(answer, "Look again, less strict")).status_code)
    reply_containing(fake, ts, "(less strict)", timeout=30)

    acked_before_any_call(lambda: running.command().status_code)
    view = _open_modal_view(fake)
    alice, _ = share_alice_and_bob(fake, media)
    values = {"footage": _files_value(share_video(fake, media)), "photo_1": _files_value(alice)}
    acked_before_any_call(lambda: running.interaction(view_submission(view, values)).status_code)
    [parent] = fake.wait_for(lambda: [m for m in fake.messages(CHANNEL) if "asked me to look for" in m["text"]], 30)
    assert finished(fake, parent["ts"], 30) == ["white_check_mark"]

    message = fake.add_message(CHANNEL, "offsite", files=[share_video(fake, media, stub=True)])
    opened = len(fake.calls_to("views.open"))
    acked_before_any_call(lambda: running.interaction(_shortcut(fake, message)).status_code)
    fake.wait_for(lambda: len(fake.calls_to("views.open")) > opened, 30)
    assert len(canned.requests) == 3


def _shortcut(fake: FakeSlack, message: dict[str, Any]) -> dict[str, Any]:
    """The message_action payload of "Find people in this footage" on ``message``."""
    return {
        "type": "message_action",
        "callback_id": "find_people",
        "trigger_id": f"trigger-{time.monotonic_ns()}",
        "team": {"id": TEAM_ID, "domain": "fake-team"},
        "user": {"id": USER_ID, "name": "alice.user"},
        "channel": {"id": CHANNEL, "name": "footage"},
        "message": message,
        "message_ts": message["ts"],
        "response_url": f"{fake.url}response/2",
    }


def test_look_again_less_strict_reruns_with_a_looser_tolerance_even_after_a_restart(
    fake: FakeSlack, start_bot: StartBot, canned_tool: ReIDTool, canned: CannedBackend, media: Media
) -> None:
    first = start_bot(canned_tool)
    alice, _ = share_alice_and_bob(fake, media)
    ts, _ = first.mention(f"<@{BOT_USER_ID}> is Alice=alice.png here?", [share_video(fake, media), alice])
    assert finished(fake, ts) == ["white_check_mark"]
    answer = reply_containing(fake, ts, "Nobody found")
    labels = [e["text"]["text"] for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert labels == ["Look again, less strict"], "nothing to list when nobody was found"
    first.stop()

    second = start_bot(canned_tool)
    click = button_click(answer, "Look again, less strict")
    assert second.interaction(click).status_code == 200
    assert second.interaction(click).status_code == 200, "a double click"
    again = reply_containing(fake, ts, "(less strict)")
    [header] = [b["text"]["text"] for b in again["blocks"] if b["type"] == "header"]
    assert header == "Nobody found (less strict)"

    strict, loose = (request.options.effective_tolerance() for request in canned.requests)
    assert strict == canned_tool.settings.analysis_options().effective_tolerance()
    assert loose == looser_tolerance(strict, canned_tool.settings.descriptor) and loose > strict
    assert f"tolerance {loose:g} instead of {strict:g}" in block_text(again)
    assert reply_containing(fake, ts, "Looking again, less strictly, for Alice in clip.mp4: done in")
    assert [r.prompt for r in canned.requests] == ["is Alice here?"] * 2
    assert [[p.name for p in r.persons] for r in canned.requests] == [["Alice"], ["Alice"]]
    assert len(second.bot.store.audit()) == 2, "the double click ran once"
    assert [c.params["name"] for c in fake.calls_to("reactions.add")] == ["eyes", "white_check_mark"]


def test_no_bolt_warning_about_an_unused_token_at_start(
    bot_settings: BotSettings, canned_tool: ReIDTool, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bolt reads SLACK_BOT_TOKEN from the environment, as `reid bot` is configured."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", bot_settings.slack_bot_token.get_secret_value())
    caplog.set_level(logging.DEBUG)
    bot = ReIDBot(bot_settings, canned_tool)
    asyncio.run(bot.stop())
    assert "will be unused" not in caplog.text and "token" not in caplog.text.casefold()


def test_a_delivery_acknowledged_just_before_a_crash_is_handled_at_the_next_start(
    fake: FakeSlack,
    start_bot: StartBot,
    canned_tool: ReIDTool,
    canned: CannedBackend,
    media: Media,
    bot_settings: BotSettings,
) -> None:
    """The listener stored it and Slack had its ack; the process died before the desk got to it."""
    alice, _ = share_alice_and_bob(fake, media)
    event = mention_payload(fake, f"<@{BOT_USER_ID}> is Alice=alice.png here?", [share_video(fake, media), alice])[
        "event"
    ]
    store = Store(bot_settings.db_path)
    store.receive("message", {"event": event, "source": "mention", "team": TEAM_ID, "bot_user_id": BOT_USER_ID})
    store.close()

    running = start_bot(canned_tool)
    assert finished(fake, event["ts"]) == ["white_check_mark"]
    reply_containing(fake, event["ts"], "*Alice*: not found")
    assert [r.prompt for r in canned.requests] == ["is Alice here?"]
    assert running.bot.store.inbox() == []
