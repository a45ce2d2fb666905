-- sessions: one row per session, its latest version, with energy in kWh and duration.
with

versions as (
    select * from session_versions
),

latest as (
    select *
    from versions
    qualify row_number() over (
        partition by charge_point_id, session_id order by version desc, updated_at desc
    ) = 1
),

final as (
    select
        *,
        energy_wh / 1000.0 as energy_kwh,
        date_diff('millisecond', started_at, stopped_at) / 1000.0 as duration_s
    from latest
)

select * from final
