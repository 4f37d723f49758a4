-- Helpers every model may call; created before the models, in schema analytics.

-- Calendar hours from one instant to another (negative when `to_ts` comes first).
create or replace macro analytics.hours_between(from_ts, to_ts) as
    (epoch_us(to_ts) - epoch_us(from_ts)) / 3600e6;

-- An instant shifted by a (possibly fractional) number of hours.
create or replace macro analytics.add_hours(ts, hours) as
    ts + to_microseconds(cast(round(hours * 3600e6) as bigint));

-- The UTC calendar day of an instant, whatever the session's time zone.
create or replace macro analytics.utc_date(ts) as
    cast(timezone('UTC', ts) as date);

-- Rates shared by the SLA aggregates (aggregate expressions: use them in a grouped select).

-- Share of tickets closed by their due date, among tickets with a due date that were closed.
create or replace macro analytics.on_time_rate(closed_on_time) as
    avg(cast(closed_on_time as double));

-- Share of breached tickets among those whose SLA outcome is known (breached, or closed in time).
create or replace macro analytics.breach_rate(is_sla_breached, is_sla_active) as
    count_if(is_sla_breached) / nullif(count_if(not is_sla_active), 0);

-- Share of tickets reopened at least once, among tickets closed at least once.
create or replace macro analytics.reopen_rate(reopen_count, first_closed_at) as
    count_if(reopen_count > 0) / nullif(count(first_closed_at), 0);
