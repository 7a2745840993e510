"""The request and result models every surface shares.

One result model (`ReIDResult`) serves the CLI, the HTTP service, the LangChain tool and the
Slack bot. Times are seconds from the start of the media; boxes are pixels of the original
(upright) frame in ``[left, top, right, bottom]`` order.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, model_validator

MAX_PERSONS = 5
"""The hosted API's limit on distinct persons per request; ours is the same."""

DetectorName = Literal["yunet", "blazeface", "hog", "cnn"]
DescriptorName = Literal["sface", "dlib"]


class ToleranceScale(NamedTuple):
    """The tolerances that make sense for one descriptor (measured; see the README)."""

    default: float
    strictest: float
    loosest: float


TOLERANCES: dict[str, ToleranceScale] = {
    "sface": ToleranceScale(default=0.6, strictest=0.3, loosest=0.62),
    "dlib": ToleranceScale(default=0.42, strictest=0.3, loosest=0.43),
}
"""Per descriptor: SFace's cosine distances and dlib's Euclidean ones read differently. Each top
is just under the nearest stranger's track in the real clips, each person asked for alone (where
no other person's photo gives a margin; ``python -m bench.calibration_bench [--descriptor dlib]``).
SFace: Atinkum's near track sat 0.629 from Musah's photo, Freda's 0.673 from Liz's, a street
stranger's 0.689 from Obama's, while every track of a person asked for that was named sat within
0.44 of their photo (README, "Calibration"). dlib tells these people apart far less well:
Atinkum's track sat 0.433 from Musah's photo (named as him from 0.44, for 5.3 s), while the
tracks it names rightly sat 0.32-0.41 from their photos; so it misses more (Liz is found from
0.5, the street's walker at 0.6, where Liz is also named in Freda)."""


_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def printable(text: str) -> str:
    """``text`` with control characters (newlines, NUL, ANSI escape sequences' ESC, bidi
    overrides) turned into single spaces: names and a model's captions are echoed to terminals
    and Slack, where such characters would forge lines, colours or reading order."""
    cleaned = "".join(" " if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS else char for char in text)
    return re.sub(r"\s{2,}", " ", cleaned).strip()


def _printable_name(value: Any) -> Any:
    """A name made `printable`: done here, once, for every surface."""
    return printable(value) if isinstance(value, str) else value


PersonName = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)],
    BeforeValidator(_printable_name),
]
Box = tuple[int, int, int, int]


class AnalysisOptions(BaseModel):
    """Knobs of one analysis; defaults suit 360p-1080p footage on a 2-core CPU."""

    model_config = ConfigDict(extra="forbid")

    tolerance: float | None = Field(
        None,
        description="Largest face distance that still counts as a match, on the descriptor's scale ("
        + "; ".join(f"{name}: {t.strictest:g}-{t.loosest:g}, default {t.default:g}" for name, t in TOLERANCES.items())
        + "); null for the descriptor's default.",
    )
    sample_fps: float = Field(2.0, gt=0.0, le=30.0, description="Video frames analysed per second of footage.")
    detector: DetectorName = Field(
        "yunet",
        description="yunet: finds small, turned and partly hidden faces (default); blazeface: MediaPipe's "
        "detector (the [blazeface] extra); hog: dlib's frontal detector; cnn: dlib's MMOD, slow on a CPU "
        "(both the [dlib] extra).",
    )
    descriptor: DescriptorName = Field(
        "sface",
        description="sface: OpenCV Zoo's SFace, cosine distance (default); dlib: dlib's ResNet, Euclidean "
        "distance (the [dlib] extra).",
    )
    gap_s: float = Field(
        2.0, ge=0.0, le=60.0, description="Gaps up to this long between sightings are merged into one appearance."
    )
    unknown_min_s: float = Field(
        1.0,
        ge=0.0,
        le=600.0,
        description="An unknown person (faces nobody matched, grouped by likeness) is reported when on screen "
        "at least this long (s).",
    )
    max_unknown_people: int = Field(
        10, ge=0, le=50, description="At most this many unknown people are reported, longest on screen first; 0: none."
    )

    @model_validator(mode="after")
    def _tolerance_on_the_descriptors_scale(self) -> AnalysisOptions:
        scale = TOLERANCES[self.descriptor]
        if self.tolerance is not None and not scale.strictest <= self.tolerance <= scale.loosest:
            raise ValueError(
                f"a tolerance of {self.tolerance:g} is outside the {self.descriptor} descriptor's scale: give a "
                f"value from {scale.strictest:g} (strict) to {scale.loosest:g} (loose); its default is "
                f"{scale.default:g}"
            )
        return self

    def effective_tolerance(self) -> float:
        """The tolerance this analysis uses: the one given, else the descriptor's default."""
        return self.tolerance if self.tolerance is not None else TOLERANCES[self.descriptor].default


class PersonSpec(BaseModel):
    """A named person and the reference photos (local paths or http(s) URLs) that show them."""

    name: PersonName
    photos: list[str] = Field(min_length=1, max_length=10)


class ReIDRequest(BaseModel):
    """What a surface asks for: who to look for in which media, and the question the caption answers.

    People are given with photos (``persons``, at most five), by the names they were enrolled
    under in the asker's gallery (``enrolled``), or all at once (``everyone_enrolled``).
    """

    media: str = Field(description="Local path or http(s) URL of a video or an image.")
    persons: list[PersonSpec] = Field(default_factory=list)
    enrolled: list[PersonName] = Field(
        default_factory=list, max_length=1000, description="Names enrolled in the asker's gallery, searched by name."
    )
    everyone_enrolled: bool = Field(False, description="Search for everyone enrolled in the asker's gallery.")
    prompt: str | None = Field(None, max_length=4000, description="The user's question (the API's user_prompt).")
    system_prompt: str | None = Field(
        None, max_length=4000, description="Instructions for a caption model (the API's system_prompt)."
    )
    thinking: bool = Field(False, description="Let a caption model reason first, where its provider supports it.")
    reasoning_effort: str | None = Field(
        None, max_length=40, description="How hard a reasoning caption model thinks (e.g. low, medium, high)."
    )
    options: AnalysisOptions = Field(default_factory=AnalysisOptions)

    @model_validator(mode="after")
    def _someone_to_find(self) -> ReIDRequest:
        if not self.persons and not self.enrolled and not self.everyone_enrolled:
            raise ValueError(
                "nobody to look for: give at least one person with a photo, or name people enrolled in the gallery"
            )
        with_photos = {p.name.casefold() for p in self.persons}
        both = [name for name in self.enrolled if name.casefold() in with_photos]
        if both:
            raise ValueError(
                f"{both[0]} is given both with photos and as enrolled: search them one way (drop the photos to "
                "use the gallery's)"
            )
        self.enrolled = list({name.casefold(): name for name in self.enrolled}.values())
        return self

    def gallery_search(self) -> bool:
        """Whether the request needs the asker's gallery."""
        return bool(self.enrolled) or self.everyone_enrolled

    @model_validator(mode="after")
    def _merge_same_names(self) -> ReIDRequest:
        """Repeating a name adds photos to that person; at most five distinct people."""
        merged: dict[str, PersonSpec] = {}
        for person in self.persons:
            key = person.name.casefold()
            if key in merged:
                merged[key].photos.extend(person.photos)
            else:
                merged[key] = PersonSpec(name=person.name, photos=list(person.photos))
        if len(merged) > MAX_PERSONS:
            raise ValueError(
                f"{len(merged)} persons were given; at most {MAX_PERSONS} can be searched for "
                "at once. Split the request."
            )
        self.persons = list(merged.values())
        return self


class MediaInfo(BaseModel):
    kind: Literal["video", "image"]
    duration_s: float = Field(description="0 for an image.")
    width: int
    height: int
    fps: float | None = Field(None, description="Average frame rate; null for an image.")
    sha256: str | None = Field(None, description="Digest of the media analysed (what the audit log records).")


class Keyframe(BaseModel):
    time: float
    box: Box = Field(description="[left, top, right, bottom] in pixels of the upright frame.")


class Appearance(BaseModel):
    start: float
    end: float
    confidence: float = Field(ge=0.0, le=1.0)
    keyframe: Keyframe


class PersonResult(BaseModel):
    name: str
    found: bool
    confidence: float = Field(ge=0.0, le=1.0, description="Best appearance's confidence; 0 when not found.")
    first_seen_s: float | None = None
    last_seen_s: float | None = None
    total_s: float = 0.0
    appearances: list[Appearance] = Field(default_factory=list)
    reference_notes: list[str] = Field(
        default_factory=list,
        description="What to know about this person's reference photos: one that adds nothing (nearly the "
        "same picture as another) or that looks like someone else (left out when the others agree).",
    )

    def best_appearance(self) -> Appearance | None:
        """The appearance whose keyframe is most certainly this person."""
        return max(self.appearances, key=lambda a: a.confidence, default=None)

    def together_with(self, other: PersonResult) -> list[tuple[float, float]]:
        """The spans (start, end) in which both are on screen, in this person's order."""
        return [
            (max(x.start, y.start), min(x.end, y.end))
            for x in self.appearances
            for y in other.appearances
            if min(x.end, y.end) >= max(x.start, y.start)
        ]


class Stats(BaseModel):
    frames_decoded: int
    frames_analysed: int
    faces_detected: int
    faces_described: int = Field(0, description="Faces given a descriptor (the costly step).")
    wall_s: float
    runner: Literal["local", "cluster"] = Field(
        "local", description="Where the video's segments ran: this machine's threads or a Dask cluster."
    )
    cluster: str | None = Field(None, description="The Dask scheduler's address when runner is cluster.")
    workers: int = Field(1, ge=1, description="Threads (local) or Dask workers (cluster) that took part.")


class MomentFace(BaseModel):
    box: Box = Field(description="[left, top, right, bottom] in pixels of the upright frame.")
    name: str | None = Field(None, description="The found person this face is; null for a face nobody matched.")


class Moment(BaseModel):
    """A keyframe moment: every face of one analysed frame, so a picture of it can box everyone there."""

    time: float
    faces: list[MomentFace]


class UnknownAppearance(BaseModel):
    """A span of time an unknown person is on screen, and their clearest face in it."""

    start: float
    end: float
    keyframe: Keyframe


class FaceEmbeddings(BaseModel):
    """The descriptors of an unknown person's faces, so a person can name them later (enrol
    them in a gallery) or look for them elsewhere without a new analysis. Biometric data: it
    lives as long as the result it belongs to, and surfaces that show results to people or
    models leave it out (`ReIDResult.without_embeddings`)."""

    descriptor: DescriptorName
    count: int = Field(ge=1)
    vectors: str = Field(description="base64 of count x 128 little-endian float32 descriptors.")


class UnknownPerson(BaseModel):
    """Someone nobody asked for, seen repeatedly: the face tracks nobody matched, grouped across
    shots by likeness, never two faces of one frame in one group."""

    id: str = Field(description="person-1, person-2, ... in the order of the list (longest on screen first).")
    label: str = Field(description="Person 1, Person 2, ...: how every surface names them until someone does.")
    first_seen_s: float
    last_seen_s: float
    total_s: float = Field(description="Time on screen (s), counted as for a found person.")
    appearances: list[UnknownAppearance]
    keyframe: Keyframe = Field(description="Their clearest (largest) described face: the crop surfaces show.")
    tracks: int = Field(ge=1, description="Face tracks grouped into this person.")
    embeddings: FaceEmbeddings | None = Field(
        None, description="Their face descriptors, kept with the result for naming them; null where left out."
    )
    name: str | None = Field(
        None, description="The name someone gave them after the analysis (enrolling them); null until then."
    )

    @property
    def crop_file_name(self) -> str:
        """``unknown-person-2.jpg``: the file of their face crop on every surface."""
        return f"unknown-{self.id}.jpg"

    @property
    def shown_as(self) -> str:
        """Their name once someone gave one, else their label."""
        return self.name or self.label


class TokenUsage(BaseModel):
    """Tokens a language model used writing the caption, summed over its attempts; zeros when
    the caption is the template built from the findings (the API's ``data.token``)."""

    input: int = Field(0, ge=0)
    output: int = Field(0, ge=0)
    total: int = Field(0, ge=0)

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input=self.input + other.input, output=self.output + other.output, total=self.total + other.total
        )


CaptionWriterName = Literal["template", "model", "remote"]


class CaptionInfo(BaseModel):
    """Who wrote ``text``, and why the template stands in when a model was asked and failed."""

    writer: CaptionWriterName = Field(
        "template",
        description="template: built from the findings alone; model: a language model, checked against the "
        "findings; remote: the remote API's own caption (not checked here).",
    )
    model: str | None = Field(None, description="The caption model asked (provider:model), whichever wrote the text.")
    warning: str | None = Field(
        None,
        description="Why the model's caption was not used (unreachable, too slow, refused, contradicted the "
        "findings); null when nothing went wrong.",
    )
    attempts: int = Field(0, ge=0, description="Requests made to the model (0 with the template alone).")
    pictures: int = Field(0, ge=0, description="Pictures (keyframes and sampled frames) the model was shown.")


class ReIDResult(BaseModel):
    media: MediaInfo
    persons: list[PersonResult]
    unknown_faces: int = Field(description="Face tracks that matched none of the persons.")
    unknown_people: list[UnknownPerson] = Field(
        default_factory=list,
        description="The unknown faces grouped into people seen repeatedly, longest on screen first; at most "
        "the request's max_unknown_people, each on screen at least its unknown_min_s. Videos only.",
    )
    text: str = Field(description="Plain-English caption answering the request.")
    token: TokenUsage = Field(
        default_factory=TokenUsage,
        description="The caption model's token usage (input, output, total, over its attempts); zeros when no "
        "model was asked.",
    )
    caption: CaptionInfo = Field(default_factory=CaptionInfo, description="Who wrote text, and any warning.")
    prompt: str | None = None
    stats: Stats
    moments: list[Moment] = Field(
        default_factory=list,
        description="The frames of the found persons' keyframes, in time order, each once, with every face "
        "in them; empty when the backend did not report them (the keyframes then box only their own person).",
    )

    def found(self) -> list[PersonResult]:
        return [p for p in self.persons if p.found]

    def unknown_person(self, person_id: str) -> UnknownPerson | None:
        """The unknown person with this id (``person-2``), or with this label (``Person 2``)."""
        wanted = person_id.strip().casefold().replace(" ", "-")
        return next((u for u in self.unknown_people if u.id == wanted), None)

    def with_name(self, person_id: str, name: str) -> ReIDResult:
        """The same result with the unknown person ``person_id`` named ``name``, in the caption
        too ("Alice (Person 2) for 15 s"): a re-labelled answer, without a new analysis."""
        person = next((u for u in self.unknown_people if u.id == person_id), None)
        if person is None:
            return self
        people = [u.model_copy(update={"name": name}) if u is person else u for u in self.unknown_people]
        named = f"{name} ({person.label})"
        if person.name is not None:
            text = self.text.replace(f"{person.name} ({person.label})", named)
        else:
            text = re.sub(rf"\b{re.escape(person.label)}\b(?!\d)", lambda _match: named, self.text)
        return self.model_copy(update={"unknown_people": people, "text": text})

    def without_embeddings(self) -> ReIDResult:
        """The same result without the unknown people's face descriptors: for what is shown to
        people and models (an agent's artifact, a chat message), which never needs them."""
        people = [u.model_copy(update={"embeddings": None}) for u in self.unknown_people]
        return self.model_copy(update={"unknown_people": people})
