"""Everything one ACC sandbox holds at run time, hung on `app.state.sandbox`."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute

from fieldbridge_sandbox.faults import FaultInjector
from fieldbridge_sandbox.ratelimit import RateLimiter
from fieldbridge_sandbox_acc.config import AccConfig
from fieldbridge_sandbox_acc.seeds import apply_seed
from fieldbridge_sandbox_acc.store import AccStore

if TYPE_CHECKING:
    from fieldbridge_sandbox_acc.webhooks import AccWebhooks


class AccState:
    def __init__(self, config: AccConfig) -> None:
        self.config = config
        self.store = AccStore(config.persist_path)
        if not self.store.load():
            apply_seed(self.store, config.seed)
        self.limiter = RateLimiter(config.rate_limits, self.store.now)
        self.faults = FaultInjector(config.faults.model_copy(deep=True), self.store.now)
        self.webhooks: AccWebhooks | None = None
        # (method, path template, status, outcome), as the Procore sandbox counts them
        self.request_counts: Counter[tuple[str, str, int, str]] = Counter()
        self.routes: list[BaseRoute] = []
        # responses that failed Issues.yaml: sandbox bugs, listed by /_sandbox/spec_violations
        self.spec_violations: list[dict[str, Any]] = []

    def reset(self, seed: str) -> None:
        apply_seed(self.store, seed)
        self.limiter.reset()
        self.request_counts.clear()
        self.spec_violations.clear()
        if self.webhooks is not None:
            self.webhooks.reset()
        self.store.save()
