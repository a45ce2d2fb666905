-- alerts: one row per alert_id (ids are deterministic, so a repeat is the same alert);
-- a repeat keeps the first detection.
with

source as (
    select * from raw_alerts
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
        cast(detected_at as timestamptz) as detected_at,
        cast(event_time as timestamptz) as event_time,
        value,
        unit,
        message,
        frame_id,
        detail
    from deduped
)

select * from final
