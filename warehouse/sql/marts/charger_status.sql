-- charger_status: one row per charger, as of its latest health minute. A charger whose latest
-- minute is more than 5 minutes behind the fleet's latest minute counts as offline (stale).
with

health as (
    select * from charger_health
),

latest as (
    select
        charge_point_id,
        max(minute) as last_minute,
        arg_max(online, minute) as reported_online,
        max(minute) filter (where frames_in > 0) as last_seen_at,
        arg_max(vendor, minute) filter (where vendor is not null) as vendor,
        arg_max(model, minute) filter (where model is not null) as model,
        arg_max(firmware_version, minute)
            filter (where firmware_version is not null) as firmware_version,
        arg_max(drift_s, minute) filter (where drift_s is not null) as drift_s,
        arg_max(heartbeat_interval_s, minute)
            filter (where heartbeat_interval_s is not null) as heartbeat_interval_s,
        arg_max(response_time_ms, minute)
            filter (where response_time_ms is not null) as response_time_ms,
        arg_max(sessions_active, minute) as sessions_active,
        arg_max(power_w, minute) as power_w
    from health
    group by charge_point_id
),

fleet as (
    select max(last_minute) as fleet_minute from latest
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
