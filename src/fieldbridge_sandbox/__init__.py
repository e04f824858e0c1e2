"""Offline Procore sandbox: a faithful emulator of Procore's REST API (see docs/sandbox.md)."""

from fieldbridge_sandbox.app import create_app
from fieldbridge_sandbox.config import SandboxConfig

__all__ = ["SandboxConfig", "create_app"]
