"""The `reid` command as a user runs it: a real process, its output and exit code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.reid.schemas import ReIDResult


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
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["01-eileen.jpg", "02-grace.jpg"]
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
        ("analyze", str(two_people_clip), "-p", "Grace"): "must be NAME=PHOTO",
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
    assert (tmp_path / "demo" / "keyframes" / "02-grace.jpg").is_file()
