-- bounded_events: ``events`` narrowed before its dedup (see bounded_frames), bounds on
-- server_received_at.
-- Times are cast in ``source``, before the dedup, so that a filter on them reaches the
-- Parquet scan (a cast above the dedup kept it from there: a full scan per query).
create macro bounded_events(only_charge_point_id, received_from, received_until) as table
with

source as (
    select
        * replace (
            cast(server_received_at as timestamptz) as server_received_at,
            cast(charger_at as timestamptz) as charger_at
        )
    from raw_events
    where (only_charge_point_id is null or charge_point_id = only_charge_point_id)
        and (received_from is null or server_received_at >= received_from)
        and (received_until is null or server_received_at < received_until)
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
