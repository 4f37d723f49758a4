"""Talking to the User.com API: everything between a URL and a page's bytes.

- the API root, the host guard, `next` links checked, URLs redacted for messages: `urls.py`
- one page with auth headers, pacing, deadline and retries; the errors that name the fix: `client.py`
- retries (which answers, how long to wait, Retry-After): `retries.py`
- one request rate for the whole run, learnt from the API's throttling: `pacing.py`
- GETs on a keep-alive connection (urllib3): `transport.py`
- a bound on the whole request, a dripping server included: `deadline.py`
- a listing page after page (`next`, batches for the JSON reader, empty pages, the 404 after the last): `pagination.py`
- `count` and `next` read from a page's head; a body checked to be a page: `page_body.py`
- the next page fetched while the last one is flattened: `read_ahead.py`
- whether the API honours the status filter: `status_filter.py`
"""
