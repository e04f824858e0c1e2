"""Companies (the tenants), admin and support users, workers, API keys, and who is asking."""
