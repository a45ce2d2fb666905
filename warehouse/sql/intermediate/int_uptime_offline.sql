-- int_uptime_offline: per charger, the periods it could not be reached (server clock, UTC).
-- evidence 'disconnected': no connection open. Each connection lasts from its `connected`
-- record to its `disconnected` (or `replaced`) record; one whose end was never journaled
-- (our server died under it) until the charger's next connection, or the fleet clock. The
-- union of its connections is online; the gaps between, and the time after the last one, are
-- offline. A charger with no connection records at all (an imported log) gets none.
-- evidence 'silent': connected, but no frame from it for longer than its heartbeat pace
-- allows (charger_health minutes with frames_in = 0, from the first minute that starts
-- silent_after_s after the end of the last minute it was heard in; silent_after_s =
-- max(360 s, 2 x its median heartbeat interval)), to the minute.
with

clock as (
    select as_of from int_uptime_clock
),

records as (
    select distinct
        frame_id,
        charge_point_id,
        connection_id,
        record_kind,
        cast(received_at as timestamptz) as received_at
    from raw_frames
    where record_kind in ('connected', 'disconnected', 'replaced')
),

connections as (
    select
        charge_point_id,
        connection_id,
        min(received_at) filter (where record_kind = 'connected') as connected_at,
        min(received_at) filter (where record_kind <> 'connected') as ended_at
    from records
    group by charge_point_id, connection_id
),

bounded as (
    select
        n.charge_point_id,
        n.connected_at,
        coalesce(
            n.ended_at,
            lead(n.connected_at) over (
                partition by n.charge_point_id order by n.connected_at
            ),
            c.as_of
        ) as ended_at,
        c.as_of
    from connections as n
    cross join clock as c
    where n.connected_at is not null
),

reached as (
    select
        *,
        max(ended_at) over (
            partition by charge_point_id order by connected_at, ended_at
            rows between unbounded preceding and 1 preceding
        ) as reach
    from bounded
),

gaps as (
    select charge_point_id, reach as down_from, connected_at as down_until
    from reached
    where reach is not null and connected_at > reach
),

tails as (
    select charge_point_id, max(ended_at) as down_from, any_value(as_of) as down_until
    from bounded
    group by charge_point_id
    having max(ended_at) < any_value(as_of)
),

health as (
    select charge_point_id, minute, online, frames_in, heartbeat_interval_s
    from charger_health
),

pace as (
    select
        charge_point_id,
        greatest(360.0, 2 * coalesce(median(heartbeat_interval_s), 0)) as silent_after_s
    from health
    group by charge_point_id
),

heard as (
    select
        *,
        max(case when frames_in > 0 then minute end) over (
            partition by charge_point_id order by minute
            rows between unbounded preceding and current row
        ) as heard_minute
    from health
),

silent_minutes as (
    select h.charge_point_id, h.minute
    from heard as h
    inner join pace as p using (charge_point_id)
    where h.online
        and h.frames_in = 0
        and h.heard_minute is not null
        and h.minute >= h.heard_minute + interval 1 minute + to_seconds(p.silent_after_s)
),

silent_runs as (
    select
        charge_point_id,
        minute,
        minute - to_minutes(
            row_number() over (partition by charge_point_id order by minute)
        ) as run
    from silent_minutes
),

silent as (
    select
        charge_point_id,
        min(minute) as down_from,
        max(minute) + interval 1 minute as down_until
    from silent_runs
    group by charge_point_id, run
),

final as (
    select charge_point_id, 'disconnected' as evidence, down_from, down_until from gaps
    union all
    select charge_point_id, 'disconnected', down_from, down_until from tails
    union all
    select charge_point_id, 'silent', down_from, down_until from silent
)

select * from final
