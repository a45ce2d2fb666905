-- charger_status: one row per charger ever reported, as of its latest health minute however
-- long ago that was. A charger whose latest minute is more than 5 minutes behind the fleet's
-- latest minute counts as offline (stale): a charger silent for days stays listed, offline,
-- with its last-seen time.
--
-- It reads charger_last, not charger_health: the writer of charger_health keeps there, per
-- write, each charger's state folded from the rows written (warehouse/charger_last.py), and
-- folds the table into one file every 16 writes. So this reads a few small files whatever
-- the history (it read the last 2 days of charger_health before: a charger silent longer
-- dropped out of the list, and every health file was opened to find those days).
-- version_key orders the folded rows by minute, then write time, as charger_health's dedup
-- orders a minute's writes; an attribute the latest row lacks comes from the latest row that
-- has it, except power_w: null when the latest minute had no power (arg_max_null; arg_max
-- skips nulls, so a charger that had stopped charging kept counting its last power).
with

folded as (
    select
        * replace (
            cast(last_minute as timestamptz) as last_minute,
            cast(last_seen_at as timestamptz) as last_seen_at
        ),
        (epoch_ns(last_minute)::hugeint << 64) + epoch_ns(updated_at) as version_key
    from raw_charger_last
),

fleet as (
    select max(last_minute) as fleet_minute from folded
),

latest as (
    select
        charge_point_id,
        max(last_minute) as last_minute,
        arg_max(online, version_key) as reported_online,
        max(last_seen_at) as last_seen_at,
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
        arg_max_null(power_w, version_key) as power_w
    from folded
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
