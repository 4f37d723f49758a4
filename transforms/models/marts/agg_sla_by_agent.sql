-- One row per agent (current assignee) x ISO week of created_at: how the tickets created that week fare, as of as_of.

{{ usercom_tickets.weekly_sla_mart('agent', 'dim_agents', 'agent_id', 'agent_name') }}
