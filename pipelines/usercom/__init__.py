"""The dlt source for the User.com tickets API: where each behaviour lives.

- the source, its settings injected by dlt, one resource per status: `source.py`
- constants (endpoints, HTTP bounds, batch sizes, table names): `settings.py`
- every exception, and the messages that name the fix: `errors.py`
- time conversions (ISO 8601, HTTP dates, µs since the epoch): `times.py`
- the `usercom-tickets check` probe of an account's API: `check.py`
- what one status listing did, its requests' and its flattening's figures in one object: `listing_stats.py`
- talking to the API (`http/`): URLs and the host guard `urls.py`, one page with retries `client.py`, retry
  policy `retries.py`, request rate `pacing.py`, connections `transport.py`, whole-request bound `deadline.py`,
  the `Page` (bytes and head, then its parsed tickets) `page.py`, read-ahead `read_ahead.py`, the status filter
  check `status_filter.py`
- a listing's pages between http/ and flatten/ (`pages/`): page after page `pagination.py`, a page's tickets
  parsed into its `Page` `bodies.py`
- pages → Arrow tables (`flatten/`): the per-page choice `flattener.py`, the shared context `context.py`, the
  columnar path `columnar.py`, the row path `rows.py`, known fields `fields.py`, coercion `coercion.py`, column
  types `column_types.py`, stored names `names.py`, the JSON reader `json_reader.py`, the JSON text parser
  `json_text.py`, tables `tables.py`, NumPy helpers `numpy_arrays.py`
- what a run remembers (`state/`): cursor `cursor.py`, version log `versions.py`, in-run tracker `tracker.py`,
  every id a run listed and the count of complete runs `listed.py` (what pipelines/deletions.py judges on)
- one run (`run/`): a listing as a dlt resource `listing.py`, merge hints and the deletion columns `hints.py`, the
  report `report.py`, progress `progress.py`, memory given back `memory.py`
"""
