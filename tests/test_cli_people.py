"""`reid people`, `reid analyze --person NAME | --gallery` and `reid audit` as a user runs them:
real processes over one gallery file (REID_DB_PATH), their output and exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def reid(tmp_path: Path):
    env = {**os.environ, "REID_DB_PATH": str(tmp_path / "reid.db"), "REID_WORKERS": "1"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tools.reid.cli", *args], capture_output=True, text=True, timeout=300, env=env
        )

    return run


def test_enrol_then_search_by_name_and_for_everyone(reid, photos, two_people_clip: Path, tmp_path: Path) -> None:
    added = reid("people", "add", "Eileen Collins", str(photos["eileen"]), "--consent", "NASA press kit, by email")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("Enrolled Eileen Collins: 1 photo added") and "add two or three more" in added.stdout
    assert reid("people", "add", "Grace", str(photos["grace"]), "--consent", "in person").returncode == 0
    assert (tmp_path / "reid.db").is_file()

    listed = reid("people", "list")
    assert [line.split("  ")[0].strip() for line in listed.stdout.splitlines()] == ["Eileen Collins", "Grace"]
    shown = reid("people", "show", "grace", "--thumbnails", str(tmp_path / "review"))
    assert "consent: in person" in shown.stdout and (tmp_path / "review" / "Grace-1.jpg").is_file()

    by_name = reid("analyze", str(two_people_clip), "-p", "Grace")
    assert by_name.returncode == 0, by_name.stderr
    assert by_name.stdout.splitlines()[2].startswith("Grace") and " yes " in by_name.stdout.splitlines()[2]
    everyone = reid("analyze", str(two_people_clip), "--gallery")
    assert "Eileen Collins and Grace both appear" in everyone.stdout
    assert "Searched for everyone enrolled (2 people)." in everyone.stdout

    audit = reid("audit").stdout.splitlines()
    assert "search" in audit[0] and "(everyone enrolled)" in audit[0] and "found: Eileen Collins, Grace" in audit[0]
    assert "Grace" in audit[1] and " cli " in audit[1]
    assert reid("audit", "--tenant", "elsewhere").stdout.startswith("No audit entries")


def test_bad_input_is_one_line_and_changes_nothing(reid, photos, two_people_clip: Path) -> None:
    assert reid("people", "add", "Grace", str(photos["grace"]), "--consent", "in person").returncode == 0
    cases = {
        ("people", "add", "Grace", str(photos["grace"]), "--consent", "again"): "Grace is already enrolled",
        ("people", "add", "Eileen", str(photos["eileen"])): "no consent note",
        ("people", "add", "Eileen", str(photos["text"]), "--consent", "x"): "JPEG or PNG",
        ("analyze", str(two_people_clip), "-p", "Grase"): "Did you mean Grace?",
        ("analyze", str(two_people_clip), "--gallery", "--tenant", "other"): "nobody is enrolled",
        ("people", "remove", "Grace", "--tenant", "other"): "nobody called 'Grace'",
        ("analyze", str(two_people_clip)): "nobody to look for",
    }
    for args, message in cases.items():
        done = reid(*args)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert [line.split()[0] for line in reid("people", "list").stdout.splitlines()] == ["Grace"]


def test_remove_says_what_it_deleted(reid, photos) -> None:
    reid("people", "add", "Grace", str(photos["grace"]), "--consent", "in person")
    removed = reid("people", "remove", "GRACE")
    assert removed.returncode == 0
    assert removed.stdout.startswith("Removed Grace: 1 face embeddings and 1 thumbnails deleted")
    assert reid("people", "list").stdout.startswith("Nobody is enrolled")
    assert "remove" in reid("audit").stdout.splitlines()[0]


def test_an_unknown_person_of_a_saved_result_named_then_found_by_name(
    reid, photos, grace_twice: Path, two_people_clip: Path, tmp_path: Path
) -> None:
    """`reid people add NAME --from RESULT.json#person-1`: the faces the analysis grouped, enrolled
    with no new analysis and no photo; then a search by that name finds her in other footage."""
    saved = tmp_path / "answer"
    done = reid("analyze", str(grace_twice), "-p", f"Eileen={photos['eileen']}", "--keyframes", str(saved), "--json")
    assert done.returncode == 0, done.stderr
    (saved / "result.json").write_text(done.stdout)

    missing = reid("people", "add", "Grace", "--from", f"{saved / 'result.json'}#person-7", "--consent", "x")
    assert missing.returncode == 2 and "no unknown person 'person-7'" in missing.stderr
    no_consent = reid("people", "add", "Grace", "--from", f"{saved / 'result.json'}#person-1")
    assert no_consent.returncode == 2 and "consent" in no_consent.stderr

    named = reid("people", "add", "Grace", "--from", f"{saved / 'result.json'}#person-1", "--consent", "in person")
    assert named.returncode == 0, named.stderr
    assert named.stdout.startswith("Enrolled Grace:")
    audit = reid("audit").stdout
    assert "named Person 1 of result.json" in audit and "Grace" in audit

    found = reid("analyze", str(two_people_clip), "-p", "Grace")
    assert found.returncode == 0, found.stderr
    assert found.stdout.splitlines()[2].startswith("Grace") and " yes " in found.stdout.splitlines()[2]
