-- charger_status: one row per charger, as of its latest health minute. A charger whose latest
-- minute is more than 5 minutes behind the fleet's latest minute counts as offline (stale).
--
-- Only health minutes within 2 days of the fleet's latest minute are read: the flow writes a
-- row per known charger per minute while it runs, so every charger's latest row lies there,
-- and the bound keeps this from reading all of charger_health (43 M rows at 30 days x 1,000
-- chargers: 14 s; bounded: 0.25 s). A charger without a row in those 2 days is left out, and a
-- column it last reported earlier (e.g. response_time_ms of a charger offline for days) is null.
-- It reads raw_charger_health rather than the deduplicated view: a dedup per (charger, minute)
-- costs seconds even over 2 days, and the latest row per charger needs none. version_key
-- orders rows by minute, then updated_at, so a minute written twice counts as its latest write
-- (as charger_health's dedup keeps it); a column that write left null takes the value of the
-- latest row that has one.
with

fleet as (
    select max(minute) as fleet_minute from raw_charger_health
),

-- The comparison on the raw minute reaches the Parquet scan (as a dynamic filter).
recent as (
    select
        * replace (cast(minute as timestamptz) as minute),
        (epoch_ns(minute)::hugeint << 64) + epoch_ns(updated_at) as version_key
    from raw_charger_health
    where minute >= (select fleet_minute - interval 2 day from fleet)
),

latest as (
    select
        charge_point_id,
        max(minute) as last_minute,
        arg_max(online, version_key) as reported_online,
        max(minute) filter (where frames_in > 0) as last_seen_at,
        arg_max(vendor, version_key) filter (where vendor is not null) as vendor,
        arg_max(model, version_key) filter (where model is not null) as model,
        arg_max(firmware_version, version_key)
            filter (where firmware_version is not null) as firmware_version,
        arg_max(drift_s, version_key) filter (where drift_s is not null) as drift_s,
        arg_max(heartbeat_interval_s, version_key)
            filter (where heartbeat_interval_s is not null) as heartbeat_interval_s,
        arg_max(response_time_ms, version_key)
            filter (where response_time_ms is not null) as response_time_ms,
        arg_max(sessions_active, version_key) as sessions_active,
        arg_max(power_w, version_key) as power_w
    from recent
    group by charge_point_id
),

final as (
    select
        l.charge_point_id,
        l.reported_online
            and l.last_minute >= f.fleet_minute - interval 5 minute as online,
        l.last_seen_at,
        l.last_minute,
        l.vendor,
        l.model,
        l.firmware_version,
        l.drift_s,
        l.heartbeat_interval_s,
        l.response_time_ms,
        l.sessions_active,
        l.power_w
    from latest as l
    cross join fleet as f
)

select * from final
