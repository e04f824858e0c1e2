"""Webhook delivery as Procore does it: per-hook ordered queue, v2.0 payloads, retries.

A change (API call, edit page or control call) becomes one event; every hook whose scope
covers it and that has a matching trigger gets the event queued. Each hook's queue is
delivered in order by its own task: POST JSON with the hook's destination headers, 2xx within
the timeout is success; a failure pauses the queue and retries with exponential backoff
(base 1 s, capped at 1 h); after 12 h of failures queued events are discarded. Every attempt
is recorded and listed by `GET /rest/v1.0/webhooks/hooks/{id}/deliveries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import time
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from fieldbridge_sandbox.store import Record

if TYPE_CHECKING:
    from fieldbridge_sandbox.state import SandboxState

HookKey = int | str
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_ulid(ts: float) -> str:
    value = (int(ts * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    return "".join(CROCKFORD[(value >> (5 * i)) & 31] for i in reversed(range(26)))


class WebhookSettings(Protocol):
    webhook_transport: httpx.AsyncBaseTransport | None
    webhook_timeout_seconds: float
    webhook_backoff_base_seconds: float
    webhook_backoff_max_seconds: float
    webhook_discard_after_seconds: float


class HookQueues:
    """One ordered queue per hook, each delivered by its own task: an attempt that fails
    pauses the queue and retries with exponential backoff; after `discard_after` seconds of
    failures the queued events are discarded. Subclasses say what a hook is (`hook`), how one
    event is delivered (`attempt`) and what a discarded event leaves behind (`discarded`)."""

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings
        self.queues: dict[HookKey, deque[Record]] = {}
        self.tasks: dict[HookKey, asyncio.Task[None]] = {}
        self.client: httpx.AsyncClient | None = None
        self.progress = asyncio.Event()  # set whenever a queue shrinks

    def hook(self, key: HookKey) -> Record | None:
        raise NotImplementedError

    async def attempt(self, hook: Record, event: Record, *, retried: bool) -> bool:
        raise NotImplementedError

    def discarded(self, hook: Record, event: Record) -> None:
        """An event given up on (default: nothing is recorded)."""

    def _enqueue(self, key: HookKey, event: Record) -> None:
        self.queues.setdefault(key, deque()).append(event)
        task = self.tasks.get(key)
        if task is None or task.done():
            self.tasks[key] = asyncio.get_running_loop().create_task(self._run(key))

    def _client(self) -> httpx.AsyncClient:
        if self.client is None:
            cfg = self.settings
            self.client = httpx.AsyncClient(
                transport=cfg.webhook_transport, timeout=cfg.webhook_timeout_seconds
            )
        return self.client

    async def _run(self, key: HookKey) -> None:
        cfg = self.settings
        queue = self.queues[key]
        failures = 0
        failing_since = 0.0
        while queue:
            hook = self.hook(key)
            if hook is None:
                queue.clear()
                self.progress.set()
                return
            event = queue[0]
            ok = await self.attempt(hook, event, retried=failures > 0)
            if ok:
                queue.popleft()
                self.progress.set()
                failures = 0
                continue
            failures += 1
            if failures == 1:
                failing_since = time.monotonic()
            if time.monotonic() - failing_since >= cfg.webhook_discard_after_seconds:
                while queue:
                    self.discarded(hook, queue.popleft())
                self.progress.set()
                return
            delay = min(
                cfg.webhook_backoff_base_seconds * 2 ** (failures - 1), cfg.webhook_backoff_max_seconds
            )
            await asyncio.sleep(delay)

    async def post(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST within the timeout; the rule also holds on an in-process transport, which
        ignores httpx timeouts."""
        async with asyncio.timeout(self.settings.webhook_timeout_seconds):
            return await self._client().post(url, content=content, headers=headers)

    # -- lifecycle --------------------------------------------------------------------------
    def pending(self) -> int:
        return sum(len(q) for q in self.queues.values())

    async def drain(self, within: float) -> bool:
        """Wait until every queue is empty (at most `within` seconds); True if drained."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                while self.pending():
                    self.progress.clear()
                    await self.progress.wait()
        return self.pending() == 0

    def reset(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        self.tasks.clear()
        self.queues.clear()
        self.progress.set()

    async def aclose(self) -> None:
        tasks = list(self.tasks.values())
        self.reset()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.client is not None:
            await self.client.aclose()
            self.client = None


class WebhookDispatcher(HookQueues):
    def __init__(self, state: SandboxState) -> None:
        super().__init__(state.config)
        self.state = state
        self.event_seq = 0
        self.drop_rng = random.Random(state.config.webhook_drop_seed)
        self.dropped = 0  # events dropped by `webhook_drop_rate`

    def set_drop(self, rate: float, seed: int | None) -> None:
        self.state.config.webhook_drop_rate = rate
        self.drop_rng = random.Random(seed)

    def hook(self, key: HookKey) -> Record | None:
        return self.state.store["webhook_hooks"].get(int(key))

    def discarded(self, hook: Record, event: Record) -> None:
        self._record(hook, event, "discarded", None, None)

    # -- events ---------------------------------------------------------------------------
    def emit(
        self,
        *,
        resource_name: str,
        event_type: str,
        resource_id: int,
        company_id: int,
        project_id: int | None,
        user_id: int | None,
        app_id: int | None,
    ) -> int:
        """Queue one event for every matching hook; returns how many hooks matched."""
        store = self.state.store
        self.event_seq += 1
        now = store.now()
        event = {
            "id": store.new_id(),
            "ulid": new_ulid(now),
            "timestamp": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "metadata": {
                "source_user_id": user_id,
                "source_project_id": project_id,
                "source_operation_id": None,
                "source_company_id": company_id,
                # a string in Procore's webhook payload schema (the other ids are integers)
                "source_application_id": None if app_id is None else str(app_id),
            },
            "user_id": user_id,
            "company_id": company_id,
            "project_id": project_id,
            "api_version": "v2.0",
            "event_type": event_type,
            "resource_name": resource_name,
            "resource_id": resource_id,
        }
        hooks = self._matching(company_id, project_id, resource_name, event_type)
        drop = self.state.config.webhook_drop_rate
        if hooks and drop > 0 and self.drop_rng.random() < drop:
            for hook in hooks:  # lost: never sent, and Procore's log says so
                self._record(hook, event, "discarded", None, "dropped by the sandbox (webhook_drop_rate)")
            self.dropped += 1
            return 0
        for hook in hooks:
            self._enqueue(hook["id"], event)
        return len(hooks)

    def _matching(
        self, company_id: int, project_id: int | None, resource_name: str, event_type: str
    ) -> list[Record]:
        store = self.state.store
        return [
            hook
            for hook in list(store["webhook_hooks"])
            if self._covers(hook, company_id, project_id)
            and any(
                t["resource_name"] == resource_name and t["event_type"].lower() == event_type
                for t in store["webhook_triggers"].by(hook["id"])
            )
        ]

    @staticmethod
    def _covers(hook: Record, company_id: int, project_id: int | None) -> bool:
        if hook.get("owned_by_project_id"):
            return bool(hook["owned_by_project_id"] == project_id)
        return bool(hook.get("owned_by_company_id") == company_id)

    def payload(self, hook: Record, event: Record) -> dict[str, Any]:
        if str(hook.get("api_version", "")).startswith("v4"):
            return {
                "id": event["ulid"],
                "timestamp": event["timestamp"],
                "reason": event["event_type"],
                "company_id": str(event["company_id"]),
                "project_id": None if event["project_id"] is None else str(event["project_id"]),
                "user_id": None if event["user_id"] is None else str(event["user_id"]),
                "resource_type": event["resource_name"],
                "resource_id": str(event["resource_id"]),
            }
        if str(hook.get("api_version", "")).startswith("v3"):
            return {**event, "api_version": "v3.0", "related_resources": []}
        return event

    async def attempt(self, hook: Record, event: Record, *, retried: bool) -> bool:
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Procore-Webhooks-Sandbox",
            **{k: str(v) for k, v in (hook.get("destination_headers") or {}).items()},
        }
        started = self.state.store.now_iso()
        try:
            content = json.dumps(self.payload(hook, event)).encode()
            response = await self.post(hook["destination_url"], content, headers)
        except Exception as exc:  # any transport failure counts as a failed attempt
            self._record(hook, event, "failed", None, f"{type(exc).__name__}: {exc}", started=started)
            return False
        ok = 200 <= response.status_code < 300
        outcome = ("retried" if retried else "ok") if ok else "failed"
        self._record(hook, event, outcome, response, None, started=started)
        return ok

    def _record(
        self,
        hook: Record,
        event: Record,
        outcome: str,
        response: httpx.Response | None,
        error: str | None,
        started: str | None = None,
    ) -> None:
        store = self.state.store
        now = store.now_iso()
        store.insert(
            "webhook_deliveries",
            {
                "webhook_hook_id": hook["id"],
                "event": self.payload(hook, event),
                "event_id": event["id"],
                "outcome": outcome,
                "response_status": response.status_code if response is not None else None,
                "response_headers": dict(response.headers) if response is not None else None,
                "response_body": response.text[:2000] if response is not None else None,
                "response_error": error,
                "started_at": started or now,
                "completed_at": now,
            },
        )
