-- fleet_health: the fleet per minute. An alert counts as open for the hour after it is
-- detected (alerts carry no close event); info alerts are not counted.
with

health as (
    select * from charger_health
),

open_alerts as (
    select detected_at from alerts where severity <> 'info'
),

per_minute as (
    select
        minute,
        count(*) as chargers_reporting,
        count(*) filter (where online) as chargers_online,
        round(100.0 * count(*) filter (where online) / count(*), 2) as online_pct,
        cast(sum(sessions_active) as bigint) as sessions_in_progress,
        coalesce(sum(power_w), 0) / 1000.0 as power_kw,
        avg(response_time_ms) as avg_response_time_ms,
        cast(sum(reconnects) as bigint) as reconnects,
        cast(sum(frames_in) as bigint) as frames_in
    from health
    group by minute
),

-- A range join, not a correlated subquery per minute: a filter on minute then still reaches
-- charger_health's Parquet scan (the subquery made every query aggregate all of it).
alerts_open as (
    select p.minute, count(a.detected_at) as alerts_open
    from per_minute as p
    left join open_alerts as a
        on a.detected_at > p.minute - interval 1 hour
        and a.detected_at < p.minute + interval 1 minute
    group by p.minute
),

final as (
    select p.*, o.alerts_open
    from per_minute as p
    inner join alerts_open as o on o.minute = p.minute
)

select * from final
