-- One row per priority x ISO week of created_at: how the tickets created that week fare, as of as_of.

{{ usercom_tickets.weekly_sla_mart('priority', 'dim_priorities', 'priority_id', 'priority_name') }}
