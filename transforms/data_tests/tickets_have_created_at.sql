-- Every ticket has a creation time: without one it cannot be placed in time and would drop out of
-- the marts unnoticed.

select ticket_id, status, updated_at
from analytics.stg_tickets
where created_at is null
