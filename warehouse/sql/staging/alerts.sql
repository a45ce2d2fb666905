-- alerts: one row per alert_id (ids are deterministic, so a repeat is the same alert);
-- a repeat keeps the first detection.
-- Times are cast in ``source``, before the dedup, so that a filter on them reaches the
-- Parquet scan (a cast above the dedup kept it from there: a full scan per query).
with

source as (
    select
        * replace (
            cast(detected_at as timestamptz) as detected_at,
            cast(event_time as timestamptz) as event_time
        )
    from raw_alerts
),

deduped as (
    select *
    from source
    qualify row_number() over (
        partition by charge_point_id, alert_id order by detected_at
    ) = 1
),

final as (
    select
        alert_id,
        kind,
        severity,
        charge_point_id,
        session_id,
        connector_id,
        detected_at,
        event_time,
        value,
        unit,
        message,
        frame_id,
        detail
    from deduped
)

select * from final
