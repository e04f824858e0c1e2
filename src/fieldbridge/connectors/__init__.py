"""Connectors: how FieldBridge talks to each platform (one package per provider)."""
