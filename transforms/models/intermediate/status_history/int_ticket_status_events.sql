-- One row per ticket x status change up to as_of, oldest first; the first row is the ticket's creation.
--
-- Where a ticket's status changes come from, best first:
--   status_history  the entries the API lists (plus the current status, at updated_at, when the
--                   ticket's status differs from the last entry and is newer);
--   observed        a status that differs from the previous version seen in tickets_history;
--   updated_at      the updated_at of the first version we have, when it is already terminal (we did
--                   not see it close, so updated_at is the best close time we know).
-- A ticket starts at created_at in the first status we know of; if that one is terminal, the ticket
-- is taken to have been 'active' until it was recorded as closed. Changes after as_of, and tickets
-- created after as_of, are left out: every ticket's status at as_of is its last row here.
--
-- Two window passes: over each ticket's known statuses (its history entries, else its versions) in
-- order, for the previous status of each and the first and last of all; over the changes, to number
-- them and date the next one (next_event_at, null for the last).
--
-- With a business-hours schedule, each change also carries the business clock at it (business_clock_us,
-- int_business_windows) and at the next change, or at as_of for the last (next_business_clock_us): the
-- interval's business time is their difference, from the same window pass. Without one both are null.
-- With several schedules the clock is the ticket's schedule's (int_ticket_schedules); schedule_id is the
-- schedule (0, the default, with one; null without one).

with

policy as (

    select * from {{ ref('int_sla_policy') }}

),

tickets as (

    select tickets.ticket_id, tickets.status, tickets.created_at, tickets.updated_at
    from {{ ref('stg_tickets') }} as tickets
    cross join policy
    where tickets.created_at <= policy.as_of

),

history_entries as (

    select
        history.ticket_id,
        history.entered_at as known_at,
        history.entry_position as known_order,
        history.status,
        'status_history' as source
    from {{ ref('stg_ticket_status_history') }} as history
    inner join tickets on tickets.ticket_id = history.ticket_id

),

version_statuses as (

    select
        versions.ticket_id,
        versions.updated_at as known_at,
        versions.version_seq as known_order,
        versions.status,
        -- the first version has no earlier one to have been observed changing from
        case when versions.version_seq = 1 then 'updated_at' else 'observed' end as source
    from {{ ref('int_ticket_versions') }} as versions
    inner join tickets on tickets.ticket_id = versions.ticket_id
    where versions.status is not null
        and not exists (
            select 1 from {{ ref('stg_ticket_status_history') }} as history
            where history.ticket_id = versions.ticket_id
        )

),

known_statuses as (

    select * from history_entries
    union all
    select * from version_statuses

),

sequenced_known_statuses as (

    select
        ticket_id,
        known_at,
        known_order,
        status,
        source,
        lag(status) over (
            partition by ticket_id order by known_at, known_order
        ) as previous_known_status,
        last_value(status) over (
            partition by ticket_id order by known_at, known_order
            rows between unbounded preceding and unbounded following
        ) as last_known_status,
        last_value(known_at) over (
            partition by ticket_id order by known_at, known_order
            rows between unbounded preceding and unbounded following
        ) as last_known_at
    from known_statuses

),

-- each ticket with its first known status (known statuses are never null), which also carries the last
tickets_with_known_statuses as (

    select
        tickets.ticket_id,
        tickets.status,
        tickets.created_at,
        tickets.updated_at,
        first_known.status as first_known_status,
        first_known.source as first_known_source,
        first_known.last_known_status,
        first_known.last_known_at
    from tickets
    left join sequenced_known_statuses as first_known
        on first_known.ticket_id = tickets.ticket_id
        and first_known.previous_known_status is null

),

-- the ticket starts in its first known status, or 'active' when that one is terminal (or in its own
-- status when none is known)
creations as (

    select
        ticket_id,
        created_at as event_at,
        0 as known_group,
        cast(0 as {{ dbt.type_bigint() }}) as known_order,
        case
            when {{ usercom_tickets.is_terminal('first_known_status') }} then 'active'
            else coalesce(first_known_status, status)
        end as status,
        cast(null as {{ dbt.type_string() }}) as previous_status,
        'created' as source
    from tickets_with_known_statuses

),

-- the ticket's own status at updated_at, when it differs from its last history entry and is newer
current_statuses as (

    select
        ticket_id,
        updated_at as event_at,
        1 as known_group,
        cast(9223372036854775807 as {{ dbt.type_bigint() }}) as known_order,
        status,
        last_known_status as previous_status,
        'updated_at' as source
    from tickets_with_known_statuses
    where first_known_source = 'status_history'
        and updated_at >= last_known_at
        and status is distinct from last_known_status

),

-- the first known status follows the creation, whose status it set
known_changes as (

    select
        ticket_id,
        known_at as event_at,
        1 as known_group,
        known_order,
        status,
        case
            when previous_known_status is not null then previous_known_status
            when {{ usercom_tickets.is_terminal('status') }} then 'active'
            else status
        end as previous_status,
        source
    from sequenced_known_statuses

),

candidate_events as (

    select * from creations
    union all
    select * from known_changes
    union all
    select * from current_statuses

),

-- statuses known after as_of come last in each ticket's order, so leaving them out here changes
-- no earlier row's previous status
changes as (

    select candidate_events.*
    from candidate_events
    cross join policy
    where candidate_events.event_at <= policy.as_of
        and candidate_events.previous_status is distinct from candidate_events.status

),

{%- if usercom_tickets.has_business_hours() %}

-- each change with its ticket's schedule: int_ticket_schedules' with several, the only one (0) else
scheduled_changes as (

    {%- if usercom_tickets.has_several_schedules() %}
    select changes.*, schedules.schedule_id
    from changes
    inner join {{ ref('int_ticket_schedules') }} as schedules on schedules.ticket_id = changes.ticket_id
    {%- else %}
    select changes.*, 0 as schedule_id
    from changes
    {%- endif %}

),

as_of_per_schedule as (
    {%- for schedule in usercom_tickets.business_schedules() %}

    select {{ schedule['id'] }} as schedule_id, as_of from policy
    {{- "\n    union all" if not loop.last }}
    {%- endfor %}

),

changes_on_the_clock as (

    {{ usercom_tickets.with_business_clock('scheduled_changes', 'event_at', 'business_clock_us') }}

),

as_of_on_the_clock as (

    {{ usercom_tickets.with_business_clock('as_of_per_schedule', 'as_of', 'as_of_business_clock_us') }}

),

clocked_changes as (

    select changes_on_the_clock.*, as_of_on_the_clock.as_of_business_clock_us
    from changes_on_the_clock
    inner join as_of_on_the_clock on as_of_on_the_clock.schedule_id = changes_on_the_clock.schedule_id

),

{%- else %}

clocked_changes as (

    select * from changes

),

{%- endif %}

classified as (

    select
        ticket_id,
        cast(row_number() over (
            partition by ticket_id order by known_group, event_at, known_order
        ) as {{ dbt.type_bigint() }}) as event_seq,  -- a bigint on every engine (Spark's is an int)
        event_at,
        lead(event_at) over (
            partition by ticket_id order by known_group, event_at, known_order
        ) as next_event_at,
        {%- if usercom_tickets.has_business_hours() %}
        cast(schedule_id as {{ dbt.type_int() }}) as schedule_id,
        {%- else %}
        cast(null as {{ dbt.type_int() }}) as schedule_id,
        {%- endif %}
        {%- if usercom_tickets.has_business_hours() %}
        business_clock_us,
        coalesce(
            lead(business_clock_us) over (
                partition by ticket_id order by known_group, event_at, known_order
            ),
            as_of_business_clock_us
        ) as next_business_clock_us,
        {%- else %}
        cast(null as {{ dbt.type_bigint() }}) as business_clock_us,
        cast(null as {{ dbt.type_bigint() }}) as next_business_clock_us,
        {%- endif %}
        status,
        previous_status,
        source,
        coalesce(
            {{ usercom_tickets.is_terminal('status') }}
            and not {{ usercom_tickets.is_terminal('previous_status') }},
            false
        ) as is_closure,
        coalesce(
            {{ usercom_tickets.is_terminal('previous_status') }}
            and not {{ usercom_tickets.is_terminal('status') }},
            false
        ) as is_reopen
    from clocked_changes

)

select * from classified
