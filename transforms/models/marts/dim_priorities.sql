-- One row per priority seen on any ticket or ticket version, and -1 for "no priority".

with

priorities as (

    select * from {{ ref('int_priorities') }}

)

select
    priority_id,
    priority_name,
    priority_order,
    sla_target_hours,
    uses_default_target
from priorities
