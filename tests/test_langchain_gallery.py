"""The agent tools and the gallery: an agent lists who is enrolled, then asks for them by name
with no photo; the search is audited as the agent's; bad names come back for the model to fix."""

from __future__ import annotations

from pathlib import Path

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage

from tools.reid.facade import ReIDTool
from tools.reid.langchain import HumanReIDTool, ListEnrolledPeopleTool
from tools.reid.schemas import ReIDResult
from tools.reid.settings import ReIDSettings


def _call(name: str, args: dict, call_id: str) -> dict:
    return {"type": "tool_call", "id": call_id, "name": name, "args": args}


def test_an_agent_lists_the_gallery_then_searches_by_name(tmp_path: Path, photos, two_people_clip: Path) -> None:
    reid = ReIDTool(ReIDSettings(workers=1, db_path=tmp_path / "reid.db"))
    reid.people("team-1").enrol("Grace Hopper", [("grace.jpg", photos["grace"])], by="U1", consent="asked")
    listing = ListEnrolledPeopleTool(reid=reid, tenant="team-1")
    finder = HumanReIDTool(reid=reid, tenant="team-1", user="agent:U7")
    model = GenericFakeChatModel(
        messages=iter(
            [
                AIMessage("", tool_calls=[_call("list_enrolled_people", {}, "c1")]),
                AIMessage(
                    "",
                    tool_calls=[
                        _call(
                            "human_reid", {"media": str(two_people_clip), "persons": [{"name": "grace hopper"}]}, "c2"
                        )
                    ],
                ),
            ]
        )
    )
    listed = listing.invoke(model.invoke("Who is enrolled?").tool_calls[0])
    assert isinstance(listed, ToolMessage) and "- Grace Hopper: 1 photo(s)" in listed.content
    assert listed.artifact[0]["name"] == "Grace Hopper"
    found = finder.invoke(model.invoke("Is Grace here?").tool_calls[0])
    assert found.status == "success" and "Grace Hopper appears in the video" in found.content
    assert ReIDResult.model_validate(found.artifact).persons[0].found
    (entry, *_) = reid.people("team-1").audit_log()
    assert (entry.actor, entry.surface, entry.names) == ("agent:U7", "langchain", ["grace hopper"])


def test_unknown_names_and_a_missing_gallery_are_errors_the_model_can_fix(
    tmp_path: Path, photos, two_people_clip: Path
) -> None:
    reid = ReIDTool(ReIDSettings(workers=1, db_path=tmp_path / "reid.db"))
    reid.people("team-1").enrol("Grace Hopper", [("grace.jpg", photos["grace"])], by="U1", consent="asked")
    call = _call("human_reid", {"media": str(two_people_clip), "persons": [{"name": "Grace Hoper"}]}, "c1")
    typo = HumanReIDTool(reid=reid, tenant="team-1").invoke(call)
    assert typo.status == "error" and "Did you mean Grace Hopper?" in typo.content
    no_gallery = HumanReIDTool(reid=reid).invoke(call)
    assert no_gallery.status == "error" and "whose gallery" in no_gallery.content
    empty = ListEnrolledPeopleTool(reid=reid, tenant="team-2").invoke(_call("list_enrolled_people", {}, "c2"))
    assert "Nobody is enrolled" in empty.content
