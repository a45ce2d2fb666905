-- events: canonical events, one row per event_id.
with

source as (
    select * from raw_events
),

deduped as (
    select *
    from source
    qualify row_number() over (
        partition by charge_point_id, server_received_at, event_id order by adapter
    ) = 1
),

final as (
    select
        * replace (
            cast(server_received_at as timestamptz) as server_received_at,
            cast(charger_at as timestamptz) as charger_at
        )
    from deduped
)

select * from final
