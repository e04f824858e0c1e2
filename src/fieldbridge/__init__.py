"""FieldBridge: construction field data (crew time, site safety) into Procore and friends."""

__version__ = "0.1.0"
