-- port_uptime_daily: per port (charge_point_id, port_id) per UTC day, the seconds observed,
-- down by the evidence (by cause), excluded, and down by the port's own status; uptime in
-- percent the way 23 CFR 680.116(b)(3) counts it, over the observed part of the day:
--   uptime_pct = 100 x (observed - (outage - excluded)) / observed
-- Minutes (the regulation's unit) are seconds / 60; add seconds or minutes, never percents.
with

segments as (
    select * from int_port_downtime
),

attempts as (
    select
        charge_point_id,
        port_id,
        cast(attempted_at as date) as day,
        count(*) filter (where outcome = 'delivered') as sessions_delivered,
        count(*) filter (where outcome = 'no_energy') as sessions_no_energy,
        count(*) filter (where outcome = 'refused') as starts_refused
    from int_uptime_attempts
    group by all
),

daily as (
    select
        charge_point_id,
        port_id,
        day,
        sum(duration_s) as observed_s,
        coalesce(sum(duration_s) filter (where cause is not null), 0) as outage_s,
        coalesce(sum(duration_s) filter (
            where cause is not null and excluded_category is not null), 0) as excluded_s,
        coalesce(sum(duration_s) filter (where cause = 'offline'), 0) as offline_s,
        coalesce(sum(duration_s) filter (where cause = 'faulted'), 0) as faulted_s,
        coalesce(sum(duration_s) filter (where cause = 'unavailable'), 0) as unavailable_s,
        coalesce(sum(duration_s) filter (where cause = 'failed_starts'), 0) as failed_starts_s,
        coalesce(sum(duration_s) filter (where self_reported_down), 0) as self_reported_down_s
    from segments
    group by all
),

final as (
    select
        d.charge_point_id,
        d.port_id,
        d.day,
        d.observed_s,
        d.outage_s,
        d.excluded_s,
        d.outage_s - d.excluded_s as counted_outage_s,
        d.offline_s,
        d.faulted_s,
        d.unavailable_s,
        d.failed_starts_s,
        d.self_reported_down_s,
        d.observed_s / 60 as observed_min,
        (d.outage_s - d.excluded_s) / 60 as counted_outage_min,
        round(100 * (d.observed_s - (d.outage_s - d.excluded_s)) / d.observed_s, 3)
            as uptime_pct,
        round(100 * (d.observed_s - d.self_reported_down_s) / d.observed_s, 3)
            as self_reported_uptime_pct,
        coalesce(a.sessions_delivered, 0) as sessions_delivered,
        coalesce(a.sessions_no_energy, 0) as sessions_no_energy,
        coalesce(a.starts_refused, 0) as starts_refused
    from daily as d
    left join attempts as a using (charge_point_id, port_id, day)
    where d.observed_s > 0
)

select * from final
