"""usercom-tickets: the User.com helpdesk API into an analytics-ready ticket warehouse."""

import os

# Arrow's C++ code allocates from its compiled-in default pool (mimalloc), which kept freed pages in the heaps of
# idle threads: a 1,000,000-ticket run held ~25 MB more after extracting. Effective when this package is imported
# before pyarrow; an explicit ARROW_DEFAULT_MEMORY_POOL wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
