-- events: canonical events, one row per event_id.
-- Times are cast in ``source``, before the dedup, so that a filter on them reaches the
-- Parquet scan (a cast above the dedup kept it from there: a full scan per query).
with

source as (
    select
        * replace (
            cast(server_received_at as timestamptz) as server_received_at,
            cast(charger_at as timestamptz) as charger_at
        )
    from raw_events
),

deduped as (
    select *
    from source
    qualify row_number() over (
        partition by charge_point_id, server_received_at, event_id order by adapter
    ) = 1
),

final as (
    select * from deduped
)

select * from final
