"""`fieldbridge demo`: the demo company and its logins (`company`), and the offline Procore
sandbox connected, synced and a crew clocked in (`crew`)."""
