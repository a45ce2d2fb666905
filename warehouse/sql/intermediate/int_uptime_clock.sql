-- int_uptime_clock: one row, as_of: how far the warehouse's evidence reaches (server clock,
-- UTC) — the later of the latest event received and the end of the fleet's latest closed
-- health minute. Uptime is counted up to it, never past it. max() needs no dedup; one column
-- of the raw events is scanned (~0.1 s for 30 M rows).
with

health as (
    select max(cast(last_minute as timestamptz)) + interval 1 minute as reached
    from raw_charger_last
),

events as (
    select cast(max(server_received_at) as timestamptz) as reached
    from raw_events
),

final as (
    select greatest(h.reached, e.reached) as as_of
    from health as h
    cross join events as e
)

select * from final
