"""One run of the source, listing by listing.

- a status listing as a dlt resource (pages → tables → dlt items, cursor moved): `listing.py`
- how each table merges (dlt hints): `hints.py`
- what the run did, per listing: `report.py`
- live progress (log lines, or the CLI's bars): `progress.py`
- freed memory given back to the OS between pages: `memory.py`
"""
