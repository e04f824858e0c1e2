"""Everything one sandbox instance holds at run time, hung on `app.state.sandbox`."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from starlette.routing import BaseRoute

from fieldbridge_sandbox.config import SandboxConfig
from fieldbridge_sandbox.faults import FaultInjector
from fieldbridge_sandbox.ratelimit import RateLimiter
from fieldbridge_sandbox.seeds import apply_seed
from fieldbridge_sandbox.serialize import JsonCache
from fieldbridge_sandbox.store import Store
from fieldbridge_sandbox.validation import Validators

if TYPE_CHECKING:
    from fieldbridge_sandbox.webhooks import WebhookDispatcher

_VALIDATORS: Validators | None = None


def shared_validators() -> Validators:
    """Compiled once per process: the schemas never change at run time."""
    global _VALIDATORS
    if _VALIDATORS is None:
        _VALIDATORS = Validators()
    return _VALIDATORS


class SandboxState:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.store = Store(config.persist_path)
        if not self.store.load():
            apply_seed(self.store, config.seed)
        self.validators = shared_validators()
        self.limiter = RateLimiter(config.rate_limits, self.store.now)
        self.faults = FaultInjector(config.faults.model_copy(deep=True), self.store.now)
        self.cache = JsonCache(self.store)
        self.webhooks: WebhookDispatcher | None = None
        # (method, path template, status, outcome): see middleware.ANSWERED/DROPPED/TIMED_OUT
        self.request_counts: Counter[tuple[str, str, int, str]] = Counter()
        self.routes: list[BaseRoute] = []  # set by create_app, for request-count templates

    def reset(self, seed: str) -> None:
        apply_seed(self.store, seed)
        self.limiter.reset()
        self.request_counts.clear()
        if self.webhooks is not None:
            self.webhooks.reset()
        self.store.save()
