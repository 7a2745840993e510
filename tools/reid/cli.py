"""`reid`: the command line. It parses, calls the ReID tool, prints; nothing else.

Exit codes: 0 done (and bare ``reid``, which prints the help), 2 bad input (one line on
stderr says why), 1 the analysis failed.
"""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from pydantic import ValidationError

from tools.reid.errors import InvalidInput, ReIDError
from tools.reid.exports import appearances_csv, appearances_vtt
from tools.reid.extras import require
from tools.reid.fetch.download import safe_file_name
from tools.reid.fetch.policy import is_url
from tools.reid.names import name_from_file
from tools.reid.paths import is_local_file, writable_folder
from tools.reid.progress import ProgressFn
from tools.reid.report import caption_note, summary, table
from tools.reid.schemas import AnalysisOptions, MediaInfo, PersonSpec, ReIDRequest, ReIDResult
from tools.reid.settings import ReIDSettings, get_settings
from tools.reid.wording import validation_problems

if TYPE_CHECKING:
    from tools.reid.facade import ReIDTool
    from tools.reid.gallery import Asker, TenantGallery

FORMATS: dict[str, Callable[[ReIDResult], str]] = {
    "table": table,
    "json": lambda result: result.model_dump_json(indent=2) + "\n",
    "csv": appearances_csv,
    "vtt": appearances_vtt,
}
"""What ``--format`` prints on stdout (``table`` is followed by the caption)."""
PHOTO_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff", ".heic"})
"""A bare --person value with one of these is a photo that is missing, not an enrolled name."""
ETA_AFTER = 0.2
"""Share of the work done before the progress bar estimates the time left."""


class Stopped(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the command unwinds and its engine workers are ended."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _stop_on_sigterm(signum: int, _frame: object) -> None:
    raise Stopped(signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        return args.command(args)
    except InvalidInput as exc:
        print(f"reid: {exc}", file=sys.stderr)
        return 2
    except ReIDError as exc:
        print(f"reid: analysis failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        from tools.reid.facade import stop_engine_workers

        stop_engine_workers()
        print("reid: stopped.", file=sys.stderr)
        return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)


COMMANDS = "reid.commands"
"""The entry-point group through which installed packages add a command (``reid bot`` is the
Slack bot's): each is called with the subparsers and the help formatter, and sets ``command``
to its handler, which returns the exit code. This module knows none of them."""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Shows each option's default (an option without one says nothing), and keeps the
    examples' line breaks."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


ANALYZE_EXAMPLES = """\
examples:
  reid analyze clip.mp4 --person Alice=alice.jpg --person Bob=bob.png
  reid analyze clip.mp4 -p alice.jpg -p bob.png          (names from the file names: Alice, Bob)
  reid analyze clip.mp4 -p "Lin-Manuel Miranda=lmm.jpg" --keyframes pictures/
  reid analyze https://example.com/clip.mp4 -p Alice=alice.jpg --format vtt > clip.vtt
  reid analyze group.jpg -p Alice=alice.jpg -p Alice=alice2.jpg --format json
  reid analyze clip.mp4 -p Alice                          (Alice as enrolled: reid people add)
  reid analyze clip.mp4 --gallery                         (everyone enrolled)
"""
PEOPLE_EXAMPLES = """\
examples:
  reid people add Alice alice.jpg alice_side.jpg --consent "signed visitor form 2026-11-30"
  reid people add Alice alice_2019.jpg --more
  reid people add Bob --from result.json#person-2 --consent "agreed on camera, 2026-12-01"
  reid people list
  reid people show Alice --thumbnails review/
  reid people remove Alice
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reid", description="Find specific people in footage, offline.", formatter_class=_HelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version('reid-footage')}")
    parser.set_defaults(command=None)
    commands = parser.add_subparsers(metavar="COMMAND", help="what to do; reid COMMAND --help says more")

    analyze = commands.add_parser(
        "analyze",
        help="find named persons in a video or image",
        description="Find named persons in a video or image and say when and where they appear.",
        epilog=ANALYZE_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    analyze.add_argument("media", help="path or http(s) URL of a video or image")
    analyze.add_argument(
        "--person",
        "-p",
        action="append",
        default=[],
        metavar="NAME=PHOTO",
        help="a person to look for and a photo of their face, or just the photo to name them after its file "
        "(jane_doe.jpg: Jane Doe), or just the NAME of someone enrolled; repeat for more photos or persons, "
        "at most 5 persons with photos",
    )
    analyze.add_argument("--gallery", action="store_true", help="look for everyone enrolled (reid people list)")
    _add_tenant_option(analyze)
    analyze.add_argument("--prompt", help="the question to answer; kept in the result")
    _add_caption_options(analyze, prompts=True)
    _add_engine_options(analyze)
    analyze.add_argument(
        "--keyframes",
        type=Path,
        metavar="DIR",
        help="write the pictures here: timeline.png (videos) and an annotated JPEG per keyframe moment",
    )
    analyze.add_argument("--timeline", type=Path, metavar="FILE", help="write the timeline PNG of a video here")
    analyze.add_argument(
        "--unknown",
        action="store_true",
        help="give the timeline a row per unknown person (faces nobody matched, seen repeatedly)",
    )
    analyze.add_argument(
        "--format",
        choices=sorted(FORMATS),
        default="table",
        help="table and caption; json: the result model; csv: one row per appearance; vtt: WebVTT subtitles naming "
        "who is on screen",
    )
    analyze.add_argument("--json", dest="format", action="store_const", const="json", help="the same as --format json")
    _add_cluster_option(analyze)
    analyze.set_defaults(command=_analyze)

    demo = commands.add_parser(
        "demo", help="analyse a clip built from photos shipped with installed packages", formatter_class=_HelpFormatter
    )
    demo.add_argument("--out", type=Path, default=Path("reid-demo"), help="folder for the clip, photos and pictures")
    _add_engine_options(demo)
    demo.set_defaults(command=_demo)

    serve = commands.add_parser(
        "serve", help="run the memories.ai-compatible HTTP service", formatter_class=_HelpFormatter
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on")
    _add_caption_options(serve)
    _add_cluster_option(serve)
    serve.set_defaults(command=_serve)

    _add_people_commands(commands)

    for command in entry_points(group=COMMANDS):
        command.load()(commands, _HelpFormatter)
    return parser


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    defaults = get_settings()
    fields = AnalysisOptions.model_fields
    parser.add_argument(
        "--tolerance",
        type=float,
        default=defaults.tolerance,
        help="largest matching face distance (default: the descriptor's own, 0.6 for sface, 0.6 for dlib)",
    )
    parser.add_argument("--sample-fps", type=float, default=defaults.sample_fps, help="video frames analysed a second")
    parser.add_argument(
        "--detector",
        choices=get_args(fields["detector"].annotation),
        default=defaults.detector,
        help="the face detector",
    )
    parser.add_argument(
        "--descriptor",
        choices=get_args(fields["descriptor"].annotation),
        default=defaults.descriptor,
        help="what tells faces apart: sface (cosine distance) or dlib (Euclidean, the [dlib] extra)",
    )
    parser.add_argument("--gap", type=float, default=defaults.gap_s, help="merge sightings this many seconds apart")


def _add_people_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    people = commands.add_parser(
        "people",
        help="the gallery: enrol people once, then search for them by name",
        description="Enrol people with a few photos each (kept as face embeddings and small thumbnails, never "
        "the photos), list, show or remove them. The gallery is kept in the REID_DB_PATH file.",
        epilog=PEOPLE_EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    people.set_defaults(command=partial(_print_help, people))
    actions = people.add_subparsers(metavar="ACTION", help="what to do with the gallery")
    add = actions.add_parser("add", help="enrol a person from photos of their face", formatter_class=_HelpFormatter)
    add.add_argument("name", help="the name searches will use")
    add.add_argument("photos", nargs="*", type=Path, metavar="PHOTO", help="photos of their face, alone")
    add.add_argument(
        "--from",
        dest="unknown",
        metavar="RESULT.json#person-N",
        help="enrol an unknown person of a saved result (reid analyze --format json) instead of photos",
    )
    add.add_argument(
        "--face",
        type=Path,
        metavar="CROP",
        help="with --from: their face crop (default: unknown-person-N.jpg beside RESULT.json, as --keyframes wrote it)",
    )
    add.add_argument("--consent", default="", help="how they agreed to be enrolled (required for a new person)")
    add.add_argument("--more", action="store_true", help="add the photos to someone enrolled already")
    add.add_argument(
        "--accept-far", action="store_true", help="keep a photo that looks unlike their others: it is them"
    )
    add.set_defaults(command=_people_add)
    listing = actions.add_parser("list", help="who is enrolled", formatter_class=_HelpFormatter)
    listing.set_defaults(command=_people_list)
    show = actions.add_parser("show", help="one person's enrolment", formatter_class=_HelpFormatter)
    show.add_argument("name", help="the name they were enrolled under (any capitalisation)")
    show.add_argument("--thumbnails", type=Path, metavar="DIR", help="write their face thumbnails here, to review")
    show.set_defaults(command=_people_show)
    remove = actions.add_parser(
        "remove", help="forget a person: their embeddings, thumbnails and results", formatter_class=_HelpFormatter
    )
    remove.add_argument("name", help="the name they were enrolled under (any capitalisation)")
    remove.set_defaults(command=_people_remove)
    for action in (add, listing, show, remove):
        _add_tenant_option(action)

    audit = commands.add_parser(
        "audit", help="who searched for whom, where and when (the audit log)", formatter_class=_HelpFormatter
    )
    audit.add_argument("--days", type=float, default=30.0, help="entries of the last DAYS days")
    audit.add_argument("--limit", type=int, default=200, help="at most this many entries, newest first")
    audit.add_argument("--json", action="store_true", help="one JSON object per line")
    _add_tenant_option(audit)
    audit.set_defaults(command=_audit)


def _print_help(parser: argparse.ArgumentParser, _args: argparse.Namespace) -> int:
    parser.print_help()
    return 0


def _add_tenant_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--tenant",
        default=get_settings().cli_tenant,
        help="whose gallery and audit log (default: REID_CLI_TENANT, else local)",
    )


def _add_cluster_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        default=get_settings().cluster,
        metavar="ADDRESS",
        help="run videos on the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 (default: REID_CLUSTER)",
    )


def _add_caption_options(parser: argparse.ArgumentParser, prompts: bool = False) -> None:
    parser.add_argument(
        "--caption-model",
        type=_caption_model,
        default=get_settings().caption_model,
        metavar="PROVIDER:MODEL",
        help="a chat model writes the caption, checked against the findings, e.g. openai:gpt-4o-mini (the [llm] "
        "extra; REID_CAPTION_BASE_URL for Ollama, vLLM, llama.cpp or LM Studio); default: REID_CAPTION_MODEL, "
        "unset: the template built from the findings",
    )
    if prompts:
        parser.add_argument("--system-prompt", help="instructions for the caption model")
        parser.add_argument(
            "--thinking", action="store_true", help="let the caption model reason first, where its provider can"
        )


def _caption_model(value: str) -> str:
    try:
        return get_settings().with_caption_model(value).caption_model or value
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _settings(args: argparse.Namespace) -> ReIDSettings:
    """The process's settings, with the cluster and caption model the command line names (if it
    has the options)."""
    update = {key: getattr(args, key) for key in ("cluster", "caption_model") if key in args}
    return get_settings().model_copy(update=update)


def _options(args: argparse.Namespace) -> AnalysisOptions:
    try:
        return AnalysisOptions(
            tolerance=args.tolerance,
            sample_fps=args.sample_fps,
            detector=args.detector,
            descriptor=args.descriptor,
            gap_s=args.gap,
        )
    except ValidationError as exc:
        raise InvalidInput(validation_problems(exc.errors())) from exc


def _persons(values: list[str]) -> tuple[list[PersonSpec], list[str]]:
    """``NAME=PHOTO`` keeps NAME exactly as typed; a bare PHOTO (a file here, or a URL, which
    may hold ``=`` in its query) is named after its file name; a bare NAME is someone enrolled.
    Returns the persons with photos and the enrolled names."""
    persons, enrolled = [], []
    for value in values:
        if is_url(value) or is_local_file(value):
            name, photo = name_from_file(value), value
        else:
            name, sep, photo = value.partition("=")
            if not sep and Path(value).suffix.lower() in PHOTO_SUFFIXES:
                shown = repr(value) if len(value) <= 60 else f"{value[:60]!r}... ({len(value)} characters)"
                raise InvalidInput(
                    f"--person {shown} is neither NAME=PHOTO nor a photo that exists here: "
                    "give e.g. --person Alice=alice.jpg or --person alice.jpg."
                )
            if not sep:
                enrolled.append(value)
                continue
        if not name.strip() or not photo.strip():
            raise InvalidInput(f"--person {value!r} must be NAME=PHOTO, e.g. --person Alice=alice.jpg")
        try:
            persons.append(PersonSpec(name=name, photos=[photo]))
        except ValidationError as exc:
            raise InvalidInput(f"--person {name[:40]!r}...: {validation_problems(exc.errors())}") from exc
    return persons, enrolled


def _request(
    media: str,
    persons: list[PersonSpec],
    prompt: str | None,
    options: AnalysisOptions,
    enrolled: Sequence[str] = (),
    everyone: bool = False,
) -> ReIDRequest:
    if not persons and not enrolled and not everyone:
        raise InvalidInput(
            "nobody to look for: give --person NAME=PHOTO (or the NAME of someone enrolled), or --gallery."
        )
    try:
        return ReIDRequest(
            media=media,
            persons=persons,
            enrolled=list(enrolled),
            everyone_enrolled=everyone,
            prompt=prompt,
            options=options,
        )
    except ValidationError as exc:
        raise InvalidInput(validation_problems(exc.errors())) from exc


def _analyze(args: argparse.Namespace) -> int:
    from tools.reid.facade import ReIDTool

    persons, enrolled = _persons(args.person)
    request = _request(args.media, persons, args.prompt, _options(args), enrolled, args.gallery).model_copy(
        update={"system_prompt": args.system_prompt, "thinking": args.thinking}
    )
    if args.keyframes:
        writable_folder(args.keyframes, "--keyframes")  # before the analysis, not after it
    if args.timeline:
        writable_folder(args.timeline.parent, "--timeline")
    tool = ReIDTool(_settings(args))
    with tempfile.TemporaryDirectory(prefix="reid-") as scratch:
        media, info = _local_media(tool, args, Path(scratch))
        if args.timeline and info is not None and info.kind == "image":
            raise InvalidInput("--timeline: the media is a photo, which has no timeline; --keyframes DIR draws it.")
        if media is not None and tool.settings.backend == "local":
            request = request.model_copy(update={"media": str(media)})
        result = _run(tool, request, info, _asker(args))
        pictures = tool.render_pictures(media, result, args.keyframes, args.unknown) if media and args.keyframes else []
        if media and args.timeline:
            pictures.append(ReIDTool.render_timeline(result, args.timeline, args.unknown))
    _print_report(result, args.format, pictures)
    return 0


def _local_media(tool: ReIDTool, args: argparse.Namespace, scratch: Path) -> tuple[Path | None, MediaInfo | None]:
    """The media as a local file and what it is, before any analysis: the local engine reads
    it, the pictures are drawn from it and the progress bar counts its seconds. A URL is
    fetched once, into ``scratch``; with a remote backend only when pictures are asked for."""
    wants_pictures = bool(args.keyframes or args.timeline)
    if tool.settings.backend != "local" and not wants_pictures:
        return None, None
    media = tool.local_copy(args.media, scratch)
    return media, tool.media_info(media)


def _run(tool: ReIDTool, request: ReIDRequest, info: MediaInfo | None, asker: Asker | None = None) -> ReIDResult:
    footage_s = info.duration_s if info is not None and info.kind == "video" else None
    with _progress_bar(footage_s) as progress:
        return tool.analyze(request, progress, asker)


def _asker(args: argparse.Namespace) -> Asker:
    """The CLI's tenant (``--tenant``) and the operating-system user, as the audit log names them."""
    from tools.reid.gallery import Asker

    return Asker(tenant=args.tenant, actor=getpass.getuser(), surface="cli")


def _people(args: argparse.Namespace) -> TenantGallery:
    from tools.reid.facade import ReIDTool

    return ReIDTool(get_settings()).people(args.tenant)


def _people_add(args: argparse.Namespace) -> int:
    if args.unknown is not None:
        return _people_add_unknown(args)
    if not args.photos:
        raise InvalidInput(
            f"give photos of {args.name}'s face, or --from RESULT.json#person-N to name an unknown person."
        )
    enrolment = _people(args).enrol(
        args.name,
        [(str(photo), photo.expanduser()) for photo in args.photos],
        by=getpass.getuser(),
        consent=args.consent,
        descriptor=get_settings().descriptor,
        max_pixels=get_settings().max_pixels,
        more=args.more,
        accept_far=args.accept_far,
        surface="cli",
    )
    print(enrolment.text())
    return 0


def _people_add_unknown(args: argparse.Namespace) -> int:
    """``reid people add NAME --from RESULT.json#person-2``: the unknown person's faces, as the
    analysis described them, enrolled as NAME; no new analysis."""
    from tools.reid.facade import ReIDTool
    from tools.reid.gallery.naming import unknown_person_of

    if args.photos:
        raise InvalidInput("give either photos or --from RESULT.json#person-N, not both.")
    location, _, person_id = args.unknown.rpartition("#")
    if not location or not person_id:
        raise InvalidInput(f"--from {args.unknown!r}: say which person, e.g. --from result.json#person-2.")
    result_path = Path(location).expanduser()
    try:
        result = ReIDResult.model_validate_json(result_path.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"--from: cannot read {location}: {exc.strerror}.") from exc
    except ValueError as exc:
        raise InvalidInput(f"--from: {location} is not a result saved by reid analyze --format json.") from exc
    person = unknown_person_of(result, person_id)
    crop_path = args.face or result_path.parent / person.crop_file_name
    if not crop_path.is_file():
        raise InvalidInput(
            f"no face crop of {person.label} at {crop_path}: give the one reid analyze --keyframes DIR wrote, "
            f"with --face DIR/{person.crop_file_name}."
        )
    enrolment = ReIDTool(get_settings()).name_unknown(
        args.tenant,
        result,
        person.id,
        args.name,
        by=getpass.getuser(),
        consent=args.consent,
        source=result_path.name,
        crop=crop_path.read_bytes(),
        surface="cli",
    )
    print(enrolment.text())
    return 0


def _people_list(args: argparse.Namespace) -> int:
    people = _people(args).people()
    if not people:
        print(f"Nobody is enrolled in the {args.tenant!r} gallery. Enrol someone: reid people add NAME PHOTO...")
        return 0
    width = max(len(p.name) for p in people)
    for p in people:
        print(f"{p.name:<{width}}  {p.faces} photo(s)  enrolled {p.enrolled_at:%Y-%m-%d} by {p.enrolled_by}")
    return 0


def _people_show(args: argparse.Namespace) -> int:
    gallery = _people(args)
    p = gallery.show(args.name)
    print(f"{p.name}\n  enrolled: {p.enrolled_at:%Y-%m-%d %H:%M} UTC by {p.enrolled_by}\n  consent: {p.consent}")
    print(f"  photos: {p.faces} ({p.frontal} frontal, {p.turned} turned), descriptor {p.descriptor}\n  {p.coverage}")
    if args.thumbnails:
        args.thumbnails.mkdir(parents=True, exist_ok=True)
        for n, thumbnail in enumerate(gallery.thumbnails(args.name), start=1):
            path = args.thumbnails / safe_file_name(f"{p.name}-{n}.jpg", f"person-{n}.jpg")
            path.write_bytes(thumbnail)
            print(f"thumbnail: {path}")
    return 0


def _people_remove(args: argparse.Namespace) -> int:
    print(_people(args).remove(args.name, by=getpass.getuser(), surface="cli").text())
    return 0


def _audit(args: argparse.Namespace) -> int:
    entries = _people(args).audit_log(since_s=args.days * 86400.0, limit=args.limit)
    for e in entries:
        if args.json:
            print(e.model_dump_json())
        else:
            names = ", ".join(e.names) or "-"
            media = f" media {e.media_digest[:12]}" if e.media_digest else ""
            print(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.surface:<9} {e.actor:<12} {e.action:<10} {names}{media}  {e.outcome}")
    if not entries and not args.json:
        print(f"No audit entries in the last {args.days:g} days for {args.tenant!r}.")
    return 0


@contextmanager
def _progress_bar(footage_s: float | None) -> Iterator[ProgressFn]:
    """A bar on stderr counting seconds of footage (percent when the duration is unknown).
    The time left is shown only from ``ETA_AFTER`` on: the first steps (reference photos,
    opening the video) say little about the rest."""
    from tqdm import tqdm

    total = footage_s or 100.0
    counted = "{n:.1f}/{total:.1f} s of footage " if footage_s else ""
    steady = "{desc}: {percentage:3.0f}%|{bar}| " + counted + "[{elapsed}"
    with tqdm(
        total=total, file=sys.stderr, leave=False, disable=None, desc="analysing", bar_format=steady + "]"
    ) as bar:

        def progress(fraction: float) -> None:
            if fraction >= ETA_AFTER:
                bar.bar_format = steady + "<{remaining}]"
            bar.update(fraction * total - bar.n)

        yield progress


def _print_report(result: ReIDResult, output: str, pictures: list[Path]) -> None:
    if output == "table":
        print(table(result))
        print()
        print(result.text)
    else:
        print(FORMATS[output](result), end="")
    for path in pictures:
        print(f"picture: {path}", file=sys.stdout if output == "table" else sys.stderr)
    if note := caption_note(result):
        print(note, file=sys.stderr)
    print(summary(result), file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    require("demo", "skimage", "matplotlib")
    from tools.reid.demo import build_demo
    from tools.reid.facade import ReIDTool

    clip, persons = build_demo(args.out)
    prompt = "Who appears in this clip, when, and are they ever on screen together?"
    print(f"clip: {clip} (built from scikit-image's astronaut and matplotlib's Grace Hopper)")
    tool = ReIDTool(_settings(args))
    result = _run(tool, _request(str(clip), persons, prompt, _options(args)), tool.media_info(clip))
    pictures = tool.render_pictures(clip, result, args.out / "pictures")
    _print_report(result, "table", [])
    print()
    print(f"pictures written to {args.out / 'pictures'}: {', '.join(p.name for p in pictures)}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    require("service", "fastapi", "uvicorn", "fastapi_offline")
    from tools.reid.service import serve

    serve(args.host, args.port, _settings(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
