"""What a run remembers: between runs in dlt's resource state, and within a run in memory.

- a listing's incremental cursor (which tickets are unchanged): `cursor.py`
- the versions a listing read, and the new cursor saved: `versions.py`
- every ticket version the run emitted, for tombstones and the next cursor: `tracker.py`
- every ticket id a run listed, and the count of complete runs (what deletions are judged on): `listed.py`
- the append-only NumPy column they use: `growing_column.py`
"""
