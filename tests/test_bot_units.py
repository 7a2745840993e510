"""The bot's pure parts, without servers: intake rules, Block Kit limits, the store's state machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.reid.intake import IncompleteRequest, parse_message, person_name
from bot.reid.listeners import COMMAND, SHORTCUT
from bot.reid.modal import ModalContext, parse_modal
from bot.reid.presentation import MAX_RANGES, appearances_message, result_message
from bot.reid.run import LOOSEN_STEP, looser_tolerance
from bot.reid.settings import BotSettings
from bot.reid.store import MIGRATIONS, Posted, Store
from bot.reid.submission import SlackFile, Submission
from tools.reid.database import Database
from tools.reid.schemas import (
    AnalysisOptions,
    Appearance,
    DescriptorName,
    Keyframe,
    MediaInfo,
    PersonResult,
    ReIDResult,
    Stats,
)

SETTINGS = BotSettings(slack_bot_token="xoxb-unit", max_photo_bytes=1000)


def _file(name: str, mimetype: str, size: int = 10, title: str = "") -> SlackFile:
    return SlackFile(id=f"F-{name}", name=name, title=title or name, mimetype=mimetype, size=size, url="https://x/y")


CLIP = _file("clip.mov", "video/quicktime")
ALICE = _file("alice.jpg", "image/jpeg")
GROUP = _file("IMG_0042.JPG", "image/jpeg")


def _message(text: str, files: list[SlackFile], thread_ts: str | None = None) -> Submission:
    event = {"channel": "C1", "ts": "1.000200", "user": "U1", "text": text, "thread_ts": thread_ts}
    return parse_message(event, files, source="mention", team="T1", bot_user_id="UBOT", settings=SETTINGS)


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        (_file("alice.jpg", "image/jpeg"), "Alice"),
        (_file("grace_hopper.png", "image/png"), "Grace Hopper"),
        (_file("x.jpg", "image/jpeg", title="Bob McKay"), "Bob McKay"),
        (_file("IMG_0042.JPG", "image/jpeg"), "IMG 0042"),
        (_file("Lin-Manuel Miranda.png", "image/png", title="Lin-Manuel Miranda"), "Lin-Manuel Miranda"),
        (_file("IMG_7.jpg", "image/jpeg", title="Zoë O'Brien"), "Zoë O'Brien"),
        (_file("lin-manuel-miranda.png", "image/png"), "Lin Manuel Miranda"),
        (_file("jane_doe.jpg", "image/jpeg", title="jane_doe"), "Jane Doe"),
        (_file("zoë_o'brien.jpg", "image/jpeg"), "Zoë O'Brien"),
        (_file("Jean-Luc_Picard.jpg", "image/jpeg"), "Jean-Luc Picard"),
    ],
)
def test_a_reference_is_named_by_its_title_or_file_name(file: SlackFile, expected: str) -> None:
    assert person_name(file) == expected


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("<@UBOT> when are Obama=obama.jpg and Biden together?", "when are Obama and Biden together?"),
        ('<@UBOT> is "Zoë O\'Brien"=z.jpg here?', "is Zoë O'Brien here?"),
        ("<@UBOT> Obama=obama.jpg Biden=biden.jpg who is on screen?", "who is on screen?"),
        ("<@UBOT> who is on screen? Obama=obama.jpg and Biden=biden.jpg", "who is on screen?"),
        ("<@UBOT> Obama=obama.jpg", None),
    ],
)
def test_named_photos_leave_the_question_readable(text: str, question: str | None) -> None:
    files = [CLIP, _file("obama.jpg", "image/jpeg"), _file("biden.jpg", "image/jpeg"), _file("z.jpg", "image/jpeg")]
    assert _message(text, files).prompt == question


def test_pairs_quoted_names_and_slack_link_markup_are_understood() -> None:
    text = '<@UBOT> is she here? "Grace Hopper"=IMG_0042 Clip=<http://clip.mov|clip.mov>'
    with pytest.raises(IncompleteRequest, match="names a video"):
        _message(text, [CLIP, GROUP])
    submission = _message('<@UBOT> is she here? "Grace Hopper"=IMG_0042', [CLIP, GROUP], thread_ts="0.9")
    assert [(r.name, r.file.id) for r in submission.references] == [("Grace Hopper", GROUP.id)]
    assert (submission.prompt, submission.thread_ts, submission.message_ts) == ("is she here?", "0.9", "1.000200")


def test_with_photos_only_the_footage_is_the_unnamed_or_else_the_first_photo() -> None:
    assert _message("<@UBOT>", [GROUP, ALICE]).footage == GROUP
    assert _message("<@UBOT> Alice=alice.jpg", [ALICE, GROUP]).footage == GROUP


def test_a_photo_over_the_limit_is_refused_with_the_remedy() -> None:
    big = _file("bob.jpg", "image/jpeg", size=5000)
    with pytest.raises(IncompleteRequest, match=r"bob.jpg is .*reference photos can be at most .* crop of the face"):
        _message("<@UBOT>", [CLIP, big])


def test_a_repeated_name_in_the_modal_is_one_person_with_two_photos() -> None:
    def slot(file: SlackFile) -> dict[str, dict[str, object]]:
        return {"value": {"type": "file_input", "files": [file.model_dump() | {"url_private": file.url}]}}

    values: dict[str, dict[str, Any]] = {
        "photo_1": slot(ALICE),
        "name_1": {"value": {"value": "Alice"}},
        "photo_2": slot(_file("alice2.jpg", "image/jpeg")),
        "name_2": {"value": {"value": "alice"}},
    }
    context = ModalContext(source="shortcut", channel="C1", thread_ts="1.0", message_ts="1.0", footage=CLIP)
    submission = parse_modal(values, context, user="U1", team="T1", settings=SETTINGS)
    assert submission.names() == ["Alice"] and len(submission.references) == 2


def _result(persons: list[PersonResult]) -> ReIDResult:
    return ReIDResult(
        media=MediaInfo(kind="video", duration_s=3600.0, width=1920, height=1080, fps=25.0),
        persons=persons,
        unknown_faces=3,
        text="x" * 5000,
        stats=Stats(frames_decoded=1, frames_analysed=1, faces_detected=1, wall_s=1.0),
    )


def test_a_long_result_stays_inside_slack_block_limits_and_escapes_names() -> None:
    sighting = [
        Appearance(start=t, end=t + 1, confidence=0.9, keyframe=Keyframe(time=t, box=(0, 0, 9, 9)))
        for t in range(0, 3000, 10)
    ]
    persons = [
        PersonResult(name=f"<b>P{n}&", found=True, confidence=0.9, total_s=300.0, appearances=sighting)
        for n in range(5)
    ]
    submission = Submission(
        source="mention", channel="C1", thread_ts="1.0", message_ts="1.0", user="U1", footage=CLIP, references=[]
    )
    message = result_message(_result(persons), submission)
    assert message.text and len(message.blocks) <= 50
    sections = [block["text"]["text"] for block in message.blocks if block["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    assert f"+{300 - MAX_RANGES} more" in sections[1] and "&lt;b&gt;P0&amp;" in sections[1]
    assert message.blocks[0]["type"] == "header" and len(message.blocks[0]["text"]["text"]) <= 150

    # 5 people x 2,000 appearances: more than one message holds, so the list says where it stops.
    many = [PersonResult(name=f"P{n}", found=True, confidence=0.9, appearances=sighting * 7) for n in range(5)]
    listing = appearances_message(_result(many), submission)
    assert len(listing.blocks) == 50 and listing.blocks[-1]["type"] == "context"
    assert all(len(block["text"]["text"]) <= 3000 for block in listing.blocks if block["type"] == "section")
    assert listing.blocks[1]["text"]["text"].startswith("*P0*: 2100 appearances\n• 0:00–0:01 · 90% confidence")


def test_the_store_claims_deliveries_callbacks_and_resumes_what_a_crash_left(tmp_path: Path) -> None:
    store = Store(tmp_path / "bot.reid.db")
    assert store.claim_delivery(["event:Ev1", "message:C1:1.0"])
    assert not store.claim_delivery(["event:Ev1", "message:C1:1.0"]), "a retry"
    assert not store.claim_delivery(["event:Ev2", "message:C1:1.0"]), "the same message by another event"

    submission = Submission(
        source="mention", channel="C1", thread_ts="1.0", message_ts="1.0", user="U1", footage=CLIP, references=[]
    )
    first, second = store.add(submission), store.add(submission)
    assert store.start(first.id) and store.start(first.id) is None
    store.open_remote(first.id, "media-token", "callback-token")
    assert store.by_media_token("media-token") is not None
    assert store.claim_callback("callback-token") is not None
    assert store.claim_callback("callback-token") is None, "a repeated callback is not run twice"
    store.finish(first.id, "done")
    assert store.by_media_token("media-token") is None

    assert store.start(second.id)
    assert store.resume() == [second.id]
    assert [entry.outcome for entry in store.audit()] == ["done", None]
    store.close()


def test_a_store_from_before_recording_posts_knows_what_it_kept_of_its_answers(tmp_path: Path) -> None:
    """Opened by this version, a store made before its posts were recorded queues, when a person
    an answer showed is removed, what it kept: the status and answer messages, the unknown
    people's uploaded faces."""
    path = tmp_path / "bot.reid.db"
    older = Database(path, MIGRATIONS[:2], store="bot")
    with older.write() as db:
        db.execute(
            "INSERT INTO requests (id, created_at, updated_at, channel, user, state, status_ts, submission) "
            "VALUES ('r1', 1, 2, 'C1', 'U1', 'done', '10.1', '{}')"
        )
        db.execute("INSERT INTO results (request_id, saved_at, result, answer_ts) VALUES ('r1', 2, '{}', '10.2')")
        db.execute(
            "INSERT INTO unknown_faces (request_id, person_id, saved_at, crop, file_id) "
            "VALUES ('r1', 'p1', 2, x'00', 'F1')"
        )
    older.close()
    store = Store(path)
    assert store.retractions() == []
    assert store.forget(["r1"]) == 1
    assert sorted(store.retractions(), key=lambda p: p.ref) == [
        Posted("C1", "message", "10.1"),
        Posted("C1", "message", "10.2"),
        Posted("C1", "file", "F1"),
    ]
    store.close()


def test_the_manifest_names_what_the_listeners_handle() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((Path(__file__).parents[1] / "manifest.yml").read_text())
    features, settings = manifest["features"], manifest["settings"]
    assert [command["command"] for command in features["slash_commands"]] == [COMMAND]
    assert [(s["type"], s["callback_id"]) for s in features["shortcuts"]] == [("message", SHORTCUT)]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "app_mentions:read",
        "chat:write",
        "commands",
        "files:read",
        "files:write",
        "reactions:write",
        "im:history",
        "users:read",
    }


@pytest.mark.parametrize("descriptor", ["sface", "dlib"])
def test_looking_again_loosens_in_steps_up_to_the_limit_the_options_allow(descriptor: DescriptorName) -> None:
    steps = [AnalysisOptions(descriptor=descriptor).effective_tolerance()]
    while (looser := looser_tolerance(steps[-1], descriptor)) is not None:
        assert looser > steps[-1] and AnalysisOptions(descriptor=descriptor, tolerance=looser).tolerance == looser
        steps.append(looser)
    assert 2 <= len(steps) <= 1 + round(1 / LOOSEN_STEP), "a few looks, then the limit"
    with pytest.raises(ValidationError):
        AnalysisOptions(descriptor=descriptor, tolerance=steps[-1] + 1e-6)
