"""Fixtures of the service, client and remote tests; a test module loads them with
``pytest_plugins = ["service_fixtures"]``. The servers themselves are in `loopback`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from loopback import API_KEY, CallbackReceiver, Footage, ServiceThread, StaticFiles, service_settings, write_footage


@pytest.fixture(scope="session")
def footage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Footage]:
    """A 5 s 320x240 clip (the astronaut 0.5-2.5 s, Grace Hopper 2.5-4.5 s), photos of both,
    an image showing the astronaut, and unusable files, all served over loopback HTTP."""
    folder = tmp_path_factory.mktemp("footage")
    write_footage(folder)
    server = StaticFiles(folder)
    yield Footage(server)
    server.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceThread]:
    """The service with default test settings, shared by a module's tests."""
    running = ServiceThread(service_settings(tmp_path_factory.mktemp("service")))
    yield running
    running.close()


@pytest.fixture
def start_service(tmp_path: Path) -> Iterator[Callable[..., ServiceThread]]:
    """Starts a service of its own for a test, with settings overridden by keyword."""
    started: list[ServiceThread] = []

    def start(**overrides: Any) -> ServiceThread:
        started.append(ServiceThread(service_settings(tmp_path / f"service{len(started)}", **overrides)))
        return started[-1]

    yield start
    for running in started:
        running.close()


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    running = CallbackReceiver()
    yield running
    running.close()


@pytest.fixture
def api(service: ServiceThread) -> Iterator[httpx.Client]:
    """Raw HTTP to the shared service, with the key, as a script using the spec would send."""
    with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as client:
        yield client
