-- alerts: one row per alert_id standing (ids are deterministic, so a repeat is the same
-- alert); a repeat keeps the first detection. An alert whose latest row withdraws it (later
-- evidence showed the finding wrong: withdrawn_at, at or after its detection) is not listed;
-- raised again after that, it is.
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
    where withdrawn_at is null
    qualify row_number() over (
        partition by charge_point_id, alert_id order by detected_at
    ) = 1
),

withdrawn as (
    select charge_point_id, alert_id, max(withdrawn_at) as withdrawn_at
    from raw_alerts
    where withdrawn_at is not null
    group by all
),

raised_again as (
    select charge_point_id, alert_id, max(cast(detected_at as timestamptz)) as raised_at
    from raw_alerts
    where withdrawn_at is null
    group by all
),

standing as (
    select d.*
    from deduped as d
    left join withdrawn as w using (charge_point_id, alert_id)
    left join raised_again as r using (charge_point_id, alert_id)
    where w.withdrawn_at is null or r.raised_at > cast(w.withdrawn_at as timestamptz)
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
    from standing
)

select * from final
