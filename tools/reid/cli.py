"""`reid`: the command line. It parses, calls the ReID tool, prints; nothing else.

Exit codes: 0 done (and bare ``reid``, which prints the help), 2 bad input (one line on
stderr says why), 1 the analysis failed.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from pydantic import ValidationError

from tools.reid.errors import InvalidInput, ReIDError
from tools.reid.exports import appearances_csv, appearances_vtt
from tools.reid.extras import require
from tools.reid.fetch.policy import is_url
from tools.reid.names import name_from_file
from tools.reid.paths import is_local_file, writable_folder
from tools.reid.progress import ProgressFn
from tools.reid.report import summary, table
from tools.reid.schemas import AnalysisOptions, MediaInfo, PersonSpec, ReIDRequest, ReIDResult
from tools.reid.settings import ReIDSettings, get_settings
from tools.reid.wording import validation_problems

if TYPE_CHECKING:
    from tools.reid.facade import ReIDTool

FORMATS: dict[str, Callable[[ReIDResult], str]] = {
    "table": table,
    "json": lambda result: result.model_dump_json(indent=2) + "\n",
    "csv": appearances_csv,
    "vtt": appearances_vtt,
}
"""What ``--format`` prints on stdout (``table`` is followed by the caption)."""
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
        required=True,
        metavar="NAME=PHOTO",
        help="a person to look for and a photo of their face, or just the photo to name them after its file "
        "(jane_doe.jpg: Jane Doe); repeat for more photos or persons, at most 5 persons",
    )
    analyze.add_argument("--prompt", help="the question to answer; kept in the result")
    _add_engine_options(analyze)
    analyze.add_argument(
        "--keyframes",
        type=Path,
        metavar="DIR",
        help="write the pictures here: timeline.png (videos) and an annotated JPEG per keyframe moment",
    )
    analyze.add_argument("--timeline", type=Path, metavar="FILE", help="write the timeline PNG of a video here")
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
    _add_cluster_option(serve)
    serve.set_defaults(command=_serve)

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
        help="largest matching face distance (default: the descriptor's own, 0.55 for sface, 0.6 for dlib)",
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


def _add_cluster_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cluster",
        default=get_settings().cluster,
        metavar="ADDRESS",
        help="run videos on the Dask scheduler at ADDRESS, e.g. tcp://10.0.0.5:8786 (default: REID_CLUSTER)",
    )


def _settings(args: argparse.Namespace) -> ReIDSettings:
    """The process's settings, with the cluster the command line names (if it has the option)."""
    settings = get_settings()
    return settings.model_copy(update={"cluster": args.cluster}) if "cluster" in args else settings


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


def _persons(values: list[str]) -> list[PersonSpec]:
    """``NAME=PHOTO`` keeps NAME exactly as typed; a bare PHOTO (a file here, or a URL, which
    may hold ``=`` in its query) is named after its file name."""
    persons = []
    for value in values:
        if is_url(value) or is_local_file(value):
            name, photo = name_from_file(value), value
        else:
            name, sep, photo = value.partition("=")
            if not sep:
                shown = repr(value) if len(value) <= 60 else f"{value[:60]!r}... ({len(value)} characters)"
                raise InvalidInput(
                    f"--person {shown} is neither NAME=PHOTO nor a photo that exists here: "
                    "give e.g. --person Alice=alice.jpg or --person alice.jpg."
                )
        if not name.strip() or not photo.strip():
            raise InvalidInput(f"--person {value!r} must be NAME=PHOTO, e.g. --person Alice=alice.jpg")
        try:
            persons.append(PersonSpec(name=name, photos=[photo]))
        except ValidationError as exc:
            raise InvalidInput(f"--person {name[:40]!r}...: {validation_problems(exc.errors())}") from exc
    return persons


def _request(media: str, persons: list[PersonSpec], prompt: str | None, options: AnalysisOptions) -> ReIDRequest:
    try:
        return ReIDRequest(media=media, persons=persons, prompt=prompt, options=options)
    except ValidationError as exc:
        raise InvalidInput(validation_problems(exc.errors())) from exc


def _analyze(args: argparse.Namespace) -> int:
    from tools.reid.facade import ReIDTool

    request = _request(args.media, _persons(args.person), args.prompt, _options(args))
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
        result = _run(tool, request, info)
        pictures = tool.render_pictures(media, result, args.keyframes) if media and args.keyframes else []
        if media and args.timeline:
            pictures.append(ReIDTool.render_timeline(result, args.timeline))
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


def _run(tool: ReIDTool, request: ReIDRequest, info: MediaInfo | None) -> ReIDResult:
    footage_s = info.duration_s if info is not None and info.kind == "video" else None
    with _progress_bar(footage_s) as progress:
        return tool.analyze(request, progress)


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
