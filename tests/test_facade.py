"""The facade's local backend: locations staged (paths checked, URLs fetched), settings applied."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from ticking import run_while_ticking

from tools.reid.errors import FetchError, InvalidInput, MediaError
from tools.reid.facade import ReIDTool
from tools.reid.schemas import AnalysisOptions, PersonSpec, ReIDRequest
from tools.reid.settings import ReIDSettings


@pytest.fixture(scope="module")
def file_server(two_people_clip: Path, photos: dict[str, Path]) -> Iterator[str]:
    """Serves the clip and the photos over loopback HTTP."""
    root = two_people_clip.parent
    for key in ("eileen", "grace"):
        (root / photos[key].name).write_bytes(photos[key].read_bytes())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def request(media: str, **photos: str) -> ReIDRequest:
    return ReIDRequest(media=media, persons=[PersonSpec(name=n, photos=[p]) for n, p in photos.items()])


def test_urls_are_fetched_when_private_addresses_are_allowed(file_server: str) -> None:
    tool = ReIDTool(ReIDSettings(allow_private_urls=True, workers=1))
    result = tool.analyze(
        request(f"{file_server}/two_people.mp4", Eileen=f"{file_server}/eileen.png", Grace=f"{file_server}/grace.jpg")
    )
    assert [p.found for p in result.persons] == [True, True]


def test_loopback_urls_are_refused_by_default(file_server: str, photos) -> None:
    tool = ReIDTool(ReIDSettings(workers=1))
    with pytest.raises(FetchError, match="REID_ALLOW_PRIVATE_URLS"):
        tool.analyze(request(f"{file_server}/two_people.mp4", Grace=str(photos["grace"])))


def test_a_missing_local_file_is_named(photos, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="The reference photo for Grace '.*nope.jpg' is not a file"):
        ReIDTool(ReIDSettings(workers=1)).analyze(request(str(photos["grace"]), Grace=str(tmp_path / "nope.jpg")))


def test_settings_choose_the_options_a_request_leaves_out(two_people_clip: Path, photos) -> None:
    tool = ReIDTool(ReIDSettings(sample_fps=1.0, workers=1))
    defaulted = tool.analyze(request(str(two_people_clip), Grace=str(photos["grace"])))
    assert defaulted.stats.frames_analysed == 8
    explicit = request(str(two_people_clip), Grace=str(photos["grace"]))
    explicit.options = AnalysisOptions(sample_fps=2.0)
    assert tool.analyze(explicit).stats.frames_analysed == 16


def test_async_analysis_keeps_the_event_loop_free(two_people_clip: Path, photos) -> None:
    tool = ReIDTool(ReIDSettings(workers=1))
    result, ticks = run_while_ticking(tool.aanalyze(request(str(two_people_clip), Grace=str(photos["grace"]))))
    found = result.persons[0].found
    assert found and ticks > 10


def test_errors_name_the_fetched_file_as_the_url_does(
    file_server: str, two_people_clip: Path, photos, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    (two_people_clip.parent / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    tool = ReIDTool(ReIDSettings(allow_private_urls=True, workers=1))
    with pytest.raises(MediaError, match=r"^broken.mp4 is not a video or image that can be decoded") as caught:
        tool.analyze(request(f"{file_server}/broken.mp4?token=secret", Grace=str(photos["grace"])))
    assert "secret" not in str(caught.value)
    assert "secret" not in caplog.text, "a URL's query (it may hold a token) reached the logs"


def test_only_a_remote_tool_answers_by_callback(photos) -> None:
    """The bot asks the tool, not its backend, whether to submit with a callback URL."""
    request = ReIDRequest(media=str(photos["grace"]), persons=[PersonSpec(name="Grace", photos=[str(photos["grace"])])])
    local = ReIDTool(ReIDSettings())
    assert not local.answers_by_callback
    with pytest.raises(ValueError, match="takes no callback"):
        local.submit(request, "http://127.0.0.1:9/callback")
    assert ReIDTool(ReIDSettings(backend="remote", api_url="http://127.0.0.1:9")).answers_by_callback
    payload = {"status": 0, "task_id": "t1", "data": {"text": "Nobody here."}}
    result = ReIDTool.result_from_callback(payload, ["Grace"])
    assert result.text == "Nobody here." and [p.found for p in result.persons] == [False]
