"""Talking to the User.com API: everything between a URL and a page's bytes and head; nothing here imports
flatten/ (pages/ parses what this hands on).

- the API root, the host guard, `next` links checked, URLs redacted for messages: `urls.py`
- one page with auth headers, pacing, deadline and retries; the errors that name the fix: `client.py`
- retries (which answers, how long to wait, Retry-After): `retries.py`
- one request rate for the whole run, learnt from the API's throttling: `pacing.py`
- GETs on a keep-alive connection (urllib3): `transport.py`
- a bound on the whole request, a dripping server included: `deadline.py`
- a page as fetched, its bytes and `count` and `next` read from its head: `page_head.py`
- the next page fetched while the last one is flattened: `read_ahead.py`
- whether the API honours the status filter: `status_filter.py`
"""
