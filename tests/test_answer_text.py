"""The answer as text: captions that read naturally, one rounding of durations, places in a
photo, names from file names, and the appearances as CSV and WebVTT read back."""

from __future__ import annotations

import csv
import io
import re

import pytest
from results import person, result_of

from tools.reid.engine.caption import caption
from tools.reid.exports import CSV_COLUMNS, MIN_CUE_S, appearances_csv, appearances_vtt
from tools.reid.names import name_from_file
from tools.reid.report import table
from tools.reid.schemas import MediaInfo
from tools.reid.wording import count, duration, place

VIDEO = MediaInfo(kind="video", duration_s=60.0, width=640, height=360, fps=25.0)
PHOTO = MediaInfo(kind="image", duration_s=0.0, width=900, height=600)


@pytest.mark.parametrize(
    ("missing", "sentence"),
    [
        (["Obama"], "Obama was not found in the 1:00 video."),
        (["Obama", "Biden"], "Neither Obama nor Biden was found in the 1:00 video."),
        (["Obama", "Biden", "Harris"], "None of Obama, Biden and Harris was found in the 1:00 video."),
    ],
)
def test_nobody_found_reads_naturally(missing: list[str], sentence: str) -> None:
    assert caption(VIDEO, [person(name, []) for name in missing], 0) == sentence


def test_counts_agree_with_their_nouns() -> None:
    assert count(1, "frame") == "1 frame" and count(2, "face") == "2 faces" and count(0, "face") == "0 faces"
    assert caption(PHOTO, [person("Obama", [])], 1).endswith("1 other face was seen but not recognised.")
    assert caption(PHOTO, [person("Obama", [])], 3).endswith("3 other faces were seen but not recognised.")


def test_one_rounding_of_durations_in_the_table_and_the_caption() -> None:
    assert [duration(s) for s in (0.0, 6.5, 9.96, 18.6, 59.4, 125.0, 180.0)] == [
        "0.0 s",
        "6.5 s",
        "10.0 s",
        "19 s",
        "59 s",
        "2 min 5 s",
        "3 min",
    ]
    result = result_of([person("Eileen", [(1.0, 7.5)])])
    text = caption(result.media, result.persons, 0)
    assert "(6.5 s in all, 90% confidence)" in text
    assert "6.5 s" in table(result).splitlines()[2]


def test_photo_rows_and_caption_say_where_not_a_box() -> None:
    result = result_of(
        [person("Obama", [(0, 0)], (40, 50, 200, 210)), person("Biden", [(0, 0)], (500, 50, 620, 210))], kind="image"
    )
    lines = table(result).splitlines()
    assert lines[0].split()[-1] == "Where"
    assert lines[2].split()[-1] == "left" and lines[3].split()[-1] == "right"
    assert "box" not in table(result)
    assert [place((280, 0, 360, 10), 640), place((0, 0, 10, 10), 640), place((600, 0, 640, 10), 640)] == [
        "centre",
        "left",
        "right",
    ]
    assert "Obama is on the left (90% confidence). Biden is on the right" in caption(result.media, result.persons, 0)


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("jane_doe.jpg", "Jane Doe"),
        ("lin-manuel-miranda.png", "Lin Manuel Miranda"),
        ("Lin-Manuel Miranda.png", "Lin-Manuel Miranda"),
        ("o'brien.jpeg", "O'Brien"),
        ("josé_garcía.JPG", "José García"),
        ("J. R. Smith", "J. R. Smith"),
        ("https://example.com/people/grace_hopper.jpg?sig=a=b", "Grace Hopper"),
        ("DSC_0042.jpg", "DSC 0042"),
    ],
)
def test_a_file_name_becomes_a_name_only_by_clean_up(file_name: str, name: str) -> None:
    assert name_from_file(file_name) == name


def test_csv_has_one_row_per_appearance() -> None:
    result = result_of([person("Alice", [(1.0, 4.5), (30.0, 31.25)]), person("Bob", [(2.0, 9.0)]), person("Carol", [])])
    rows = list(csv.DictReader(io.StringIO(appearances_csv(result))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [(r["person"], float(r["start_s"]), float(r["end_s"])) for r in rows] == [
        ("Alice", 1.0, 4.5),
        ("Alice", 30.0, 31.25),
        ("Bob", 2.0, 9.0),
    ]
    assert all(float(r["confidence"]) == 0.9 and r["place"] == "" for r in rows)
    photo = result_of([person("Alice", [(0, 0)], (0, 0, 100, 100))], kind="image")
    assert list(csv.DictReader(io.StringIO(appearances_csv(photo))))[0]["place"] == "left"


def _cues(vtt: str) -> list[tuple[float, float, str]]:
    """Parses the WebVTT cues back: (start s, end s, text)."""

    def seconds(stamp: str) -> float:
        hours, minutes, secs = stamp.split(":")
        return int(hours) * 3600 + int(minutes) * 60 + float(secs)

    assert vtt.startswith("WEBVTT\n\n")
    cues = []
    for block in vtt.strip().split("\n\n")[1:]:
        if block.startswith("NOTE"):
            continue
        _number, timing, text = block.split("\n")
        start, end = re.fullmatch(r"(\S+) --> (\S+)", timing).groups()  # type: ignore[union-attr]
        cues.append((seconds(start), seconds(end), text))
    return cues


def test_vtt_names_who_is_on_screen_when() -> None:
    result = result_of([person("Alice", [(1.0, 4.5), (3725.5, 3725.5)]), person("Lin-Manuel Miranda", [(2.0, 9.0)])])
    result.media.duration_s = 4000.0
    assert _cues(appearances_vtt(result)) == [
        (1.0, 4.5, "Alice"),
        (2.0, 9.0, "Lin-Manuel Miranda"),
        (3725.5, 3725.5 + MIN_CUE_S, "Alice"),  # a lone sighting still shows long enough to read
    ]
    assert "01:02:05.500 --> 01:02:06.500" in appearances_vtt(result)
    photo = appearances_vtt(result_of([person("Alice", [(0, 0)])], kind="image"))
    assert _cues(photo) == [] and "photo" in photo
