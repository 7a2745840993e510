"""The engine's entry point: media and reference photos in, one `ReIDResult` out."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.reid.engine import decode, detect
from tools.reid.engine.caption import caption
from tools.reid.engine.embed import Descriptor, get_descriptor
from tools.reid.engine.frames import FrameFaces, SegmentResult, SegmentSpec, every_face
from tools.reid.engine.match import Identified, identify, person_result
from tools.reid.engine.moments import keyframe_moments
from tools.reid.engine.parallel import PoolRunner, Runner, analyse_video
from tools.reid.engine.references import Person, load_persons
from tools.reid.engine.track import Track, build_tracks
from tools.reid.engine.unknown import GROUP_DISTANCE, LIKE_PHOTO, UNLIKE_FOUND, Asked, GroupingRules, unknown_people
from tools.reid.errors import MediaError
from tools.reid.limits import Limits
from tools.reid.progress import ProgressFn, no_progress
from tools.reid.schemas import AnalysisOptions, MediaInfo, ReIDResult, Stats, UnknownPerson

REFERENCES_SHARE = 0.05
"""Share of the progress bar spent on the reference photos."""


def analyze(
    media: Path,
    persons: Mapping[str, Sequence[Path | bytes]],
    *,
    prompt: str | None = None,
    options: AnalysisOptions | None = None,
    limits: Limits | None = None,
    workers: int = 1,
    runner: Runner | None = None,
    progress: ProgressFn = no_progress,
    enrolled: Sequence[Person] = (),
) -> ReIDResult:
    """Finds the named persons in a video or an image.

    Args:
        media: path of a video or image file.
        persons: name -> reference photos (paths or bytes), at most five names.
        prompt: the user's question, kept in the result.
        options: tolerance, sampling rate, detector, descriptor, gap merging.
        limits: size, duration and pixel limits on the media.
        workers: processes to spread a video over (results do not depend on it).
        runner: where a video's segments run instead (a cluster); `workers` is then unused.
        progress: called with the fraction done.
        enrolled: people described already (a gallery's), searched beside ``persons``, any
            number of them; their descriptors must come from ``options.descriptor``.

    Raises:
        MediaError: the media is unreadable or over a limit.
        ReferencePhotoError: a reference photo is unusable.
    """
    started = time.monotonic()
    options = options or AnalysisOptions()
    descriptor = get_descriptor(options.descriptor)
    tolerance = options.effective_tolerance()
    runner = runner or PoolRunner(workers)
    limits = limits or Limits()
    info = decode.probe(media, limits)
    photographed = (
        load_persons(persons, options.detector, options.descriptor, limits.max_pixels)
        if persons or not enrolled
        else []
    )
    references = photographed + list(enrolled)
    progress(REFERENCES_SHARE)
    scaled = _scaled(progress)
    if info.kind == "image":
        segments = [_image_segment(media, options, descriptor, limits.max_pixels)]
    else:
        segments = _video_segments(media, info, options, descriptor, runner, scaled)
    frames = [frame for segment in segments for frame in segment.frames]
    tracks = build_tracks(frames, options.sample_fps, descriptor)
    found = identify(tracks, references, tolerance, descriptor, video=info.kind == "video")
    people = [
        person_result(p.name, found[p.name], descriptor.scale, options.gap_s).model_copy(
            update={"reference_notes": list(p.notes)}
        )
        for p in references
    ]
    claimed = {id(i.track) for items in found.values() for i in items}
    unknown = [t for t in tracks if id(t) not in claimed]
    others = _unknown_people(unknown, found, references, descriptor, options) if info.kind == "video" else []
    progress(1.0)
    return ReIDResult(
        media=info,
        persons=people,
        unknown_faces=len(unknown),
        unknown_people=others,
        text=caption(info, people, len(unknown), others),
        prompt=prompt,
        stats=Stats(
            frames_decoded=sum(s.frames_decoded for s in segments),
            frames_analysed=len(frames),
            faces_detected=sum(len(f.faces) for f in frames),
            faces_described=sum(s.faces_described for s in segments),
            wall_s=round(time.monotonic() - started, 3),
            runner=runner.kind if info.kind == "video" else "local",
            cluster=runner.address if info.kind == "video" else None,
            workers=runner.workers_used() if info.kind == "video" else 1,
        ),
        moments=keyframe_moments(frames, found, people),
    )


def _unknown_people(
    unknown: list[Track],
    found: dict[str, list[Identified]],
    references: list[Person],
    descriptor: Descriptor,
    options: AnalysisOptions,
) -> list[UnknownPerson]:
    """The unknown tracks grouped into people, in this process once every segment is in.

    What clears a group does not move with the tolerance asked for: a track found within
    ``UNLIKE_FOUND`` (SFace's default tolerance, the distance at which a face is named) is sure,
    and a group none of whose faces comes that near a person's sure faces is not them, whatever
    its likeness to their photo. A track found only beyond it (a less strict look) still keeps
    groups back, but it clears none.
    """
    rules = GroupingRules(
        threshold=GROUP_DISTANCE[descriptor.name],
        min_screen_s=options.unknown_min_s,
        max_people=options.max_unknown_people,
        gap_s=options.gap_s,
        doubtful=options.effective_tolerance() + descriptor.scale.margin,
        like_photo=LIKE_PHOTO[descriptor.name],
        unlike_found=UNLIKE_FOUND[descriptor.name],
    )
    asked = [
        Asked(
            p.descriptors,
            found=[i.track for i in found[p.name]],
            sure=[i.track for i in found[p.name] if i.distance <= rules.unlike_found],
        )
        for p in references
    ]
    return unknown_people(unknown, asked, descriptor, rules)


def _scaled(progress: ProgressFn) -> ProgressFn:
    return lambda fraction: progress(REFERENCES_SHARE + (1 - REFERENCES_SHARE) * fraction)


def _image_segment(media: Path, options: AnalysisOptions, descriptor: Descriptor, max_pixels: int) -> SegmentResult:
    rgb = decode.load_image(media, max_pixels)
    detector = detect.get_detector(options.detector)
    faces = every_face(rgb, detector, descriptor, detect.photo_min_face(rgb.shape[0]))
    return SegmentResult(frames=[FrameFaces(0, 0.0, faces)], frames_decoded=1, faces_described=len(faces))


def video_spec(options: AnalysisOptions, descriptor: Descriptor, height: int) -> SegmentSpec:
    """What every segment of a video of ``height`` pixels is analysed with, from the options."""
    return SegmentSpec(
        sample_fps=options.sample_fps,
        detector=options.detector,
        descriptor=options.descriptor,
        min_face_px=detect.video_min_face(height),
        embed_every=max(1, round(descriptor.scale.embed_interval_s * options.sample_fps)),
        full_every=max(1, round(detect.FULL_PASS_INTERVAL_S * options.sample_fps)),
    )


def _video_segments(
    media: Path, info: MediaInfo, options: AnalysisOptions, descriptor: Descriptor, runner: Runner, progress: ProgressFn
) -> list[SegmentResult]:
    spec = video_spec(options, descriptor, info.height)
    grid = decode.grid_size(info.duration_s, options.sample_fps)
    segments = analyse_video(media, grid, spec, runner, progress)
    decoded_until = max(s.last_time for s in segments)
    if info.duration_s - decoded_until > max(2.0, 0.1 * info.duration_s) + 1.0 / options.sample_fps:
        raise MediaError(
            f"{media.name} ends at {decoded_until:.1f} s although it says it lasts "
            f"{info.duration_s:.1f} s: the file is truncated. Send the complete file."
        )
    return segments
