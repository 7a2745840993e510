"""`human_reid`: the ReID tool as a LangChain tool, so an agent can find named people in footage.

The tool is a thin surface over the facade's `ReIDTool`: whatever backend the settings choose
(the embedded engine, our service, or the hosted API with ``REID_BACKEND=remote``) answers it.

Each call returns the caption as the `ToolMessage` content, for the model to read, and the
result as the artifact, for the program around the model: ``ReIDResult.model_dump(mode="json")``,
a plain dict, so it survives JSON serialisation of agent state and checkpoints unchanged.
``ReIDResult.model_validate(message.artifact)`` turns it back into the model. A tool made with
``pictures_dir`` also draws the answer's pictures and lists their paths in ``artifact["pictures"]``
(with a face crop per unknown person). The artifact's unknown people come without their face
descriptors (biometric data an agent's state and checkpoints have no use for).

Long analyses report progress through LangChain's callbacks: a custom event named
``human_reid_progress`` with ``{"fraction": 0.0-1.0}``, received by a handler's
``on_custom_event`` (or ``astream_events``), in steps of `PROGRESS_STEP`.

Mistakes a model can fix (a missing file, a photo with no face, six persons, an unreachable
URL) come back as an error `ToolMessage` (status "error") that says what to change; genuine
bugs still raise, so they are seen rather than talked around.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

# BaseTool's handle_validation_error takes either pydantic's error; the annotation must say so.
from pydantic.v1 import ValidationError as ValidationErrorV1

from tools.reid.errors import ReIDError
from tools.reid.extras import missing
from tools.reid.facade import ReIDTool
from tools.reid.gallery import Asker
from tools.reid.schemas import MAX_PERSONS, PersonName, PersonSpec, ReIDRequest, ReIDResult
from tools.reid.wording import validation_problems

try:
    from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
    from langchain_core.tools import BaseTool, ToolException
except ModuleNotFoundError as exc:
    raise missing("agent") from exc

__all__ = ["PROGRESS_EVENT", "HumanReIDInput", "HumanReIDTool", "ListEnrolledPeopleTool", "PersonToFind"]

SECONDS_PER_FOOTAGE_MINUTE = 13
"""Analysis time per minute of crowded 1080p footage on a 2-core CPU, as the description tells the
model: ``make bench`` measured the real street clip at 4.5x real time (README, "Measured")."""

PROGRESS_EVENT = "human_reid_progress"
PROGRESS_STEP = 0.05
"""Progress events come in 5 % steps: enough to show movement, few enough not to flood a trace."""

MAX_ENTRIES = MAX_PERSONS * 10
"""Entries a call may hold: the limit is on distinct names (a repeated name adds a photo), so the
schema only bounds the list; the count of people is checked by the request's own rule."""

_WHAT_IT_DOES = (
    "Finds specific, named people in a video or an image by their faces. Use it when someone asks whether, "
    "when or where given people appear in footage and there is a reference photo of each person's face. "
    f"Give the media (a local path or http(s) URL of a video or image), 1 to {MAX_PERSONS} different people, "
    "each a name and a photo showing that person's face alone (repeat a name to add another photo of the same "
    "person), and the user's question if there is one. "
    "Returns a plain-English answer: who was found, when each is on screen (m:ss) and with what confidence, "
    "who appears together, and who was not found."
)
_ENROLLED = (
    "People enrolled in the team's gallery need no photo: give just their name (check the names first with "
    "list_enrolled_people), or set everyone_enrolled to look for everyone enrolled."
)
LIST_DESCRIPTION = (
    "Lists the people enrolled in the team's gallery: their names, how many photos each has, and when they were "
    "enrolled. Use it before calling human_reid with enrolled names (no photo), to check the spelling, or to "
    "answer who can be searched for by name. Takes no arguments."
)
_HOW_LONG = (
    f"Analysis takes about {SECONDS_PER_FOOTAGE_MINUTE} seconds per minute of crowded 1080p footage on a 2-core "
    "CPU (less for smaller or emptier footage); a photo takes a second or two."
)
FACES_ONLY = (
    "It recognises faces only; it cannot say what people do or wear, or identify anyone without a reference photo."
)
SEES_SCENES = (
    "A language model also looks at frames of the media to answer the question (what people do, the scene), "
    "kept to the faces found; it cannot identify anyone without a reference photo."
)


def describe(sees_pictures: bool) -> str:
    """The description a model reads: what a caption model that looks at the frames adds, if one writes."""
    return f"{_WHAT_IT_DOES} {SEES_SCENES if sees_pictures else FACES_ONLY} {_HOW_LONG} {_ENROLLED}"


DESCRIPTION = describe(sees_pictures=False)

Answer = tuple[str, dict[str, Any]]
"""(caption for the model, the result as JSON-ready data for the program)."""


class PersonToFind(BaseModel):
    """One person the tool looks for, as a model spells it in a tool call."""

    name: PersonName = Field(description="The person's name, as the answer should call them (e.g. 'Alice').")
    photo: str | None = Field(
        None,
        description="Local path or http(s) URL of a reference photo showing this person's face, and no other face. "
        "Leave it out for someone enrolled in the gallery (list_enrolled_people names them).",
    )


class HumanReIDInput(BaseModel):
    """The arguments of a `human_reid` call."""

    media: str = Field(description="Local path or http(s) URL of the video or image to search.")
    persons: list[PersonToFind] = Field(
        default_factory=list,
        max_length=MAX_ENTRIES,
        description=f"The people to look for: 1 to {MAX_PERSONS} different names with photos (repeat a name to "
        "give another photo of that person), and any number of enrolled names without a photo.",
    )
    everyone_enrolled: bool = Field(False, description="Also look for everyone enrolled in the gallery.")
    question: str | None = Field(
        None, max_length=4000, description="The user's question about these people in this media, if any."
    )

    @model_validator(mode="after")
    def _at_most_five_people(self) -> HumanReIDInput:
        """People are counted as the request model counts them (a repeated name, in any case, is one
        person), so two people with three photos each pass, as they do in the CLI."""
        try:
            _request(self.media, self.persons, self.question, self.everyone_enrolled)
        except ValidationError as exc:
            raise ValueError(validation_problems(exc.errors())) from None
        return self


def _explain_invalid_arguments(error: ValidationError | ValidationErrorV1) -> str:
    """Tells the model which argument is wrong and how to call again, instead of a bare 'validation error'."""
    problems = validation_problems(error.errors())
    return (
        f"The human_reid arguments are invalid: {problems}. Call it again with `media` (one path or URL) and "
        f"`persons` (1 to {MAX_PERSONS} entries of name and photo); to look for more people, split them "
        "over several calls."
    )


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
    handle_validation_error: Callable[[ValidationError | ValidationErrorV1], str] = _explain_invalid_arguments
    reid: ReIDTool = Field(default_factory=ReIDTool, exclude=True)
    tenant: str | None = Field(None, exclude=True)
    """Whose gallery enrolled names are looked up in (a team); searches are then audited."""
    user: str = Field("agent", exclude=True)
    """Who the audit log says asked (the agent's user, when the program knows them)."""
    pictures_dir: Path | None = Field(None, exclude=True)
    """When set, each answer's pictures (``timeline.png`` for a video, then the keyframes; for a
    photo the annotated photo) are drawn here and their paths listed in the artifact's
    ``pictures``. Media given by URL is fetched again to draw them."""

    def model_post_init(self, context: Any, /) -> None:
        """The description says what the answers can hold: with a caption model that looks at
        the frames, what people do; without, faces only."""
        if self.description == DESCRIPTION:
            self.description = describe(self.reid.caption_sees_pictures())

    def _run(
        self,
        media: str,
        persons: list[PersonToFind] | None = None,
        question: str | None = None,
        everyone_enrolled: bool = False,
        run_manager: CallbackManagerForToolRun | None = None,
    ) -> Answer:
        progress = None
        if run_manager is not None:
            manager, run_id = run_manager.get_child(), run_manager.run_id
            progress = _InSteps(lambda data: manager.on_custom_event(PROGRESS_EVENT, data, run_id=run_id))
        with _errors_for_the_model():
            request = _request(media, persons or [], question, everyone_enrolled)
            return self._answer(media, self.reid.analyze(request, progress, self._asker()))

    async def _arun(
        self,
        media: str,
        persons: list[PersonToFind] | None = None,
        question: str | None = None,
        everyone_enrolled: bool = False,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
    ) -> Answer:
        """Runs the analysis in a worker thread (`ReIDTool.aanalyze`), so the event loop stays free;
        the progress it reports from there is handed back to the loop for the async handlers."""
        loop, sent = asyncio.get_running_loop(), []
        progress = None
        if run_manager is not None:
            manager, run_id = run_manager.get_child(), run_manager.run_id

            def send(data: dict[str, float]) -> None:
                event = manager.on_custom_event(PROGRESS_EVENT, data, run_id=run_id)
                sent.append(asyncio.run_coroutine_threadsafe(event, loop))

            progress = _InSteps(send)
        with _errors_for_the_model():
            request = _request(media, persons or [], question, everyone_enrolled)
            result = await self.reid.aanalyze(request, progress, self._asker())
        await asyncio.gather(*(asyncio.wrap_future(future) for future in sent))
        with _errors_for_the_model():
            return await asyncio.to_thread(self._answer, media, result)

    def _asker(self) -> Asker | None:
        return Asker(tenant=self.tenant, actor=self.user, surface="langchain") if self.tenant else None

    def _answer(self, media: str, result: ReIDResult) -> Answer:
        artifact = result.without_embeddings().model_dump(mode="json")
        if self.pictures_dir is not None:
            with tempfile.TemporaryDirectory(prefix="reid-") as scratch:
                local = self.reid.local_copy(media, Path(scratch))
                artifact["pictures"] = [str(p) for p in self.reid.render_pictures(local, result, self.pictures_dir)]
        return result.text, artifact


class _InSteps:
    """The engine's progress (a fraction, reported often, from its worker thread) as one event per
    `PROGRESS_STEP` reached, and one at the end."""

    def __init__(self, send: Callable[[dict[str, float]], None]) -> None:
        self._send = send
        self._shown = -1.0
        self._lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        step = 1.0 if fraction >= 1.0 else math.floor(fraction / PROGRESS_STEP) * PROGRESS_STEP
        with self._lock:
            if step <= self._shown:
                return
            self._shown = step
        self._send({"fraction": round(step, 4)})


def _request(media: str, persons: list[PersonToFind], question: str | None, everyone: bool = False) -> ReIDRequest:
    return ReIDRequest(
        media=media,
        persons=[PersonSpec(name=p.name, photos=[p.photo]) for p in persons if p.photo],
        enrolled=[p.name for p in persons if not p.photo],
        everyone_enrolled=everyone,
        prompt=question,
    )


class ListEnrolledPeopleTool(BaseTool):
    """`list_enrolled_people`: who is enrolled in the tenant's gallery, so an agent can check a
    name before it asks `human_reid` for them.

    Args:
        reid: the ReID tool whose gallery is read.
        tenant: whose gallery (a team).
    """

    name: str = "list_enrolled_people"
    description: str = LIST_DESCRIPTION
    response_format: Literal["content_and_artifact"] = "content_and_artifact"
    handle_tool_error: bool = True
    reid: ReIDTool = Field(default_factory=ReIDTool, exclude=True)
    tenant: str = Field(exclude=True)

    def _run(self, run_manager: CallbackManagerForToolRun | None = None) -> tuple[str, list[dict[str, Any]]]:
        with _errors_for_the_model():
            people = self.reid.people(self.tenant).people()
        if not people:
            return "Nobody is enrolled in the gallery yet; people can only be searched for with a photo.", []
        lines = [f"- {p.name}: {p.faces} photo(s), enrolled {p.enrolled_at:%Y-%m-%d}" for p in people]
        return f"{len(people)} people are enrolled:\n" + "\n".join(lines), [
            p.model_dump(mode="json", include={"name", "faces", "enrolled_at"}) for p in people
        ]


@contextmanager
def _errors_for_the_model() -> Iterator[None]:
    """Turns the errors a user or model can act on into `ToolException`, which LangChain hands back to the
    model as an error `ToolMessage`; any other exception is a bug and propagates."""
    try:
        yield
    except ReIDError as exc:
        raise ToolException(str(exc)) from exc
