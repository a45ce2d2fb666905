-- int_uptime_attempts: every attempt to charge at a port and how it went. outcome:
-- 'delivered' (a finished session with energy_wh >= 1 Wh: the register's resolution),
-- 'no_energy' (a finished session below that), 'refused' (the charger answered a
-- RemoteStartTransaction / RequestStartTransaction with Rejected; without a connectorId /
-- evseId, every port of the charger). Left out: sessions without a meter reading
-- (energy_wh null: unknown, not zero), still running, void (phantom_of), or whose driver
-- we refused (start_refused: the token, not the port). attempted_at: the session's corrected start,
-- the refusal's answer time.
with

ports as (
    select * from int_uptime_ports
),

finished as (
    select
        charge_point_id,
        coalesce(evse_id, connector_id) as port_id,
        started_at as attempted_at,
        session_id as about,
        case when energy_wh >= 1.0 then 'delivered' else 'no_energy' end as outcome
    from sessions
    where status in ('completed', 'abandoned')
        and started_at is not null
        and energy_wh is not null
        and not list_has_any(flags, ['phantom_of', 'start_refused'])
),

refusals as (
    select
        charge_point_id,
        coalesce(
            try_cast(json_extract_string(payload, '$.connectorId') as bigint),
            try_cast(json_extract_string(payload, '$.evseId') as bigint)
        ) as port_id,
        finished_at as attempted_at,
        command_id as about,
        'refused' as outcome
    from commands
    where action in ('RemoteStartTransaction', 'RequestStartTransaction')
        and outcome = 'answered'
        and status = 'Rejected'
),

placed as (
    select r.charge_point_id, p.port_id, r.attempted_at, r.about, r.outcome
    from refusals as r
    inner join ports as p
        on p.charge_point_id = r.charge_point_id
        and (r.port_id = p.port_id or r.port_id is null or r.port_id = 0)
),

final as (
    select * from finished where port_id > 0
    union all
    select * from placed
)

select * from final
