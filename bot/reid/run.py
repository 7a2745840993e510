"""The run: one stored request, from its Slack files to the answer in its thread.

Locally the ReID tool analyses the downloaded files off the event loop. With the remote backend
the files are staged where the service can fetch them (``/reid/media/{token}/…``), the request is
submitted with a callback URL (``/reid/callback/{token}``), and the callback finishes the run; in
both cases keyframes are drawn here, from the local copy of the footage. A request's files live in
its own folder (0700, files 0600) inside the process's work folder (`tools.reid.workdir`),
removed when the request ends; a bot killed outright leaves them until the next one starts.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import shutil
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.reid import presentation
from bot.reid.downloads import Expect, download
from bot.reid.intake import expand_files
from bot.reid.settings import BotSettings
from bot.reid.store import Store, StoredRequest
from bot.reid.submission import SlackFile, Submission
from bot.reid.thread import DONE, FAILED, SEEN, RequestThread
from tools.reid.errors import EngineError, InvalidInput, ReIDError
from tools.reid.facade import ReIDTool
from tools.reid.gallery import Asker
from tools.reid.schemas import TOLERANCES, AnalysisOptions, DescriptorName, PersonSpec, ReIDRequest, ReIDResult
from tools.reid.workdir import ProcessFolder, private_folder

log = logging.getLogger(__name__)

Step = Callable[[StoredRequest, RequestThread], Awaitable[bool]]
"""One stage of a run; returns True when the request is over and its files can go."""

PROGRESS_STEP = 0.05
"""Progress is shown in 5 % steps: finer changes are not worth a chat.update."""

LOOSEN_STEP = 1 / 6
""""Look again, less strict" raises the tolerance by this share of the range the descriptor
allows (`schemas.TOLERANCES`: ~0.05 on SFace's 0.3-0.62), and never past the range's top."""


RESULT_KIND = "slack-request"
"""How the gallery names the bot's stored results (removing a person deletes theirs)."""


def slack_asker(submission: Submission) -> Asker:
    """The audit log's who and where: the Slack user, in their workspace's gallery."""
    return Asker(tenant=submission.tenant(), actor=submission.user, surface="slack")


def looser_tolerance(current: float, descriptor: DescriptorName) -> float | None:
    """The tolerance one "Look again, less strict" moves to; None when ``current`` is the loosest allowed."""
    scale = TOLERANCES[descriptor]
    if current >= scale.loosest:
        return None
    return round(min(scale.loosest, current + (scale.loosest - scale.strictest) * LOOSEN_STEP), 3)


@dataclass(frozen=True)
class Staged:
    """A request's files, downloaded into its folder under names we chose."""

    footage: Path
    references: list[tuple[str, Path]]
    """(person name, photo) in the order of the submission."""


class _Progress:
    """The engine reports from its worker thread; the event loop reads the latest fraction."""

    def __init__(self) -> None:
        self.fraction = 0.0

    def __call__(self, fraction: float) -> None:
        self.fraction = fraction


class Runner:
    """Runs stored requests and answers them in their threads."""

    def __init__(
        self, settings: BotSettings, tool: ReIDTool, client: AsyncWebClient, store: Store, http: httpx.AsyncClient
    ) -> None:
        self.settings = settings
        self.tool = tool
        self.client = client
        self.store = store
        self.http = http
        self.by_callback = tool.answers_by_callback
        self._watchdogs: set[asyncio.Task[None]] = set()
        self.work = ProcessFolder(settings.work_root())
        """This process's private folder of downloads; those of dead bots are deleted here."""
        if self.by_callback and not settings.public_url:
            raise ValueError(
                "REID_BACKEND=remote needs PUBLIC_URL: the URL at which the ReID service reaches this bot "
                "(to fetch the Slack files and to call back with the result)."
            )

    # --- Entry points

    async def run(self, request_id: str) -> None:
        """Run a pending request; nothing happens if it is not pending (done, or another worker has it)."""
        stored = self.store.start(request_id)
        if stored is not None:
            await self._guarded(stored, self._submit if self.by_callback else self._analyze)

    async def complete(self, stored: StoredRequest, payload: Mapping[str, Any]) -> None:
        """Finish a remote run with the service's callback payload (the request already claimed)."""

        async def finish(stored: StoredRequest, thread: RequestThread) -> bool:
            result = self.tool.result_from_callback(payload, stored.submission.names())
            await self._answer(stored, thread, result, self._footage_path(stored))
            return True

        await self._guarded(stored, finish)

    def staged_file(self, stored: StoredRequest, name: str) -> Path | None:
        """The staged file ``name`` of an open request, for the service to fetch; None for any other name."""
        allowed = {self._footage_path(stored).name} | {path.name for path in self._reference_paths(stored)}
        path = self._folder(stored.id) / name
        return path if name in allowed and path.is_file() else None

    async def close(self) -> None:
        """Stop waiting for remote results (the requests resume at the next start), and delete
        the downloads."""
        for watchdog in self._watchdogs:
            watchdog.cancel()
        await asyncio.gather(*self._watchdogs, return_exceptions=True)
        self.work.close()

    @property
    def tolerance(self) -> float:
        """The tolerance a request gets unless it says otherwise."""
        return self.tool.settings.analysis_options().effective_tolerance()

    @property
    def descriptor(self) -> DescriptorName:
        """The face descriptor every request of this bot uses."""
        return self.tool.settings.descriptor

    def _folder(self, request_id: str) -> Path:
        return self.work.path / request_id

    # --- Steps

    async def _analyze(self, stored: StoredRequest, thread: RequestThread) -> bool:
        staged = await self._stage(stored, thread)
        options = self.tool.settings.analysis_options()
        if stored.submission.tolerance is not None:
            options = options.model_copy(update={"tolerance": stored.submission.tolerance})
        request = self._request(stored.submission, staged, str, options=options)
        progress = _Progress()
        ticker = asyncio.create_task(self._show_progress(thread, progress))
        try:
            result = await self.tool.aanalyze(request, progress, slack_asker(stored.submission))
        finally:
            ticker.cancel()
        await self._answer(stored, thread, result, staged.footage)
        return True

    async def _submit(self, stored: StoredRequest, thread: RequestThread) -> bool:
        assert self.settings.public_url is not None, "checked at start"
        staged = await self._stage(stored, thread)
        media_token, callback_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.store.open_remote(stored.id, media_token, callback_token)
        base = self.settings.public_url.rstrip("/")

        def locate(path: Path) -> str:
            return f"{base}/reid/media/{media_token}/{path.name}"

        request = self._request(stored.submission, staged, locate, options=None)
        # Said before submitting: the callback may finish the request before submit returns.
        await thread.status(presentation.SUBMITTED)
        task_id = await asyncio.to_thread(self.tool.submit, request, f"{base}/reid/callback/{callback_token}")
        self.store.submitted(stored.id, task_id)
        log.info("request %s submitted as task %s", stored.reference, task_id)
        watchdog = asyncio.create_task(self._expire(stored, self.tool.settings.api_task_timeout_s))
        self._watchdogs.add(watchdog)
        watchdog.add_done_callback(self._watchdogs.discard)
        return False

    async def _expire(self, stored: StoredRequest, timeout_s: float) -> None:
        """Give up on a remote run whose callback never came, so its files and tokens do not outlive it."""
        await asyncio.sleep(timeout_s)
        claimed = self.store.claim_expired(stored.id)
        if claimed is None:
            return

        async def give_up(stored: StoredRequest, thread: RequestThread) -> bool:
            waited = f"{timeout_s / 60:.0f} minutes" if timeout_s >= 120 else f"{timeout_s:g} s"
            raise EngineError(
                f"The ReID service did not answer within {waited}. Try again later; "
                "if it keeps happening, tell the bot's admin."
            )

        await self._guarded(claimed, give_up)

    async def _answer(self, stored: StoredRequest, thread: RequestThread, result: ReIDResult, footage: Path) -> None:
        """The answer message, then its pictures in the thread; the result is kept for the buttons."""
        pictures = await asyncio.to_thread(self.tool.render_pictures, footage, result, footage.parent / "pictures")
        self.store.save_result(stored.id, result)
        gallery = self.tool.people(stored.submission.tenant())
        await asyncio.to_thread(gallery.link, [p.name for p in result.persons], RESULT_KIND, stored.id)
        buttons = await self.buttons(stored, result)
        answer_ts = await thread.reply(presentation.result_message(result, stored.submission, stored.id, buttons))
        self.store.set_answer(stored.id, answer_ts)
        if pictures:
            moments = self.tool.keyframe_moments(result)
            titles = presentation.picture_titles(pictures, stored.submission, moments, result)
            uploaded = await thread.upload(pictures, titles)
            await self._show_crops(stored, thread, result, buttons, pictures, uploaded, answer_ts)
        self.store.finish(stored.id, "done")
        await thread.status(presentation.done_note(result))
        await thread.react(DONE, remove=SEEN)
        log.info("request %s done: %d of %d found", stored.reference, len(result.found()), len(result.persons))

    async def _show_crops(
        self,
        stored: StoredRequest,
        thread: RequestThread,
        result: ReIDResult,
        buttons: presentation.Buttons,
        pictures: list[Path],
        uploaded: dict[str, str],
        answer_ts: str,
    ) -> None:
        """Keeps each unknown person's crop with the result (to name them, or look for them, later)
        and puts the uploaded crops beside them in the answer."""
        files = {path.name: path for path in pictures}
        crops = {
            person.id: (files[person.crop_file_name].read_bytes(), uploaded.get(person.crop_file_name))
            for person in result.unknown_people
            if person.crop_file_name in files
        }
        if not crops:
            return
        self.store.save_unknown_faces(stored.id, crops)
        shown = {person: file_id for person, (_, file_id) in crops.items() if file_id}
        if shown:
            message = presentation.result_message(result, stored.submission, stored.id, buttons, shown)
            await thread.update(answer_ts, message)

    async def buttons(self, stored: StoredRequest, result: ReIDResult) -> presentation.Buttons:
        """Which of the answer's buttons help for this result: "Remember" for each found person
        not enrolled in the workspace's gallery yet."""
        gallery = self.tool.people(stored.submission.tenant())
        enrolled = {name.casefold() for name in await asyncio.to_thread(gallery.names)}
        return presentation.Buttons(
            appearances=any(p.appearances for p in result.persons) and result.media.kind == "video",
            look_again=self._can_look_again(stored, result),
            remember=tuple(p.name for p in result.found() if p.name.casefold() not in enrolled),
        )

    def _can_look_again(self, stored: StoredRequest, result: ReIDResult) -> bool:
        """Offered when someone was not found and the tolerance can still grow. Only local runs
        choose their options: a remote service keeps its own (and the hosted one knows none)."""
        tolerance = stored.submission.tolerance if stored.submission.tolerance is not None else self.tolerance
        return (
            not self.by_callback
            and len(result.found()) < len(result.persons)
            and looser_tolerance(tolerance, self.descriptor) is not None
        )

    # --- Failure handling

    async def _guarded(self, stored: StoredRequest, step: Step) -> None:
        """Run a step; any failure becomes a reply in the thread and ❌, never silence."""
        thread = RequestThread(self.client, self.store, stored)
        over = True
        try:
            over = await step(stored, thread)
        except ReIDError as exc:
            log.info("request %s failed: %s", stored.reference, type(exc).__name__)
            await self._fail(stored, thread, presentation.error_message(self._in_user_terms(str(exc), stored)))
        except Exception:
            log.exception("request %s failed unexpectedly", stored.reference)
            await self._fail(stored, thread, presentation.apology_message(stored.reference))
        finally:
            if over:
                shutil.rmtree(self._folder(stored.id), ignore_errors=True)

    async def _fail(self, stored: StoredRequest, thread: RequestThread, message: presentation.Message) -> None:
        self.store.finish(stored.id, "failed")
        try:
            await thread.reply(message)
            await thread.status(presentation.FAILED)
        except SlackApiError as exc:
            log.warning("request %s: could not post the failure: %s", stored.reference, exc.response.get("error"))
        await thread.react(FAILED, remove=SEEN)

    def _in_user_terms(self, message: str, stored: StoredRequest) -> str:
        """Error messages name files by our staged paths; the user knows them by their Slack names."""
        submission = stored.submission
        names = {self._footage_path(stored): submission.footage.name}
        names |= dict(zip(self._reference_paths(stored), (ref.file.name for ref in submission.references), strict=True))
        for path, name in names.items():
            message = message.replace(str(path), name).replace(path.name, name)
        return message

    # --- Files

    async def _stage(self, stored: StoredRequest, thread: RequestThread) -> Staged:
        """Download the request's files into a fresh folder (a restarted run starts clean)."""
        await thread.status(presentation.DOWNLOADING)
        folder = self._folder(stored.id)
        shutil.rmtree(folder, ignore_errors=True)
        private_folder(folder)
        submission, settings = stored.submission, self.settings
        footage = await self._download(
            submission.footage, self._footage_path(stored), settings.max_footage_bytes, "media"
        )
        references = []
        for ref, path in zip(submission.references, self._reference_paths(stored), strict=True):
            if ref.from_answer is not None:
                references.append((ref.name, self._kept_face(ref.from_answer, ref.name, path)))
            else:
                references.append((ref.name, await self._download(ref.file, path, settings.max_photo_bytes, "image")))
        return Staged(footage, references)

    def _kept_face(self, from_answer: str, name: str, dest: Path) -> Path:
        """An unknown person's face crop kept with an earlier answer, as a reference photo file.

        Raises:
            InvalidInput: the answer's result (and its faces) is no longer kept.
        """
        request_id, person_id = presentation.parse_unknown_value(from_answer)
        face = self.store.unknown_faces(request_id).get(person_id)
        if face is None:
            raise InvalidInput(
                f"the earlier answer that showed {name} is no longer kept (answers are kept for a week): "
                "search again with a photo of them."
            )
        dest.write_bytes(face.crop)
        return dest

    async def _download(self, file: SlackFile, dest: Path, max_bytes: int, expect: Expect) -> Path:
        if file.url is None:
            [file] = await expand_files(self.client, [{"id": file.id}])
        return await download(
            self.http,
            file,
            dest,
            token=self.settings.slack_bot_token.get_secret_value(),
            max_bytes=max_bytes,
            timeout_s=self.tool.settings.fetch_timeout_s,
            expect=expect,
        )

    def _footage_path(self, stored: StoredRequest) -> Path:
        return self._folder(stored.id) / _local_name("footage", stored.submission.footage)

    def _reference_paths(self, stored: StoredRequest) -> list[Path]:
        folder = self._folder(stored.id)
        return [folder / _local_name(f"photo-{n}", ref.file) for n, ref in enumerate(stored.submission.references, 1)]

    @staticmethod
    def _request(
        submission: Submission, staged: Staged, locate: Callable[[Path], str], options: AnalysisOptions | None
    ) -> ReIDRequest:
        """The ReID request over the staged files; ``locate`` gives each file's path or URL.

        Local runs pass the engine options of the ReID settings; a remote service keeps its own
        defaults (and the hosted one knows no options), so there they are left out.
        """
        persons = [PersonSpec(name=name, photos=[locate(path)]) for name, path in staged.references]
        extra = {"options": options} if options is not None else {}
        return ReIDRequest(
            media=locate(staged.footage),
            persons=persons,
            enrolled=submission.enrolled,
            everyone_enrolled=submission.everyone_enrolled,
            prompt=submission.prompt,
            **extra,
        )

    async def _show_progress(self, thread: RequestThread, progress: _Progress) -> None:
        """Update the status message at most every ``progress_interval_s``, and only on change."""
        shown = 0.0
        while True:
            await asyncio.sleep(self.settings.progress_interval_s)
            fraction = round(progress.fraction / PROGRESS_STEP) * PROGRESS_STEP
            if fraction == shown:
                continue
            try:
                await thread.status(presentation.progress_note(fraction))
                shown = fraction
            except SlackApiError as exc:
                log.warning("progress update of request %s: %s", thread.request_id[:8], exc.response.get("error"))


def _local_name(stem: str, file: SlackFile) -> str:
    """Our name for a downloaded file: the stem we choose, the extension the user's file had
    (FFmpeg and the remote service's image-or-video guess use it); nothing else of their name."""
    suffix = file.name.rpartition(".")[2].lower() if "." in file.name else ""
    if not re.fullmatch(r"[a-z0-9]{1,5}", suffix):
        suffix = "mp4" if file.kind == "video" else "jpg"
    return f"{stem}.{suffix}"
