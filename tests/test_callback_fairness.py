"""Callbacks under stuck receivers (issue 22, item 6): two hosts that never answer delay no other
tenant's callback, and every attempt says which task and attempt it is, for deduplication."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from loopback import API_KEY, CallbackReceiver, Footage, HangingReceiver, ServiceThread, envelope, submit_image

pytest_plugins = ["service_fixtures"]


def test_two_hanging_hosts_delay_no_other_callback(
    start_service: Callable[..., ServiceThread], footage: Footage, receiver: CallbackReceiver
) -> None:
    """Four results owed to each of two receivers that never answer, then one to a healthy one:
    it arrives while no attempt to the hanging ones has even timed out yet (10 s)."""
    service = start_service(callback_timeout_s=10.0)
    hanging = [HangingReceiver(), HangingReceiver()]
    try:
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            stuck = [submit_image(api, footage, f"{host.url}?n={n}") for host in hanging for n in range(4)]
            healthy = submit_image(api, footage, receiver.url)
            (delivered,) = receiver.wait_for(1, 60)
            attempts = [envelope(api.get(f"/v1/understand/tasks/{t}"))["data"]["callback"]["attempts"] for t in stuck]
        assert attempts == [0] * len(stuck), "the healthy callback waited for a hanging attempt to time out"
        assert all(len(host.bodies) == 2 for host in hanging), "each hanging host holds only its share"
        assert delivered.headers["Idempotency-Key"] == healthy and delivered.headers["X-ReID-Attempt"] == "1"
    finally:
        for host in hanging:
            host.close()


def test_a_retried_callback_carries_the_same_key_and_the_next_attempt(
    start_service: Callable[..., ServiceThread], footage: Footage
) -> None:
    receiver = CallbackReceiver(fail_first=2)
    try:
        service = start_service()
        with httpx.Client(base_url=service.base_url, headers={"Authorization": API_KEY}, timeout=60) as api:
            task_id = submit_image(api, footage, receiver.url)
        receiver.wait_for(1)
        keys = [(r.headers["Idempotency-Key"], r.headers["X-ReID-Attempt"]) for r in receiver.attempts]
        assert keys == [(task_id, "1"), (task_id, "2"), (task_id, "3")]
    finally:
        receiver.close()
