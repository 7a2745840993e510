"""CLI arguments the system cannot take as paths (issue 22, item 10): a 500-character name, and
a ``--keyframes`` folder that cannot be written, each exit 2 with one line, before any analysis."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from test_cli import reid


def _one_line(run: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr
    (line,) = run.stderr.strip().splitlines()
    assert all(needle in line for needle in needles), line
    return line


@pytest.mark.parametrize("form", ["bare", "with a photo", "as the photo"])
def test_a_500_character_name_is_one_line(photos: dict[str, Path], form: str) -> None:
    long = "A" * 500
    value = {"bare": long, "with a photo": f"{long}={photos['eileen']}", "as the photo": f"Eileen={long}"}[form]
    line = _one_line(reid("analyze", str(photos["eileen"]), "-p", value))
    assert len(line) < 700


def test_an_unwritable_keyframes_folder_is_one_line(photos: dict[str, Path], read_only_folder: Path) -> None:
    run = reid(
        "analyze", str(photos["eileen"]), "-p", f"Eileen={photos['eileen']}", "--keyframes", str(read_only_folder)
    )
    _one_line(run, "--keyframes", str(read_only_folder), "cannot write there")


def test_a_keyframes_folder_under_a_file_is_one_line(photos: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    pictures = tmp_path / "notes.txt" / "pictures"
    run = reid("analyze", str(photos["eileen"]), "-p", f"Eileen={photos['eileen']}", "--keyframes", str(pictures))
    _one_line(run, "--keyframes", "cannot write there")
