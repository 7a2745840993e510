"""`reid`: the command line. It parses, calls the ReID tool, prints; nothing else.

Exit codes: 0 done, 2 bad input (one line on stderr says why), 1 the analysis failed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from tools.reid.errors import InvalidInput, ReIDError
from tools.reid.extras import require
from tools.reid.report import summary, table
from tools.reid.schemas import AnalysisOptions, PersonSpec, ReIDRequest, ReIDResult
from tools.reid.settings import get_settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except InvalidInput as exc:
        print(f"reid: {exc}", file=sys.stderr)
        return 2
    except ReIDError as exc:
        print(f"reid: analysis failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reid", description="Find specific people in footage, offline.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    analyze = commands.add_parser("analyze", help="find named persons in a video or image")
    analyze.add_argument("media", help="path or http(s) URL of a video or image")
    analyze.add_argument(
        "--person",
        "-p",
        action="append",
        required=True,
        metavar="NAME=PHOTO",
        help="a person to look for and a photo of their face (repeat for more photos or persons; at most 5 persons)",
    )
    analyze.add_argument("--prompt", help="the question to answer; kept in the result")
    _add_engine_options(analyze)
    analyze.add_argument("--keyframes", type=Path, metavar="DIR", help="write an annotated JPEG per found person here")
    analyze.add_argument("--json", action="store_true", help="print the result model as JSON on stdout")
    analyze.set_defaults(command=_analyze)

    demo = commands.add_parser("demo", help="analyse a clip built from photos shipped with installed packages")
    demo.add_argument("--out", type=Path, default=Path("reid-demo"), help="folder for the clip, photos and keyframes")
    _add_engine_options(demo)
    demo.set_defaults(command=_demo)

    serve = commands.add_parser("serve", help="run the memories.ai-compatible HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.set_defaults(command=_serve)

    bot = commands.add_parser("bot", help="run the Slack bot")
    bot.add_argument("--host", default="0.0.0.0")
    bot.add_argument("--port", type=int, default=3000)
    bot.add_argument("--socket", action="store_true", help="use Socket Mode (needs SLACK_APP_TOKEN)")
    bot.set_defaults(command=_bot)
    return parser


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    defaults = get_settings()
    parser.add_argument("--tolerance", type=float, default=defaults.tolerance, help="largest matching face distance")
    parser.add_argument("--sample-fps", type=float, default=defaults.sample_fps, help="video frames analysed a second")
    parser.add_argument("--detector", choices=["blazeface", "hog", "cnn"], default=defaults.detector)
    parser.add_argument("--gap", type=float, default=defaults.gap_s, help="merge sightings this many seconds apart")


def _options(args: argparse.Namespace) -> AnalysisOptions:
    try:
        return AnalysisOptions(
            tolerance=args.tolerance, sample_fps=args.sample_fps, detector=args.detector, gap_s=args.gap
        )
    except ValueError as exc:
        raise InvalidInput(_first_error(exc)) from exc


def _persons(pairs: list[str]) -> list[PersonSpec]:
    persons = []
    for pair in pairs:
        name, sep, photo = pair.partition("=")
        if not sep or not name.strip() or not photo.strip():
            raise InvalidInput(f"--person {pair!r} must be NAME=PHOTO, e.g. --person Alice=alice.jpg")
        persons.append(PersonSpec(name=name, photos=[photo]))
    return persons


def _request(media: str, persons: list[PersonSpec], prompt: str | None, options: AnalysisOptions) -> ReIDRequest:
    try:
        return ReIDRequest(media=media, persons=persons, prompt=prompt, options=options)
    except ValueError as exc:
        raise InvalidInput(_first_error(exc)) from exc


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{where}: {first['msg']}" if where else str(first["msg"]).removeprefix("Value error, ")
    return str(exc)


def _analyze(args: argparse.Namespace) -> int:
    request = _request(args.media, _persons(args.person), args.prompt, _options(args))
    result = _run(request)
    keyframes = _keyframes(request, result, args.keyframes) if args.keyframes else []
    if args.json:
        print(result.model_dump_json(indent=2))
    else:
        _print_report(result, keyframes)
    return 0


def _run(request: ReIDRequest) -> ReIDResult:
    from tqdm import tqdm

    from tools.reid.facade import ReIDTool

    with tqdm(total=100, unit="%", file=sys.stderr, leave=False, disable=None, desc="analysing") as bar:

        def progress(fraction: float) -> None:
            bar.update(round(fraction * 100) - bar.n)

        return ReIDTool().analyze(request, progress)


def _keyframes(request: ReIDRequest, result: ReIDResult, out_dir: Path) -> list[Path]:
    from tools.reid.facade import ReIDTool
    from tools.reid.fetch import is_url

    if is_url(request.media):
        raise InvalidInput("--keyframes needs the media as a local file; download it first.")
    return ReIDTool.render_keyframes(Path(request.media), result, out_dir)


def _print_report(result: ReIDResult, keyframes: list[Path]) -> None:
    print(table(result))
    print()
    print(result.text)
    for path in keyframes:
        print(f"keyframe: {path}")
    print(summary(result), file=sys.stderr)


def _demo(args: argparse.Namespace) -> int:
    require("demo", "skimage", "matplotlib")
    from tools.reid.demo import build_demo

    clip, persons = build_demo(args.out)
    prompt = "Who appears in this clip, when, and are they ever on screen together?"
    print(f"clip: {clip} (built from scikit-image's astronaut and matplotlib's Grace Hopper)")
    request = _request(str(clip), persons, prompt, _options(args))
    result = _run(request)
    keyframes = _keyframes(request, result, args.out / "keyframes")
    _print_report(result, keyframes)
    return 0


def _serve(args: argparse.Namespace) -> int:
    require("service", "fastapi", "uvicorn", "fastapi_offline")
    from tools.reid.service import serve

    serve(args.host, args.port, get_settings())
    return 0


def _bot(args: argparse.Namespace) -> int:
    require("slack", "slack_bolt", "slack_sdk", "aiohttp", "fastapi", "uvicorn")
    from pydantic import ValidationError

    from bot.server import run_socket_mode, serve_http
    from bot.settings import BotSettings

    try:
        settings = BotSettings()
    except ValidationError as exc:
        missing = ", ".join(str(e["loc"][0]) for e in exc.errors())
        raise InvalidInput(f"the bot is not configured: set {missing} (see the README's Slack section).") from exc
    try:
        if args.socket:
            run_socket_mode(settings)
        else:
            serve_http(args.host, args.port, settings)
    except ValueError as exc:
        raise InvalidInput(f"the bot cannot start: {exc}") from exc
    return 0


if __name__ == "__main__":
    sys.exit(main())
