"""What a Slack user asked for, in our terms: one footage file, named reference photos, a question,
and where to answer. Intake builds it, the store keeps it (metadata only, never file contents),
the run turns it into a `ReIDRequest` once the files are downloaded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from tools.reid.schemas import PersonName

FileKind = Literal["video", "image"]
Source = Literal["mention", "direct_message", "modal", "shortcut"]

VIDEO_TYPES = frozenset({"mp4", "mov", "m4v", "mkv", "webm", "avi", "mpg", "mpeg", "wmv", "flv", "3gp", "ts"})
IMAGE_TYPES = frozenset({"jpg", "jpeg", "png", "gif", "webp", "bmp", "tiff", "tif", "heic", "heif"})


class SlackFile(BaseModel):
    """The parts of a Slack file object the bot uses."""

    id: str
    name: str
    title: str = ""
    mimetype: str = ""
    filetype: str = ""
    size: int | None = None
    url: str | None = None
    """``url_private_download`` (or ``url_private``): needs the bot token, never logged."""

    @classmethod
    def from_slack(cls, file: Mapping[str, Any]) -> SlackFile:
        return cls(
            id=file["id"],
            name=file.get("name") or file["id"],
            title=file.get("title") or "",
            mimetype=file.get("mimetype") or "",
            filetype=(file.get("filetype") or "").lower(),
            size=file.get("size"),
            url=file.get("url_private_download") or file.get("url_private"),
        )

    @property
    def kind(self) -> FileKind | None:
        """Video, image, or None for anything else (documents, audio, archives)."""
        major = self.mimetype.partition("/")[0]
        if major == "video":
            return "video"
        if major == "image":
            return "image"
        # Slack labels what it does not recognise application/octet-stream; the name may still tell.
        types = {self.filetype, self.name.rpartition(".")[2].lower()}
        if types & VIDEO_TYPES:
            return "video"
        if types & IMAGE_TYPES:
            return "image"
        return None


class Reference(BaseModel):
    """A reference photo and the name of the person it shows."""

    name: PersonName
    file: SlackFile
    from_answer: str | None = None
    """``request_id:person-N`` when the photo is an unknown person's face crop kept with an earlier
    answer ("Find in other footage"), read from the store instead of Slack."""


class Submission(BaseModel):
    """One request as the user made it, and where its answer goes."""

    source: Source
    team: str | None = None
    channel: str
    thread_ts: str | None
    """The thread the answer goes to; None until /reid's parent message is posted."""
    message_ts: str | None
    """The message that carries the 👀/✅/❌ reactions."""
    user: str
    prompt: str | None = None
    footage: SlackFile
    references: list[Reference]
    enrolled: list[PersonName] = []
    """People named as enrolled in the workspace's gallery, searched without photos."""
    everyone_enrolled: bool = False
    """Search for everyone enrolled in the workspace's gallery."""
    tolerance: float | None = None
    """The match tolerance to use; None for the ReID settings' own. Set by "Look again, less strict"."""
    looser_than: float | None = None
    """The tolerance of the answer this one looks again at, less strictly; None for a first look."""

    def names(self) -> list[str]:
        """The distinct person names, in the order given (a repeated name adds photos)."""
        distinct: dict[str, str] = {}
        for name in [ref.name for ref in self.references] + list(self.enrolled):
            distinct.setdefault(name.casefold(), name)
        return list(distinct.values())

    def tenant(self) -> str:
        """Whose gallery and audit log: the workspace (team id)."""
        return self.team or "slack"
