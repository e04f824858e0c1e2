"""Inbound events: one receiver per provider connection, de-duplicated records, dispatch by
(provider, resource) to the handlers the domains register, and echo suppression."""
