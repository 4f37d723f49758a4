-- A ticket closed at as_of has a close time and a source for it; an open one was either never
-- closed or reopened since; last close is never before first close.

select ticket_id, status, first_closed_at, last_closed_at, closed_at_source, reopen_count
from {{ ref('fct_tickets') }}
where (not is_open and (first_closed_at is null or closed_at_source is null))
    or (is_open and first_closed_at is not null and reopen_count = 0)
    or last_closed_at < first_closed_at
    or (first_closed_at is null and closed_at_source is not null)
    or (first_closed_at is not null and closed_at_source is null)
