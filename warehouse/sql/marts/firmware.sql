-- firmware: firmware versions across the fleet, with boot-loop alerts on chargers running them.
with

status as (
    select * from charger_status
),

boot_loops as (
    select charge_point_id, count(*) as boot_loop_alerts
    from alerts
    where kind = 'boot_loop'
    group by charge_point_id
),

final as (
    select
        s.vendor,
        s.model,
        s.firmware_version,
        count(*) as chargers,
        count(*) filter (where s.online) as chargers_online,
        round(100.0 * count(*) / sum(count(*)) over (), 2) as fleet_pct,
        cast(coalesce(sum(b.boot_loop_alerts), 0) as bigint) as boot_loop_alerts,
        count(b.charge_point_id) as chargers_with_boot_loops,
        max(s.last_minute) as last_minute
    from status as s
    left join boot_loops as b on b.charge_point_id = s.charge_point_id
    group by s.vendor, s.model, s.firmware_version
)

select * from final
