"""One run of the source, listing by listing.

- a status listing as a dlt resource (pages → tables → dlt items, cursor moved): `listing.py`
- how each table merges (dlt hints), and the columns pipelines/deletions.py fills: `hints.py`
- what the run did: its listings' figures (`ListingStats`, listing_stats.py) and every ticket id it listed: `report.py`
- live progress (log lines, or the CLI's bars): `progress.py`
- freed memory given back to the OS between pages: `memory.py`
"""
