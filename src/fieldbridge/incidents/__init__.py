"""Incidents and OSHA recordkeeping: recordability (29 CFR 1904.7), case numbers, the 300 log,
300A summary, 301 report and the ITA CSV files."""
