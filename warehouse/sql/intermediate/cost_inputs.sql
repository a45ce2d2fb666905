-- cost_inputs: what session_tariffs prices, one row per session (any status): its charger,
-- start, end (the stop; for a session not stopped, its latest evidence so far), energy so far
-- (Wh) and peak power (W). warehouse.cost.cost_of puts its own one row here instead.
with

sessions_now as (
    select * from sessions
),

final as (
    select
        session_id,
        charge_point_id,
        started_at,
        coalesce(stopped_at, last_event_at) as ended_at,
        energy_wh,
        max_power_w
    from sessions_now
)

select * from final
