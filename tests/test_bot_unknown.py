# ruff: noqa: E402  (bot_fixtures must be marked for assertion rewriting before it is imported)
"""Unknown people in Slack, end to end: signed requests to the bot, the loopback Slack fake, the
real engine. Asked for Eileen only, the clip's Grace Hopper is Person 1 in the answer, with her
face crop beside her; she is named from the thread (a modal, the consent note), the answer is
re-labelled at once, and she is then found by that name and through "Find in other footage"."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
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

from bot.reid.naming import CONSENT_BLOCK, NAME_BLOCK, NAME_VIEW
from tools.reid.facade import ReIDTool
from tools.reid.settings import ReIDSettings

pytest_plugins = ["bot_fixtures"]

StartBot = Callable[..., RunningBot]


def _opened_view(fake: FakeSlack, count: int) -> dict[str, Any]:
    """The view of the ``count``-th views.open call, once it came."""

    def opened() -> Any:
        calls = fake.calls_to("views.open")
        return calls[count - 1].params["view"] if len(calls) >= count else None

    view = fake.wait_for(opened)
    return json.loads(view) if isinstance(view, str) else dict(view)


def _text(value: str) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def _answer(fake: FakeSlack, ts: str, showing: str) -> dict[str, Any]:
    """The answer message once its blocks (updates applied) show ``showing``."""

    def shows() -> dict[str, Any] | None:
        answer = next(m for m in thread_replies(fake, ts) if "Also seen repeatedly" in block_text(m))
        return answer if showing in json.dumps(answer["blocks"]) else None

    return fake.wait_for(shows)


def test_an_unknown_person_is_shown_named_from_the_thread_and_found_by_that_name(
    fake: FakeSlack, start_bot: StartBot, media: Media, tmp_path: Path
) -> None:
    tool = ReIDTool(ReIDSettings(workers=1, db_path=tmp_path / "reid.db"))
    running = start_bot(tool)
    alice = fake.add_file("alice.png", media.alice_png, "image/png", "png")
    ts, _ = running.mention(f"<@{BOT_USER_ID}> Eileen=alice.png who else is here?", [share_video(fake, media), alice])
    assert finished(fake, ts, ENGINE_TIMEOUT_S) == ["white_check_mark"]

    # The answer: Person 1 with her screen time, her crop beside her once uploaded, two buttons.
    answer = reply_containing(fake, ts, "Also seen repeatedly")
    shown = block_text(answer)
    assert "*Person 1*:" in shown and "on screen" in shown and "1 other person appears repeatedly" in shown
    crops = [f for f in fake.uploaded_files.values() if f["filename"] == "unknown-person-1.jpg"]
    assert len(crops) == 1 and crops[0]["title"].startswith("Person 1, not asked for:")
    [crop_id] = [fid for fid, f in fake.uploaded_files.items() if f["filename"] == "unknown-person-1.jpg"]
    answer = _answer(fake, ts, "accessory")
    [section] = [b for b in answer["blocks"] if "accessory" in b]
    assert section["accessory"]["slack_file"] == {"id": crop_id} and "Person 1" in section["text"]["text"]

    # "Name Person 1": the modal; a missing consent note is shown under its input.
    assert running.interaction(button_click(answer, "Name Person 1")).status_code == 200
    view = _opened_view(fake, 1)
    assert view["callback_id"] == NAME_VIEW
    refused = running.interaction(view_submission(view, {NAME_BLOCK: _text("Grace Hopper"), CONSENT_BLOCK: _text(" ")}))
    assert refused.json()["response_action"] == "errors" and CONSENT_BLOCK in refused.json()["errors"]
    values = {NAME_BLOCK: _text("Grace Hopper"), CONSENT_BLOCK: _text("agreed on camera, 2026-12-01")}
    accepted = running.interaction(view_submission(view, values))
    assert accepted.status_code == 200 and not accepted.content.strip(b"{} ")

    # Enrolled in the workspace's gallery, said in the thread, the answer re-labelled with no new analysis.
    note = reply_containing(fake, ts, "named Person 1")
    assert f"<@{USER_ID}> named Person 1 *Grace Hopper*" in note["text"] and "Enrolled Grace Hopper" in note["text"]
    relabelled = _answer(fake, ts, "Grace Hopper")
    assert "*Grace Hopper* (was Person 1)" in block_text(relabelled)
    assert "Grace Hopper (Person 1) for" in block_text(relabelled)
    assert "Name Person 1" not in block_text(relabelled) and "Find in other footage" in block_text(relabelled)
    assert len(running.bot.store.audit()) == 1, "naming ran no new analysis"
    gallery = tool.people(TEAM_ID)
    assert gallery.names() == ["Grace Hopper"]
    [named] = [e for e in gallery.audit_log() if e.action.startswith("named Person 1")]
    assert (named.actor, named.surface, named.names) == (USER_ID, "slack", ["Grace Hopper"])

    # Asked again by that name, with no photo, she is found in other footage (the workspace's gallery).
    group = fake.add_file("group.jpg", media.group_jpg, "image/jpeg", "jpg")
    again, _ = running.mention(f"<@{BOT_USER_ID}> is Grace Hopper in this photo?", [group])
    assert finished(fake, again, ENGINE_TIMEOUT_S) == ["white_check_mark"]
    assert "*Grace Hopper*: found" in block_text(reply_containing(fake, again, "Found: Grace Hopper"))

    # "Find in other footage": the request modal with her kept face as the reference.
    assert running.interaction(button_click(relabelled, "Find in other footage")).status_code == 200
    request_view = _opened_view(fake, 2)
    assert "Looking for Grace Hopper" in json.dumps(request_view["blocks"])
    footage = fake.add_file("group-2.jpg", media.group_jpg, "image/jpeg", "jpg")
    values = {"footage": {"value": {"type": "file_input", "files": [footage]}}}
    assert running.interaction(view_submission(request_view, values)).status_code == 200
    [parent] = fake.wait_for(lambda: [m for m in fake.messages(CHANNEL) if "look for Grace Hopper in" in m["text"]])
    assert finished(fake, parent["ts"], ENGINE_TIMEOUT_S) == ["white_check_mark"]
    assert "*Grace Hopper*: found" in block_text(reply_containing(fake, parent["ts"], "Found: Grace Hopper"))
