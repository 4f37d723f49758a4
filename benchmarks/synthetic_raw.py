"""Synthetic raw tables, as the pipeline loads them, generated in DuckDB SQL: thousands to millions of
varied tickets in seconds, for the marts' scale test and the marts build benchmark."""

from __future__ import annotations

from pathlib import Path

import duckdb

# Status sequences a ticket goes through; some run past as_of.
PATTERNS = """[
    ['active'],
    ['active', 'closed'],
    ['active', 'draft', 'active', 'closed'],
    ['active', 'closed', 'active', 'closed', 'archived'],
    ['draft', 'active', 'closed', 'archived'],
    ['active', 'draft'],
    ['closed']
]"""

SYNTHETIC_RAW_TABLES = f"""
create schema usercom;

create temp table generated as
with drawn as (
    select
        i as id,
        timestamptz '2024-06-30 12:00:00+00' - to_minutes(cast(hash(i, 'created') % (400 * 24 * 60) as bigint)) as created_at,
        {PATTERNS}[cast(hash(i, 'pattern') % 7 as int) + 1] as statuses,
        to_hours(cast(1 + hash(i, 'step') % 96 as bigint)) as step,
        hash(i, 'history') % 5 = 0 as without_history,
        cast(hash(i, 'priority') % 5 as bigint) as priority_no,
        cast(hash(i, 'agent') % 60 as bigint) as agent_no,
        hash(i, 'due') % 10 as due_no
    from range(1, getvariable('tickets') + 1) as r(i)
)
select
    *,
    created_at + step * (len(statuses) - 1) as updated_at,
    statuses[-1] as status
from drawn;

create table usercom.tickets as
select
    id,
    status,
    'Ticket ' || id as name,
    'Synthetic ticket' as description,
    created_at,
    updated_at,
    case when due_no < 7 then created_at + to_hours(cast(4 + hash(id, 'due_h') % 200 as bigint)) end as due_date,
    'C-' || id as custom_id,
    case when agent_no < 50 then agent_no + 1 end as assigned_to__id,
    case when agent_no < 50 then 'Agent ' || (agent_no + 1) end as assigned_to__name,
    case when agent_no < 50 then 'http://some.user.com/static/img/agent.svg' end as assigned_to__avatar,
    cast(hash(id, 'author') % 50 + 1 as bigint) as author__id,
    'Agent ' || (hash(id, 'author') % 50 + 1) as author__name,
    'http://some.user.com/static/img/agent.svg' as author__avatar,
    case when priority_no < 4 then priority_no + 1 end as priority__id,
    ['Urgent', 'High', 'Medium', 'Low'][cast(priority_no as int) + 1] as priority__name,
    case when priority_no < 4 then priority_no + 1 end as priority__order,
    id % 1000 as person__id,
    'Person ' || (id % 1000) as person__name,
    'person' || (id % 1000) || '@example.com' as person__email,
    'dlt' || id as _dlt_id,
    '1719748800.0' as _dlt_load_id
from generated;

create table usercom.tickets__status_history as
select
    id as ticket_id,
    cast(position - 1 as bigint) as position,
    created_at + step * (position - 1) as entered_at,
    statuses[position] as status,
    'dlt' || id || 'h' || position as _dlt_id,
    'dlt' || id as _dlt_parent_id,
    'dlt' || id as _dlt_root_id,
    cast(position - 1 as bigint) as _dlt_list_idx
from generated, range(1, len(statuses) + 1) as p(position)
where not without_history;

create table usercom.tickets_history as
select
    tickets.id,
    versions.updated_at,
    versions.status,
    tickets.assigned_to__id,
    tickets.assigned_to__name,
    tickets.priority__id,
    tickets.priority__name,
    tickets.due_date,
    versions.updated_at + interval 10 minute as valid_from,
    versions.valid_to
from usercom.tickets
inner join (
    -- tickets without status_history: their first version too; every ticket: its current one
    select id, created_at as updated_at, statuses[1] as status, updated_at + interval 10 minute as valid_to
    from generated
    where without_history and len(statuses) > 1
    union all
    select id, updated_at, status, null
    from generated
) as versions using (id);
"""


def write_synthetic_raw_tables(db_path: Path, tickets: int) -> None:
    """Generate ``tickets`` synthetic tickets as the pipeline's raw tables in ``db_path``."""
    with duckdb.connect(str(db_path)) as con:
        con.execute(f"set variable tickets = {int(tickets)}")
        con.execute(SYNTHETIC_RAW_TABLES)
