"""The workspace's gallery in Slack: ``/reid remember`` (a modal for a name, photos and the
consent note), "Remember this person" on an answer, ``/reid people``, ``/reid forget NAME`` and
``/reid audit``.

The workspace (team id) is the gallery's tenant. Enrolment runs on the desk after the modal is
acknowledged: the photos are downloaded into a private folder, checked and described, and the
folder is removed; only embeddings and small thumbnails are kept. The user is answered with an
ephemeral message: what was enrolled and what to add, or every refused photo's reason. Removing
someone and reading the audit log are for workspace admins and owners (``users.info``); removing
is also allowed to the person who enrolled them.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from bot.reid.downloads import download
from bot.reid.intake import expand_files, reference_problem
from bot.reid.modal import VALUE_ACTION, FormErrors, _text_input
from bot.reid.parts import Parts
from bot.reid.presentation import _plain, _section, escape
from bot.reid.retract import retract
from bot.reid.submission import IMAGE_TYPES, SlackFile
from tools.reid.errors import InvalidInput
from tools.reid.gallery import AuditEntry, EnrolledPerson, TenantGallery

REMEMBER_VIEW = "reid_remember"
"""callback_id of the enrolment modal."""
NAME_BLOCK, PHOTOS_BLOCK, CONSENT_BLOCK, CHOICES_BLOCK = "name", "photos", "consent", "choices"
MAX_PHOTOS = 10
AUDIT_LINES = 20


class RememberContext(BaseModel):
    """What the enrolment modal carries from its opening to its submission."""

    channel: str
    request: str | None = None
    """The answer "Remember NAME" was pressed on: its photos of NAME serve when none are added."""


class RememberForm(BaseModel):
    name: str
    photos: list[SlackFile]
    consent: str
    more: bool = False
    accept_far: bool = False
    request: str | None = None
    """With no photos added: enrol from the photos of ``name`` this request searched with."""


def remember_view(channel: str, name: str | None = None, request: str | None = None) -> dict[str, Any]:
    """The enrolment modal; ``name`` pre-fills the name, and with ``request`` (the answer's "Remember
    NAME") the photos may be left empty: the search's own photos of them are used."""
    name_input = _text_input(NAME_BLOCK, "Name", "The name searches will use", 80)
    name_input["optional"] = False
    if name:
        name_input["element"]["initial_value"] = name
    consent = _text_input(
        CONSENT_BLOCK, "Consent", "How they agreed to be enrolled, e.g. signed visitor form 2026-11-30", 500
    )
    consent["optional"] = False
    blocks = [
        _section(
            "Their photos are checked and kept only as face embeddings and small thumbnails, never as photos. "
            "Anyone here can then search for them by name; admins can remove them with `/reid forget NAME`."
        ),
        name_input,
        {
            "type": "input",
            "block_id": PHOTOS_BLOCK,
            "optional": request is not None,
            "label": _plain("Photos of their face, alone (2-4 from different days and angles are best)"),
            "element": {
                "type": "file_input",
                "action_id": VALUE_ACTION,
                "filetypes": sorted(IMAGE_TYPES),
                "max_files": MAX_PHOTOS,
            },
        },
        consent,
        {
            "type": "input",
            "block_id": CHOICES_BLOCK,
            "optional": True,
            "label": _plain("Options"),
            "element": {
                "type": "checkboxes",
                "action_id": VALUE_ACTION,
                "options": [
                    {"text": _plain("These are more photos of someone already enrolled"), "value": "more"},
                    {"text": _plain("It is them, even if a photo looks unlike their others"), "value": "accept_far"},
                ],
            },
        },
    ]
    return {
        "type": "modal",
        "callback_id": REMEMBER_VIEW,
        "title": _plain("Remember a person"),
        "submit": _plain("Enrol"),
        "close": _plain("Cancel"),
        "private_metadata": RememberContext(channel=channel, request=request).model_dump_json(exclude_none=True),
        "blocks": blocks,
    }


def parse_remember(values: Mapping[str, Mapping[str, Any]], parts: Parts, context: RememberContext) -> RememberForm:
    """The filled-in enrolment modal; problems are shown under the input concerned.

    Raises:
        FormErrors: block id -> what to change.
    """
    state = {block: values.get(block, {}).get(VALUE_ACTION) or {} for block in values}
    name = (state.get(NAME_BLOCK, {}).get("value") or "").strip()
    consent = (state.get(CONSENT_BLOCK, {}).get("value") or "").strip()
    photos = [SlackFile.from_slack(f) for f in state.get(PHOTOS_BLOCK, {}).get("files") or []]
    choices = {option["value"] for option in state.get(CHOICES_BLOCK, {}).get("selected_options") or []}
    errors = {}
    if not name:
        errors[NAME_BLOCK] = "Give the name searches will use."
    if not photos and context.request is None:
        errors[PHOTOS_BLOCK] = "Add at least one photo of their face."
    for photo in photos:
        if problem := reference_problem(photo, parts.settings):
            errors[PHOTOS_BLOCK] = problem
    if not consent and "more" not in choices:
        errors[CONSENT_BLOCK] = "Say how they agreed to be enrolled; it is kept with the enrolment."
    if errors:
        raise FormErrors(errors)
    return RememberForm(
        name=name,
        photos=photos,
        consent=consent,
        more="more" in choices,
        accept_far="accept_far" in choices,
        request=None if photos else context.request,
    )


async def enrol(parts: Parts, form: RememberForm, *, team: str, user: str, channel: str) -> None:
    """On the desk: download the photos, enrol, and tell the user how it went (ephemeral)."""
    folder = Path(tempfile.mkdtemp(prefix="reid-remember-"))
    try:
        files = form.photos or _searched_with(parts, form)
        photos = [(photo.name, await _download(parts, photo, folder / f"photo-{n}")) for n, photo in enumerate(files)]
        tool = parts.runner.tool
        enrolment = await asyncio.to_thread(
            tool.people(team).enrol,
            form.name,
            photos,
            by=user,
            consent=form.consent,
            descriptor=tool.settings.descriptor,
            max_pixels=tool.settings.max_pixels,
            more=form.more,
            accept_far=form.accept_far,
            surface="slack",
        )
        text = f":white_check_mark: {enrolment.text()}"
    except InvalidInput as exc:
        text = f":warning: {exc}"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    await parts.client.chat_postEphemeral(channel=channel, user=user, text=text)


def _searched_with(parts: Parts, form: RememberForm) -> list[SlackFile]:
    """The photos of ``form.name`` the answer's request searched with.

    Raises:
        InvalidInput: that request is gone, or had no photo of them.
    """
    stored = parts.store.get(form.request) if form.request else None
    files = [
        ref.file
        for ref in (stored.submission.references if stored else [])
        if ref.name.casefold() == form.name.casefold()
    ]
    if not files:
        raise InvalidInput(
            f"the search's photos of {form.name} are no longer at hand (or it had none under that name). "
            "Open /reid remember again and add photos."
        )
    return files


async def _download(parts: Parts, photo: SlackFile, dest: Path) -> Path:
    if photo.url is None:
        [photo] = await expand_files(parts.client, [{"id": photo.id}])
    return await download(
        parts.runner.http,
        photo,
        dest,
        token=parts.settings.slack_bot_token.get_secret_value(),
        max_bytes=parts.settings.max_photo_bytes,
        timeout_s=parts.runner.tool.settings.fetch_timeout_s,
        expect="image",
    )


def people_text(gallery: TenantGallery) -> str:
    """``/reid people``: who is enrolled here, with their photo counts and coverage."""
    people = gallery.people()
    if not people:
        return "Nobody is enrolled in this workspace yet. Enrol someone with `/reid remember`."
    return f"*{len(people)} enrolled* (search by name: `@ReID is Alice in this?`)\n" + "\n".join(
        _person_line(p) for p in people
    )


def _person_line(person: EnrolledPerson) -> str:
    return (
        f"• *{escape(person.name)}*: {person.faces} photo(s), enrolled {person.enrolled_at:%Y-%m-%d} by "
        f"<@{person.enrolled_by}>. {person.coverage}"
    )


async def forget(parts: Parts, name: str, *, team: str, user: str, channel: str) -> None:
    """``/reid forget NAME``: for admins and whoever enrolled them; answers what was deleted,
    in the gallery, in the bot's store, and in Slack (`bot.reid.retract`)."""
    gallery = parts.runner.tool.people(team)
    try:
        person = await asyncio.to_thread(gallery.show, name)
        if person.enrolled_by != user and not await is_admin(parts, user):
            text = (
                f"Only a workspace admin or whoever enrolled {person.name} (<@{person.enrolled_by}>) can remove them."
            )
        else:
            removal = await asyncio.to_thread(gallery.remove, name, by=user, surface="slack")
            retracted = await retract(parts.client, parts.store)
            text = f":wastebasket: {removal.text()} {retracted.text()}"
    except InvalidInput as exc:
        text = f":warning: {exc}"
    await parts.client.chat_postEphemeral(channel=channel, user=user, text=text)


async def audit(parts: Parts, *, team: str, user: str, channel: str) -> None:
    """``/reid audit``: the workspace's last searches, enrolments and removals, for admins only."""
    if not await is_admin(parts, user):
        text = "Only workspace admins and owners can read the audit log."
    else:
        entries = await asyncio.to_thread(parts.runner.tool.people(team).audit_log, 30 * 86400.0, AUDIT_LINES)
        lines = [_audit_line(e) for e in entries]
        text = "*Audit log, last 30 days* (newest first)\n" + "\n".join(lines) if lines else "No entries in 30 days."
    await parts.client.chat_postEphemeral(channel=channel, user=user, text=text)


def _audit_line(entry: AuditEntry) -> str:
    who = f"<@{entry.actor}>" if entry.surface == "slack" else escape(entry.actor)
    media = f" in media {entry.media_digest[:12]}" if entry.media_digest else ""
    names = escape(", ".join(entry.names)) or "-"
    when = f"{entry.at:%Y-%m-%d %H:%M} UTC"
    return f"• {when} {who} ({entry.surface}) {entry.action} {names}{media}: {escape(entry.outcome)}"


async def is_admin(parts: Parts, user: str) -> bool:
    """Whether Slack says the user is a workspace admin or owner."""
    info = (await parts.client.users_info(user=user))["user"]
    return bool(info.get("is_admin") or info.get("is_owner"))
