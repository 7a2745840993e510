"""The `reid` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import argparse
import csv
import fcntl
import io
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tools.reid.cli import _parser
from tools.reid.schemas import ReIDResult
from tools.reid.settings import get_settings


def reid(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.reid.cli", *args], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def test_analyze_prints_a_table_and_the_caption(two_people_clip: Path, photos, tmp_path: Path) -> None:
    done = reid(
        "analyze",
        str(two_people_clip),
        "--person",
        f"Eileen={photos['eileen']}",
        "--person",
        f"Grace={photos['grace']}",
        "--keyframes",
        str(tmp_path / "frames"),
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["Person", "Found", "Confidence", "On", "screen", "When"]
    assert lines[2].startswith("Eileen") and " yes " in lines[2] and "0:01–0:05" in lines[2]
    assert "Eileen and Grace both appear in the video." in done.stdout
    # The timeline, then a keyframe per moment, named for whom it shows: each person in one
    # (one picture shows both when their best faces share a frame).
    keyframes = sorted(p.name for p in (tmp_path / "frames").glob("*.jpg"))
    pictures = ["timeline.png", *keyframes]
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == sorted(pictures)
    assert sorted(name for picture in keyframes for name in picture[3:-4].split("-")) == ["eileen", "grace"]
    assert [line.removeprefix("picture: ") for line in lines if line.startswith("picture: ")] == [
        str(tmp_path / "frames" / name) for name in pictures
    ]
    assert "frames analysed" in done.stderr


def test_analyze_json_is_exactly_the_result_model(two_people_clip: Path, photos) -> None:
    done = reid(
        "analyze", str(two_people_clip), "-p", f"Grace={photos['grace']}", "--json", "--prompt", "Is Grace here?"
    )
    assert done.returncode == 0, done.stderr
    result = ReIDResult.model_validate_json(done.stdout)
    assert result.prompt == "Is Grace here?"
    assert result.persons[0].name == "Grace" and result.persons[0].found


def test_bad_input_exits_2_with_one_line(two_people_clip: Path, photos, tmp_path: Path) -> None:
    cases = {
        ("analyze", str(tmp_path / "missing.mp4"), "-p", f"Grace={photos['grace']}"): "footage",
        ("analyze", str(two_people_clip), "-p", "grace.jpg"): "neither NAME=PHOTO nor a photo that exists here",
        ("analyze", str(two_people_clip), "-p", f"={photos['grace']}"): "must be NAME=PHOTO",
        ("analyze", str(two_people_clip), "-p", f"Carol={photos['blank']}"): "Reference photo for Carol: no face",
        ("analyze", str(photos["text"]), "-p", f"Grace={photos['grace']}"): "is not a video or image",
        (
            "analyze",
            str(two_people_clip),
            *[a for i in range(6) for a in ("-p", f"P{i}={photos['grace']}")],
        ): "at most 5",
        ("analyze", str(two_people_clip), "-p", f"Grace={photos['grace']}", "--tolerance", "2"): "tolerance",
        ("analyze", str(two_people_clip), "-p", f"{'N' * 81}={photos['grace']}"): "at most 80 characters",
    }
    for args, message in cases.items():
        done = reid(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, (args, done.stderr)
        assert done.stdout == ""


def test_control_characters_in_names_never_reach_the_terminal(photos) -> None:
    """A name with an escape sequence (clear screen, red) and a newline is shown neutralised."""
    done = reid("analyze", str(photos["grace"]), "-p", f"Gr\x1b[2J\x1b[31mace\nX={photos['grace']}")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    assert "Gr [2J [31mace X" in done.stdout


def test_demo_builds_and_analyses_its_clip(tmp_path: Path) -> None:
    done = reid("demo", "--out", str(tmp_path / "demo"))
    assert done.returncode == 0, done.stderr
    assert "Eileen and Grace both appear in the video." in done.stdout
    assert "together 0:04–0:08" in done.stdout
    pictures = tmp_path / "demo" / "pictures"
    assert (pictures / "timeline.png").is_file() and len(list(pictures.glob("*.jpg"))) >= 1
    assert done.stdout.splitlines()[-1] == f"pictures written to {pictures}: " + ", ".join(
        ["timeline.png", *sorted(p.name for p in pictures.glob("*.jpg"))]
    )


def test_bare_reid_help_and_version() -> None:
    bare = reid()
    assert bare.returncode == 0 and bare.stdout.startswith("usage: reid") and "analyze" in bare.stdout
    version = reid("--version")
    assert version.returncode == 0 and re.fullmatch(r"reid \d+\.\d+\.\d+\S*\n", version.stdout)
    help_text = reid("analyze", "--help").stdout
    assert f"(default: {get_settings().sample_fps})" in help_text and "(default: table)" in help_text
    assert "(default: None)" not in help_text, "an option without a default says what it falls back to"
    assert "examples:\n  reid analyze clip.mp4 --person Alice=alice.jpg" in help_text


def test_every_option_has_a_help_line() -> None:
    parser = _parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for name, command in [("reid", parser), *commands.choices.items()]:
        for action in command._actions:
            assert action.help, (name, action.option_strings or action.dest)


def test_csv_with_names_from_files_and_typed_names_kept(two_people_clip: Path, photos, tmp_path: Path) -> None:
    """`--person PHOTO` names the person after the file; a typed name stays exactly as typed. The
    progress bar (shown on a terminal) counts seconds of footage, without a rate or an early ETA."""
    hopper = tmp_path / "grace_hopper.jpg"
    shutil.copy(photos["grace"], hopper)
    master, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # tqdm draws to its width
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.reid.cli", "analyze", str(two_people_clip), "-p", str(hopper)]
        + ["-p", f"Zoë O'Brien-Collins={photos['eileen']}", "--format", "csv"],
        stdout=subprocess.PIPE,
        stderr=terminal,
        text=True,
    )
    os.close(terminal)
    shown = _read_all(master)
    stdout, _ = process.communicate(timeout=300)
    assert process.returncode == 0, shown
    rows = list(csv.DictReader(io.StringIO(stdout)))
    assert {row["person"] for row in rows} == {"Grace Hopper", "Zoë O'Brien-Collins"}
    assert all(float(row["start_s"]) <= float(row["end_s"]) <= 8.0 for row in rows)
    assert "/8.0 s of footage" in shown and "%/s" not in shown and "s/s" not in shown
    first = shown.split("\r")[1]
    assert first.startswith("analysing:") and "<" not in first


def _read_all(master: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other end closed: the process ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


def test_url_media_with_pictures_is_fetched_once_and_drawn(two_people_clip_url: str, photos, tmp_path: Path) -> None:
    """The pictures need frames: a URL is fetched before the analysis, analysed and drawn from the copy."""
    done = subprocess.run(
        [sys.executable, "-m", "tools.reid.cli", "analyze", two_people_clip_url]
        + ["-p", f"Grace={photos['grace']}", "--format", "vtt", "--keyframes", str(tmp_path / "pictures")],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ | {"REID_ALLOW_PRIVATE_URLS": "true"},
    )
    assert done.returncode == 0, done.stderr
    # Eileen, not asked for, is the unknown Person 1 from 0:01; Grace is named from 0:03.
    assert done.stdout.startswith("WEBVTT\n\n1\n00:00:01.000 --> 00:00:04.520\nPerson 1 (unknown)\n")
    assert "\n00:00:03.000 --> 00:00:06.520\nGrace\n" in done.stdout
    names = sorted(p.name for p in (tmp_path / "pictures").iterdir())
    assert names == ["01-grace.jpg", "timeline.png", "unknown-person-1.jpg"]
    assert f"picture: {tmp_path / 'pictures' / 'timeline.png'}" in done.stderr


def test_photo_timeline_is_refused_before_the_analysis(photos, tmp_path: Path) -> None:
    done = reid("analyze", str(photos["pair"]), "-p", f"Grace={photos['grace']}", "--timeline", str(tmp_path / "t.png"))
    assert done.returncode == 2 and "photo, which has no timeline" in done.stderr
    assert "analysed" not in done.stderr and not (tmp_path / "t.png").exists()


def test_photo_table_says_where(photos) -> None:
    done = reid("analyze", str(photos["pair"]), "-p", f"Eileen={photos['eileen']}", "-p", f"Grace={photos['grace']}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[-1] == "Where" and lines[2].split()[-1] == "left" and lines[3].split()[-1] == "right"


def test_unknown_people_in_the_table_the_pictures_and_the_exports(grace_twice: Path, photos, tmp_path: Path) -> None:
    """Eileen asked for, Grace not: Grace is Person 1 in the table, has a face crop beside the
    keyframes and a timeline row with --unknown, and rows in the CSV and cues in the WebVTT."""
    from PIL import Image

    from tools.reid.exports import appearances_csv, appearances_vtt

    frames = tmp_path / "frames"
    done = reid(
        "analyze", str(grace_twice), "-p", f"Eileen={photos['eileen']}", "--keyframes", str(frames), "--unknown"
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    header = lines.index(next(line for line in lines if line.startswith("Unknown")))
    assert lines[header].split() == ["Unknown", "Id", "On", "screen", "When"]
    assert lines[header + 2].startswith("Person 1  person-1") and "0:06" in lines[header + 2]
    assert "1 other person appears repeatedly: Person 1 for" in done.stdout
    with Image.open(frames / "unknown-person-1.jpg") as crop:
        assert crop.height == 192 and crop.format == "JPEG"
    with Image.open(frames / "timeline.png") as timeline:
        assert timeline.height == 60 + 2 * 48 + 70  # Eileen's row and Person 1's

    done = reid("analyze", str(grace_twice), "-p", f"Eileen={photos['eileen']}", "--json")
    assert done.returncode == 0, done.stderr
    result = ReIDResult.model_validate_json(done.stdout)
    assert [p.id for p in result.unknown_people] == ["person-1"]
    assert result.unknown_people[0].embeddings is not None  # kept in the saved result, to name them later
    rows = list(csv.DictReader(io.StringIO(appearances_csv(result))))
    unknown_rows = [row for row in rows if row["unknown_id"] == "person-1"]
    assert len(unknown_rows) == 2 and unknown_rows[0]["person"] == "Person 1" and unknown_rows[0]["confidence"] == ""
    assert "\nPerson 1 (unknown)\n" in appearances_vtt(result)
