# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""The workspace's gallery through the real Bolt app, driven by signed requests, against the
loopback Slack fake: /reid remember, a mention naming enrolled people, "Remember NAME" on an
answer, /reid people, /reid forget (who may, what it deletes) and /reid audit for admins."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest

pytest.register_assert_rewrite("bot_fixtures")

from bot_fixtures import (
    CHANNEL,
    ENGINE_TIMEOUT_S,
    Media,
    RunningBot,
    block_text,
    button_click,
    finished,
    reply_containing,
    share_video,
    thread_replies,
    view_submission,
)
from fakes.slack import BOT_USER_ID, TEAM_ID, USER_ID, FakeSlack

from bot.reid.retract import REMOVED_TEXT
from tools.reid.facade import ReIDTool
from tools.reid.settings import ReIDSettings

pytest_plugins = ["bot_fixtures"]

StartBot = Callable[..., RunningBot]
OTHER_USER = "U0FAKEUSR2"


def _views(fake: FakeSlack) -> list[dict[str, Any]]:
    return [
        json.loads(c.params["view"]) if isinstance(c.params["view"], str) else c.params["view"]
        for c in fake.calls_to("views.open")
    ]


def _ephemeral(fake: FakeSlack, needle: str, timeout: float = ENGINE_TIMEOUT_S) -> str:
    def find() -> str | None:
        texts = [c.params["text"] for c in fake.calls_to("chat.postEphemeral")]
        return next((t for t in texts if needle in t), None)

    return fake.wait_for(find, timeout)


def _remember(running: RunningBot, view: dict[str, Any], name: str, photos: list[dict], consent: str) -> Any:
    values = {
        "name": {"value": {"type": "plain_text_input", "value": name}},
        "photos": {"value": {"type": "file_input", "files": photos}},
        "consent": {"value": {"type": "plain_text_input", "value": consent}},
        "choices": {"value": {"type": "checkboxes", "selected_options": []}},
    }
    return running.interaction(view_submission(view, values))


@pytest.fixture
def tool() -> ReIDTool:
    return ReIDTool(ReIDSettings(workers=1))


def test_remember_then_search_by_name_forget_and_audit(
    fake: FakeSlack, start_bot: StartBot, tool: ReIDTool, media: Media
) -> None:
    running = start_bot(tool)
    assert running.command("remember").status_code == 200
    view = fake.wait_for(lambda: _views(fake))[-1]
    assert view["callback_id"] == "reid_remember"
    assert {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"} == {
        "name": "plain_text_input",
        "photos": "file_input",
        "consent": "plain_text_input",
        "choices": "checkboxes",
    }
    grey = fake.add_file("grey.png", _grey_png(), "image/png", "png")
    eileen = fake.add_file("eileen.png", media.alice_png, "image/png", "png")
    refused = _remember(running, view, "Eileen", [grey], "asked in person")
    assert refused.status_code == 200
    assert "grey.png: no face was found" in _ephemeral(fake, "nothing was stored")
    missing = _remember(running, view, "Eileen", [eileen], "")
    assert missing.status_code == 200 and missing.json() == {
        "response_action": "errors",
        "errors": {"consent": "Say how they agreed to be enrolled; it is kept with the enrolment."},
    }
    assert _remember(running, view, "Eileen", [eileen], "asked in person").status_code == 200
    assert "Enrolled Eileen: 1 photo added" in _ephemeral(fake, "Enrolled Eileen")

    listed = running.command("people").text  # Bolt answers an ack with text alone as plain text
    assert "*Eileen*: 1 photo(s)" in listed and f"<@{USER_ID}>" in listed

    ts, _ = running.mention(f"<@{BOT_USER_ID}> is eileen in this clip?", [share_video(fake, media)])
    assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
    answer = reply_containing(fake, ts, "*Eileen*: found")
    assert "Remember" not in block_text(answer), "Eileen is enrolled already"
    (request_id,) = [e.request_id for e in running.bot.store.audit()]
    assert running.bot.store.result(request_id) is not None

    typo_ts, _ = running.mention(f"<@{BOT_USER_ID}> is Eilen here?", [share_video(fake, media)])
    assert "did you mean Eileen?" in block_text(reply_containing(fake, typo_ts, "names nobody enrolled"))

    running.command("forget Eileen", user=OTHER_USER)
    assert "Only a workspace admin or whoever enrolled Eileen" in _ephemeral(fake, "Only a workspace admin")
    running.command("audit", user=OTHER_USER)
    assert _ephemeral(fake, "Only workspace admins") == "Only workspace admins and owners can read the audit log."

    embedding = _embedding(running.bot.settings.db_path)
    stored = [p.read_bytes() for p in running.bot.settings.db_path.parent.glob("bot.reid.db*")]
    assert any(b"Eileen is on screen" in data for data in stored), "the scan below looks for what is there"
    running.command("forget eileen")
    removed = _ephemeral(fake, "Removed Eileen")
    assert "1 face embeddings and 1 thumbnails deleted, and 1 stored result" in removed
    assert running.bot.store.result(request_id) is None
    caption = running.bot.store.audit()[0]  # the bot's audit keeps who searched for whom; the result goes
    assert caption.names == ["Eileen"]
    files = list(running.bot.settings.db_path.parent.rglob("*"))
    assert any(p.name == "bot.reid.db" for p in files)
    for path in (p for p in files if p.is_file()):
        data = path.read_bytes()
        assert embedding[:64] not in data, f"an embedding of Eileen is still in {path.name}"
        assert b"Eileen is on screen" not in data, f"the answer that showed Eileen is still in {path.name}"

    fake.admins.add(OTHER_USER)
    running.command("audit", user=OTHER_USER)
    audit = _ephemeral(fake, "Audit log")
    lines = audit.splitlines()[1:]
    assert "remove Eileen" in lines[0] and "search Eileen in media" in lines[-2] and "found: Eileen" in lines[-2]
    assert "enrol Eileen" in lines[-1] and f"<@{USER_ID}> (slack)" in lines[-1]


def test_removing_someone_takes_back_what_the_bot_posted_of_them(
    fake: FakeSlack, start_bot: StartBot, tool: ReIDTool, media: Media
) -> None:
    """Their answer's pictures are deleted from Slack and the bot's messages in the thread are
    replaced by a note saying why (the thread, and everyone else's messages, stay); what Slack
    could not do then is done at the bot's next start."""
    running = start_bot(tool)
    running.command("remember")
    view = fake.wait_for(lambda: _views(fake))[-1]
    eileen = fake.add_file("eileen.png", media.alice_png, "image/png", "png")
    assert _remember(running, view, "Eileen", [eileen], "asked in person").status_code == 200
    _ephemeral(fake, "Enrolled Eileen")
    ts, _ = running.mention(f"<@{BOT_USER_ID}> is eileen in this clip?", [share_video(fake, media)])
    assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
    answer = reply_containing(fake, ts, "*Eileen*: found")
    pictures = [file_id for file_id, f in fake.uploaded_files.items() if f["thread_ts"] == ts]
    posted = [m for m in thread_replies(fake, ts) if "files" not in m]  # the status message and the answer
    assert len(pictures) >= 2 and len(posted) == 2 and answer in posted
    other = fake.add_message(CHANNEL, "someone else's reply", USER_ID, thread_ts=ts)

    fake.fail_next("files.delete", "internal_error")  # Slack down for a moment: tried again later
    fake.fail_next("chat.update", "not_in_channel")  # the bot was removed from the channel: never
    running.command("forget eileen")
    removed = _ephemeral(fake, "Removed Eileen")
    deleted = len(pictures) - 1
    said = f"In Slack: {deleted} picture{'s' * (deleted != 1)} deleted and 1 message replaced by a removal note."
    assert said in removed
    assert "1 could not be taken back (the bot left the channel, or it was archived)" in removed
    assert "1 could not be reached now; the bot tries again at its next start." in removed
    now = [m for m in thread_replies(fake, ts) if "files" not in m]
    assert [m["blocks"] for m in now if m["text"] == REMOVED_TEXT] == [[]]
    assert any(m["ts"] == other["ts"] and m["text"] == "someone else's reply" for m in fake.messages(CHANNEL))
    assert len([f for f in pictures if f in fake.files]) == 1

    running.stop()
    start_bot(tool)
    fake.wait_for(lambda: not any(f in fake.files for f in pictures) or None)
    shared = next(m for m in thread_replies(fake, ts) if "files" in m)
    assert {f["mode"] for f in shared["files"]} == {"tombstone"}


def test_an_answer_offers_to_remember_who_was_found_by_photo_from_that_photo(
    fake: FakeSlack, start_bot: StartBot, tool: ReIDTool, media: Media
) -> None:
    running = start_bot(tool)
    grace = fake.add_file("grace.jpg", media.bob_jpg, "image/jpeg", "jpg")
    ts, _ = running.mention(f"<@{BOT_USER_ID}> is she here?", [share_video(fake, media), grace])
    assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]
    answer = reply_containing(fake, ts, "*Grace*: found")
    running.interaction(button_click(answer, "Remember Grace"))
    view = fake.wait_for(lambda: _views(fake))[-1]
    [name] = [b for b in view["blocks"] if b.get("block_id") == "name"]
    assert view["callback_id"] == "reid_remember" and name["element"]["initial_value"] == "Grace"
    [photos] = [b for b in view["blocks"] if b.get("block_id") == "photos"]
    assert photos["optional"], "the search's own photo of Grace serves: one click and the consent note"
    assert _remember(running, view, "Grace", [], "asked on the day").status_code == 200
    assert "Enrolled Grace: 1 photo added" in _ephemeral(fake, "Grace", 20)
    assert [p.name for p in tool.people(TEAM_ID).people()] == ["Grace"]


def _grey_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (300, 300), (128, 128, 128)).save(out, "PNG")
    return out.getvalue()


def _embedding(path: Any) -> bytes:
    with sqlite3.connect(path) as db:
        (blob,) = db.execute("SELECT embedding FROM gallery_faces").fetchone()
    return bytes(blob)
