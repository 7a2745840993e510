"""`human_reid`: the ReID tool as a LangChain tool, so an agent can find named people in footage.

The tool is a thin surface over the facade's `ReIDTool`: whatever backend the settings choose
(the embedded engine, our service, or the hosted API with ``REID_BACKEND=remote``) answers it.

Each call returns the caption as the `ToolMessage` content, for the model to read, and the
result as the artifact, for the program around the model: ``ReIDResult.model_dump(mode="json")``,
a plain dict, so it survives JSON serialisation of agent state and checkpoints unchanged.
``ReIDResult.model_validate(message.artifact)`` turns it back into the model.

Mistakes a model can fix (a missing file, a photo with no face, six persons, an unreachable
URL) come back as an error `ToolMessage` (status "error") that says what to change; genuine
bugs still raise, so they are seen rather than talked around.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from tools.reid.errors import ReIDError
from tools.reid.extras import missing
from tools.reid.facade import ReIDTool
from tools.reid.schemas import MAX_PERSONS, PersonName, PersonSpec, ReIDRequest, ReIDResult

try:
    from langchain_core.tools import BaseTool, ToolException
except ModuleNotFoundError as exc:
    raise missing("agent") from exc

__all__ = ["HumanReIDInput", "HumanReIDTool", "PersonToFind"]

DESCRIPTION = (
    "Finds specific, named people in a video or an image by their faces. Use it when someone asks whether, "
    "when or where given people appear in footage and there is a reference photo of each person's face. "
    f"Give the media (a local path or http(s) URL of a video or image), 1 to {MAX_PERSONS} persons, each a "
    "name and a photo showing that person's face alone, and the user's question if there is one. "
    "Returns a plain-English answer: who was found, when each is on screen (m:ss) and with what confidence, "
    "who appears together, and who was not found. It recognises faces only; it cannot say what people do or "
    "wear, or identify anyone without a reference photo. A long video can take minutes."
)

Answer = tuple[str, dict[str, Any]]
"""(caption for the model, the result as JSON-ready data for the program)."""


class PersonToFind(BaseModel):
    """One person the tool looks for, as a model spells it in a tool call."""

    name: PersonName = Field(description="The person's name, as the answer should call them (e.g. 'Alice').")
    photo: str = Field(
        description="Local path or http(s) URL of a reference photo showing this person's face, and no other face."
    )


class HumanReIDInput(BaseModel):
    """The arguments of a `human_reid` call."""

    media: str = Field(description="Local path or http(s) URL of the video or image to search.")
    persons: list[PersonToFind] = Field(
        min_length=1,
        max_length=MAX_PERSONS,
        description=f"The people to look for, 1 to {MAX_PERSONS}. Repeat a name to give another photo of that person.",
    )
    question: str | None = Field(
        None, max_length=4000, description="The user's question about these people in this media, if any."
    )


def _explain_invalid_arguments(error: ValidationError) -> str:
    """Tells the model which argument is wrong and how to call again, instead of a bare 'validation error'."""
    problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in error.errors())
    return (
        f"The human_reid arguments are invalid: {problems}. Call it again with `media` (one path or URL) and "
        f"`persons` (1 to {MAX_PERSONS} entries of name and photo); to look for more people, split them "
        "over several calls."
    )


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "arguments"


class HumanReIDTool(BaseTool):
    """Finds named people in a video or an image through the shared `ReIDTool`.

    Args:
        reid: the ReID tool to call; by default one configured by the ``REID_*`` settings.
    """

    name: str = "human_reid"
    description: str = DESCRIPTION
    args_schema: type[BaseModel] = HumanReIDInput
    response_format: Literal["content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool = True
    handle_validation_error: Callable[[ValidationError], str] = _explain_invalid_arguments
    reid: ReIDTool = Field(default_factory=ReIDTool, exclude=True)

    def _run(self, media: str, persons: list[PersonToFind], question: str | None = None) -> Answer:
        with _errors_for_the_model():
            return _answer(self.reid.analyze(_request(media, persons, question)))

    async def _arun(self, media: str, persons: list[PersonToFind], question: str | None = None) -> Answer:
        """Runs the analysis in a worker thread (`ReIDTool.aanalyze`), so the event loop stays free."""
        with _errors_for_the_model():
            return _answer(await self.reid.aanalyze(_request(media, persons, question)))


def _request(media: str, persons: list[PersonToFind], question: str | None) -> ReIDRequest:
    return ReIDRequest(
        media=media,
        persons=[PersonSpec(name=p.name, photos=[p.photo]) for p in persons],
        prompt=question,
    )


def _answer(result: ReIDResult) -> Answer:
    return result.text, result.model_dump(mode="json")


@contextmanager
def _errors_for_the_model() -> Iterator[None]:
    """Turns the errors a user or model can act on into `ToolException`, which LangChain hands back to the
    model as an error `ToolMessage`; any other exception is a bug and propagates."""
    try:
        yield
    except ReIDError as exc:
        raise ToolException(str(exc)) from exc
