"""Videos on a real Dask cluster on loopback (a `dask scheduler` and `dask worker` processes,
no mocks): the same answer as the embedded default, footage reaching workers without a shared
disk, a worker killed mid-segment (with the last copy of the footage, too), a cluster left without
workers, a worker of another version, an unreachable scheduler."""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import cluster_jobs
import httpx
import pytest
from dask_loopback import START_TIMEOUT_S, LoopbackCluster
from loopback import API_KEY, Footage, ServiceThread, StaticFiles, envelope, service_settings, wait_until

from tools.reid import engine, synth
from tools.reid.cluster import ClusterRunner, ClusterSession, staging, version
from tools.reid.engine import parallel
from tools.reid.errors import ClusterUnavailable
from tools.reid.facade import ReIDTool
from tools.reid.schemas import AnalysisOptions, PersonSpec, ReIDRequest, ReIDResult
from tools.reid.settings import ReIDSettings

pytest_plugins = ["service_fixtures"]

STREET = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "footage" / "street-1080p.mp4"
T = TypeVar("T")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackCluster]:
    cluster = LoopbackCluster(tmp_path_factory.mktemp("dask"), workers=2)
    yield cluster
    cluster.close()


@pytest.fixture
def segmented(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segments of 6 grid points, so a 10 s clip at 2 fps makes 4 Dask tasks."""
    monkeypatch.setattr(parallel, "SEGMENT_SAMPLES", 6)


@pytest.fixture(scope="module")
def clip(make_clip: Callable[..., Path]) -> Path:
    """10 s, 640x360: Eileen 0.5-7 s gliding, Grace 2-9.5 s on the right."""
    return make_clip(
        "cluster_two",
        [
            synth.Actor(synth.astronaut_portrait(), 0.5, 7.0, synth.glide(0.15, 0.5, 6.5, height=0.5)),
            synth.Actor(synth.hopper_portrait(), 2.0, 9.5, synth.still(0.8, height=0.45)),
        ],
        10.0,
    )


def _request(media: str, photos: dict[str, Path], options: AnalysisOptions | None = None) -> ReIDRequest:
    persons = [
        PersonSpec(name="Eileen", photos=[str(photos["eileen"])]),
        PersonSpec(name="Grace", photos=[str(photos["grace"])]),
    ]
    return ReIDRequest(media=media, persons=persons, **({"options": options} if options else {}))


@pytest.fixture(scope="module")
def embedded(clip: Path, photos: dict[str, Path]) -> ReIDResult:
    """The embedded default's answer on the clip (one segment: it is shorter than 40 grid points)."""
    return ReIDTool(ReIDSettings()).analyze(_request(str(clip), photos))


def _same_answer(a: ReIDResult, b: ReIDResult) -> bool:
    """The same findings; the media's digest is the facade's (a run of the engine alone has none)."""
    leave_out: dict[str, Any] = {"stats": True, "media": {"sha256"}}
    return a.model_dump(exclude=leave_out) == b.model_dump(exclude=leave_out)


def test_the_cluster_gives_the_embedded_answer(
    dask_cluster: LoopbackCluster, segmented: None, clip: Path, photos: dict[str, Path], embedded: ReIDResult
) -> None:
    result = ReIDTool(ReIDSettings(cluster=dask_cluster.address)).analyze(_request(str(clip), photos))
    assert _same_answer(result, embedded)
    assert [p.found for p in result.persons] == [True, True]
    assert (result.stats.runner, result.stats.cluster) == ("cluster", dask_cluster.address)
    assert 1 <= result.stats.workers <= 2
    assert (embedded.stats.runner, embedded.stats.cluster) == ("local", None)
    assert result.stats.frames_analysed == embedded.stats.frames_analysed
    assert not list(dask_cluster.tmp.glob("reid-stage-*")), "the workers' copies of the footage outlived the task"


def test_the_cluster_gives_the_embedded_answer_on_real_footage(
    dask_cluster: LoopbackCluster, segmented: None, photos: dict[str, Path], shared_faces: Path
) -> None:
    if not STREET.is_file():
        pytest.skip(f"real footage not present: {STREET} (the ../shared checkout) is absent")
    # 4 fps over the 4.2 s street scene: 17 grid points, 3 segments of 1080p frames with a crowd.
    request = ReIDRequest(
        media=str(STREET),
        persons=[PersonSpec(name="Obama", photos=[str(shared_faces / "obama.jpg")])],
        options=AnalysisOptions(sample_fps=4.0),
    )
    alone = ReIDTool(ReIDSettings()).analyze(request)
    clustered = ReIDTool(ReIDSettings(cluster=dask_cluster.address)).analyze(request)
    assert _same_answer(clustered, alone)
    assert clustered.unknown_faces > 0 and clustered.stats.faces_detected == alone.stats.faces_detected > 0
    assert clustered.stats.runner == "cluster"


def test_workers_fetch_footage_given_by_url_themselves(
    dask_cluster: LoopbackCluster, segmented: None, clip: Path, photos: dict[str, Path], embedded: ReIDResult
) -> None:
    server = StaticFiles(clip.parent)
    try:
        settings = ReIDSettings(cluster=dask_cluster.address, allow_private_urls=True)
        result = ReIDTool(settings).analyze(_request(server.url(clip.name), photos))
    finally:
        server.close()
    assert _same_answer(result, embedded)
    # Once by the client (to probe and check it), then once by each worker that ran segments.
    assert server.served.count(f"/{clip.name}") == 1 + result.stats.workers


class _Slowed:
    """A runner whose calls leave a marker and sleep first (`cluster_jobs.slowly`)."""

    def __init__(self, inner: ClusterRunner, markers: Path) -> None:
        self.inner, self.markers = inner, markers
        self.kind, self.address, self.workers = inner.kind, inner.address, inner.workers

    def map(self, fn: Callable[..., T], args: Sequence[tuple[Any, ...]]) -> Iterator[tuple[int, T]]:
        return self.inner.map(functools.partial(cluster_jobs.slowly, self.markers, 3.0, fn), args)

    def workers_used(self) -> int:
        return self.inner.workers_used()


def _analyse_losing_a_worker(
    cluster: LoopbackCluster,
    settings: ReIDSettings,
    clip: Path,
    photos: dict[str, Path],
    markers: Path,
    meanwhile: Callable[[subprocess.Popen[bytes]], None],
) -> ReIDResult:
    """`engine.analyze` of the clip on ``cluster`` with slowed segments; ``meanwhile`` gets the
    worker process that started the first segment, while that worker still holds it."""
    persons = {"Eileen": [photos["eileen"]], "Grace": [photos["grace"]]}
    with ClusterSession(settings) as session, ThreadPoolExecutor(1) as thread:
        runner = _Slowed(session.runner(str(clip), clip), markers)
        running = thread.submit(engine.analyze, clip, persons, runner=runner)
        first = wait_until(lambda: sorted(markers.iterdir()), 60, "a worker to start a segment")[0]
        meanwhile(cluster.worker_with_pid(int(first.name.split("-")[0])))
        return running.result(timeout=240)


def _kill_and_forget(cluster: LoopbackCluster) -> Callable[[subprocess.Popen[bytes]], None]:
    """SIGKILL the worker mid-sleep (it dies holding its segment), then wait until the
    scheduler has dropped it."""

    def kill(worker: subprocess.Popen[bytes]) -> None:
        expected = len(cluster.client.scheduler_info()["workers"]) - 1
        worker.kill()
        wait_until(lambda: len(cluster.client.scheduler_info()["workers"]) == expected or None, 30, "worker gone")

    return kill


def test_a_worker_killed_mid_segment_costs_time_not_the_answer(
    tmp_path: Path, segmented: None, clip: Path, photos: dict[str, Path], embedded: ReIDResult
) -> None:
    cluster = LoopbackCluster(tmp_path / "dask", workers=2)
    markers = tmp_path / "markers"
    markers.mkdir()
    try:
        settings = ReIDSettings(cluster=cluster.address)
        result = _analyse_losing_a_worker(cluster, settings, clip, photos, markers, _kill_and_forget(cluster))
    finally:
        cluster.close()
    assert _same_answer(result, embedded)
    assert len(list(markers.iterdir())) >= 5, "4 segments, one of them started twice"
    assert result.stats.workers == 1, "only the survivor delivered segments"


def test_footage_lost_with_its_only_worker_is_sent_again_to_the_next(
    tmp_path: Path, segmented: None, clip: Path, photos: dict[str, Path], embedded: ReIDResult
) -> None:
    """Scattered footage cannot be rebuilt by Dask: with the only worker holding it gone, the
    scheduler forgets it and every segment; the runner scatters it again to a new worker."""
    cluster = LoopbackCluster(tmp_path / "dask", workers=1)
    markers = tmp_path / "markers"
    markers.mkdir()
    kill = _kill_and_forget(cluster)

    def replace(worker: subprocess.Popen[bytes]) -> None:
        kill(worker)
        cluster.add_worker()

    try:
        # The client waits this long for a worker to scatter to: a new one starts slowly on a busy machine.
        settings = ReIDSettings(cluster=cluster.address, cluster_timeout_s=START_TIMEOUT_S)
        result = _analyse_losing_a_worker(cluster, settings, clip, photos, markers, replace)
    finally:
        cluster.close()
    assert _same_answer(result, embedded)
    assert len(list(markers.iterdir())) >= 5, "4 segments, one of them started twice"
    assert result.stats.workers == 1, "only the new worker delivered segments"


def test_a_cluster_left_without_workers_mid_analysis_is_unavailable(
    tmp_path: Path, segmented: None, clip: Path, photos: dict[str, Path]
) -> None:
    cluster = LoopbackCluster(tmp_path / "dask", workers=1)
    markers = tmp_path / "markers"
    markers.mkdir()
    try:
        settings = ReIDSettings(cluster=cluster.address, cluster_timeout_s=2.0)
        with pytest.raises(ClusterUnavailable) as gone:
            _analyse_losing_a_worker(cluster, settings, clip, photos, markers, _kill_and_forget(cluster))
    finally:
        cluster.close()
    assert f"The Dask scheduler at {cluster.address} has no workers" in str(gone.value)


def test_a_worker_of_another_version_is_refused(
    dask_cluster: LoopbackCluster, clip: Path, photos: dict[str, Path]
) -> None:
    stray = dask_cluster.add_worker("cluster_other_version")
    try:
        with pytest.raises(ClusterUnavailable) as refused:
            ReIDTool(ReIDSettings(cluster=dask_cluster.address)).analyze(_request(str(clip), photos))
        # A worker that joins after the check refuses segments itself.
        address = next(a for a, pid in dask_cluster.client.run(os.getpid).items() if pid == stray.pid)
        task = staging.StagedTask("guard", clip, None, version.project_version())
        segment = dask_cluster.client.submit(staging.run_staged, task, b"", abs, (-1,), workers=[address])
        with pytest.raises(ClusterUnavailable) as guarded:
            segment.result(timeout=60)
    finally:
        dask_cluster.stop_worker(stray)
    message = str(refused.value)
    assert f"Refusing the Dask cluster at {dask_cluster.address}" in message
    assert "runs 0.0.1+engine.000000000000, but this process runs" in message
    assert "Install the same version of reid-footage on every worker" in message
    assert f"Dask worker {address} runs 0.0.1+engine.000000000000" in str(guarded.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _reid(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """``reid`` in a process of its own, importing this worktree."""
    environ = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1])} | env
    command = [sys.executable, "-m", "tools.reid.cli", *args]
    return subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300)


def test_cli_runs_on_the_cluster_it_is_given(
    dask_cluster: LoopbackCluster, clip: Path, photos: dict[str, Path], embedded: ReIDResult
) -> None:
    persons = ["-p", f"Eileen={photos['eileen']}", "-p", f"Grace={photos['grace']}"]
    done = _reid("analyze", str(clip), *persons, "--json", "--cluster", dask_cluster.address)
    assert done.returncode == 0, done.stderr
    result = ReIDResult.model_validate_json(done.stdout)
    assert (result.stats.runner, result.stats.cluster) == ("cluster", dask_cluster.address)
    assert _same_answer(result, embedded)


def test_cli_exits_2_when_the_scheduler_is_unreachable(clip: Path, photos: dict[str, Path]) -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    done = _reid(
        "analyze", str(clip), "-p", f"Eileen={photos['eileen']}", "--cluster", address, REID_CLUSTER_TIMEOUT_S="2"
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"reid: Cannot reach the Dask scheduler at {address}")
    assert "dask scheduler" in done.stderr


def test_service_keeps_tasks_queued_until_the_cluster_is_reachable(tmp_path: Path, footage: Footage) -> None:
    port = _closed_port()
    address = f"tcp://127.0.0.1:{port}"
    settings = service_settings(
        tmp_path / "service", cluster=address, cluster_timeout_s=1.0, cluster_concurrent_tasks=2
    )
    service = ServiceThread(settings)
    cluster = None
    try:
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            body = {
                "video_url": footage.url("alice_then_bob.mp4"),
                "user_prompt": "Who is in the video?",
                "system_prompt": "You identify people in videos.",
                "persons": [
                    {"name": "Alice", "url": footage.url("alice.jpg")},
                    {"name": "Bob", "url": footage.url("bob.jpg")},
                ],
            }
            answers = [envelope(api.post("/v1/understand/upload", json=body)) for _ in range(2)]
            assert all(a["code"] == "0000" for a in answers), answers
            task_ids = [a["data"]["task_id"] for a in answers]
            health = api.get("/healthz").json()
            assert health["status"] == "degraded" and health["cluster"]["usable"] is False
            assert health["cluster"]["problem"].startswith(f"Cannot reach the Dask scheduler at {address}")
            assert [_task(api, t)["state"] for t in task_ids] == ["queued", "queued"]

            cluster = LoopbackCluster(tmp_path / "dask", workers=2, port=port)
            finished = [wait_until(functools.partial(_done, api, t), 180, f"task {t}") for t in task_ids]
            assert api.get("/healthz").json() == {
                "status": "ok",
                "cluster": {"address": address, "usable": True, "workers": 2},
            }
    finally:
        service.close()
        if cluster is not None:
            cluster.close()
    embedded = ReIDTool(settings.model_copy(update={"cluster": None})).analyze(
        ReIDRequest(
            media=footage.url("alice_then_bob.mp4"),
            persons=[
                PersonSpec(name="Alice", photos=[footage.url("alice.jpg")]),
                PersonSpec(name="Bob", photos=[footage.url("bob.jpg")]),
            ],
        )
    )
    for task in finished:
        assert task["state"] == "done", task
        assert task["result"]["stats"]["runner"] == "cluster"
        assert task["result"]["persons"] == embedded.model_dump(mode="json")["persons"]


def _task(api: httpx.Client, task_id: str) -> dict[str, Any]:
    return envelope(api.get(f"/v1/understand/tasks/{task_id}"))["data"]


def _done(api: httpx.Client, task_id: str) -> dict[str, Any] | None:
    task = _task(api, task_id)
    return task if task["state"] in ("done", "failed") else None
