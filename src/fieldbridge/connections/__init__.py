"""Connections: one per (company, provider account), with encrypted credentials and health."""
