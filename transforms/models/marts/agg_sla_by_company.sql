-- One row per company (-1: tickets without one) x ISO week of created_at: how the tickets created that
-- week fare, as of as_of.

{{ usercom_tickets.weekly_sla_mart('company', 'dim_companies', 'company_id', 'company_name') }}
