"""`human_reid` with pictures asked for: the artifact lists the timeline and keyframes it drew,
for a local clip and for one given by URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

from langchain_core.messages import ToolMessage
from PIL import Image

from tools.reid.facade import ReIDTool
from tools.reid.langchain import HumanReIDTool
from tools.reid.schemas import ReIDResult
from tools.reid.settings import ReIDSettings


def _tool(pictures_dir: Path | None) -> HumanReIDTool:
    settings = ReIDSettings(backend="local", workers=1, allow_private_urls=True, fetch_timeout_s=10.0)
    return HumanReIDTool(reid=ReIDTool(settings), pictures_dir=pictures_dir)


def _call(media: str, photo: Path) -> dict:
    args = {"media": media, "persons": [{"name": "Grace", "photo": str(photo)}]}
    return {"type": "tool_call", "id": "call_1", "name": "human_reid", "args": args}


def test_artifact_lists_the_pictures_drawn(two_people_clip: Path, photos, tmp_path: Path) -> None:
    message = _tool(tmp_path / "pictures").invoke(_call(str(two_people_clip), photos["grace"]))
    assert isinstance(message, ToolMessage) and message.status == "success", message.content
    pictures = [Path(p) for p in message.artifact["pictures"]]
    assert pictures[0] == tmp_path / "pictures" / "timeline.png" and pictures[1].name == "01-grace.jpg"
    assert all(Image.open(p).width > 0 for p in pictures)
    answer = ReIDResult.model_validate(message.artifact)
    assert answer.persons[0].found
    # Eileen, not asked for, is an unknown person: in the artifact, without her face descriptors.
    assert [u.label for u in answer.unknown_people] == ["Person 1"] and answer.unknown_people[0].embeddings is None
    assert pictures[-1].name == "unknown-person-1.jpg"
    without = _tool(None).invoke(_call(str(two_people_clip), photos["grace"]))
    assert "pictures" not in without.artifact


def test_pictures_of_media_given_by_url_in_async_calls(two_people_clip_url: str, photos, tmp_path: Path) -> None:
    message = asyncio.run(_tool(tmp_path / "pictures").ainvoke(_call(two_people_clip_url, photos["grace"])))
    assert message.status == "success", message.content
    names = [Path(p).name for p in message.artifact["pictures"]]
    assert names == ["timeline.png", "01-grace.jpg", "unknown-person-1.jpg"]  # Eileen, not asked for
