"""The delivery ledger: every outbound operation, its attempts, the runners that drain it."""
