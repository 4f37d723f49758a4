"""Constants of the User.com tickets source: endpoints, HTTP bounds, batch sizes, table and field names.

The Arrow types of the known ticket fields are in `flatten/fields.py`.
"""

TICKETS_PATH = "tickets/"
BASE_URL_TEMPLATE = "https://{subdomain}.user.com/api/public/"
ACCEPT_HEADER = "*/*; version=2"
STATUSES = ("active", "closed", "archived", "draft")
STATUS_PARAM = "status"

# HTTP behaviour: per-request (connect, read) timeouts and the bounds of retrying.
REQUEST_TIMEOUT = (10.0, 60.0)
MAX_ATTEMPTS = 8
MAX_TOTAL_WAIT_SECONDS = 300.0
BACKOFF_BASE_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 30.0
RETRY_AFTER_CAP_SECONDS = 120.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Empty pages that still link onwards are followed (tickets can move away while we page), but not forever.
MAX_EMPTY_PAGES_IN_A_ROW = 10

# How long a listing waits for the other listings' first pages before it decides whether the API honours the
# status filter on what it has (dlt runs the listings side by side; fewer extract workers than listings would
# leave the others unstarted until then, and the fallback is to list once per status, as without the check).
FILTER_CHECK_WAIT_SECONDS = 30.0

# Pages are parsed and flattened together until their bodies reach this size: the JSON reader and the
# columnar flattener cost ~0.4 ms and ~1.4 ms a call whatever its size (2 MB: about 16 pages of 100 tickets).
PARSE_BATCH_BYTES = 2_000_000
# ... or until the batch's first page would be older than this once the next page arrives (at the last page's
# pace): pages that come slowly are parsed as they come, so the live counts move with each one (at 5 requests/s
# a 16-page batch held a listing's count still for 8-10 s); fast pages still fill the batch by size.
PARSE_BATCH_SECONDS = 0.25

# Pages a listing reads between two returns of freed memory to the OS (see memory.py).
RETURN_MEMORY_EVERY_PAGES = 50

# The next incremental run re-reads tickets updated after (run start - this margin): a version
# written while we paged may have been missed, and server and client clocks may differ.
CURSOR_MARGIN_SECONDS = 3600

# The fields the reference shows on a listed ticket, and those it shows only on a full ticket object.
LISTED_FIELDS = ("id", "status", "name", "description", "created_at", "updated_at", "due_date", "assigned_to", "author",
                 "person", "company", "priority", "participants", "segments", "attachments")
FULL_TICKET_FIELDS = ("custom_id", "attributes", "serialized_attributes", "status_history")
# Fields whose value must be present and typed, or the ticket goes to `tickets_rejected`.
REQUIRED_FIELDS = ("id", "updated_at")

TICKETS_TABLE = "tickets"
HISTORY_TABLE = "tickets_history"
REJECTS_TABLE = "tickets_rejected"
HISTORY_FIELDS = (
    "id", "updated_at", "status", "assigned_to__id", "assigned_to__name",
    "priority__id", "priority__name", "due_date",
)
CHILD_KEY = "ticket_id"
CHILD_POSITION = "position"
CHILD_VERSION = "ticket_updated_at"
TOMBSTONE = "_deleted"
# A ticket two complete runs in a row did not list: when the run that confirmed it started (null while live), and the
# live tickets the last complete run did not list (pipelines/deletions.py).
DELETED_AT = "deleted_at"
UNLISTED_TABLE = "tickets_unlisted"
