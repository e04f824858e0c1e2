"""Offline emulator of the Autodesk Platform Services / ACC APIs FieldBridge uses."""

from fieldbridge_sandbox_acc.app import create_app
from fieldbridge_sandbox_acc.config import AccConfig

__all__ = ["AccConfig", "create_app"]
