-- session_versions: every version of every session, one row per (session_id, version);
-- a version written twice keeps its latest updated_at.
-- Times are cast in ``source``, before the dedup, so that a filter on them reaches the
-- Parquet scan (a cast above the dedup kept it from there: a full scan per query).
with

source as (
    select
        * replace (
            cast(started_at as timestamptz) as started_at,
            cast(stopped_at as timestamptz) as stopped_at,
            cast(last_event_at as timestamptz) as last_event_at,
            cast(updated_at as timestamptz) as updated_at
        )
    from raw_sessions
),

deduped as (
    select *
    from source
    qualify row_number() over (
        partition by charge_point_id, session_id, version order by updated_at desc
    ) = 1
),

final as (
    select * from deduped
)

select * from final
