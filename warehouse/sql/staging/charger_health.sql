-- charger_health: one row per charger per minute; a minute written twice keeps the row with
-- the latest updated_at (the flow may revise a minute while it is still open).
-- Times are cast in ``source``, before the dedup, so that a filter on them reaches the
-- Parquet scan (a cast above the dedup kept it from there: a full scan per query).
with

source as (
    select
        * replace (
            cast(minute as timestamptz) as minute,
            cast(updated_at as timestamptz) as updated_at
        )
    from raw_charger_health
),

deduped as (
    select *
    from source
    qualify row_number() over (
        partition by charge_point_id, minute order by updated_at desc
    ) = 1
),

final as (
    select * from deduped
)

select * from final
