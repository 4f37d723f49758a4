"""Talking to the User.com API: everything between a URL and a `Page` of bytes and head; nothing here imports
flatten/ or pages/ (pages/ parses the tickets into the `Page`, flatten/ makes it a `FlatPage`: a page's two forms).

- the API root, the host guard, `next` links checked, URLs redacted for messages: `urls.py`
- one page with auth headers, pacing, deadline and retries; the errors that name the fix: `client.py`
- retries (which answers, how long to wait, Retry-After): `retries.py`
- one request rate for the whole run, learnt from the API's throttling: `pacing.py`
- GETs on a keep-alive connection (urllib3): `transport.py`
- a bound on the whole request, a dripping server included: `deadline.py`
- `Page`, the one object carrying a page's `count` and `next`: its bytes and head as fetched, then its parsed
  tickets: `page.py`
- the next page fetched while the last one is flattened: `read_ahead.py`
- whether the API honours the status filter: `status_filter.py`
"""
