"""A listing's pages, between http/ (bytes and heads) and flatten/ (tables): the import direction is
http/ <- pages/ -> flatten/.

- a page's tickets parsed into its `Page` (http/page.py), the body checked to be a ticket page: `bodies.py`
- a listing, page after page, bodies batched for the JSON reader: `pagination.py`
"""
