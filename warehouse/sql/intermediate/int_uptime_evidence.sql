-- int_uptime_evidence: every period a port is down by the evidence, one row per piece of it
-- (they may overlap; int_port_downtime resolves overlaps by downtime_causes.precedence).
-- cause (canonical.uptime.DowntimeCause):
--   offline        the charger unreachable (int_uptime_offline), for every one of its ports
--   faulted        the port, or its whole charger, said Faulted (int_uptime_status)
--   unavailable    ... said Unavailable; evidence says whether an operator's
--                  ChangeAvailability was accepted in the 10 minutes before
--   failed_starts  FAILED_IN_A_ROW (2) or more attempts in a row refused or delivering no
--                  energy (int_uptime_attempts): down from the first of them until the next
--                  attempt that delivered, or the fleet clock. One failure alone is a
--                  driver's bad luck as often as a broken port: counted, not down.
-- Clipped to the port's window (int_uptime_ports); server clock, UTC.
with

ports as (
    select * from int_uptime_ports
),

offline as (
    select
        p.charge_point_id,
        p.port_id,
        'offline' as cause,
        o.evidence,
        greatest(o.down_from, p.first_seen_at) as down_from,
        least(o.down_until, p.as_of) as down_until
    from int_uptime_offline as o
    inner join ports as p using (charge_point_id)
),

commanded as (
    select charge_point_id, finished_at
    from commands
    where action = 'ChangeAvailability'
        and status in ('Accepted', 'Scheduled')
        and (payload like '%Inoperative%')
),

claimed as (
    select
        s.charge_point_id,
        s.port_id,
        lower(s.status) as cause,
        case
            when s.status = 'Faulted'
                then 'Faulted' || coalesce(' (' || s.error_code || ')', '')
            when exists (
                select 1 from commanded as c
                where c.charge_point_id = s.charge_point_id
                    and c.finished_at between s.span_from - interval 10 minute and s.span_from
            ) then 'Unavailable after an operator ChangeAvailability'
            else 'Unavailable'
        end || case when s.charger_wide then ', whole charger' else '' end as evidence,
        s.span_from as down_from,
        s.span_until as down_until
    from int_uptime_status as s
    where s.status in ('Faulted', 'Unavailable')
),

attempts as (
    select
        *,
        sum(case when outcome = 'delivered' then 1 else 0 end) over (
            partition by charge_point_id, port_id order by attempted_at, about
            rows between unbounded preceding and current row
        ) as run
    from int_uptime_attempts
),

runs as (
    select
        charge_point_id,
        port_id,
        run,
        min(attempted_at) filter (where outcome <> 'delivered') as failed_from,
        count(*) filter (where outcome = 'no_energy') as no_energy,
        count(*) filter (where outcome = 'refused') as refused
    from attempts
    group by charge_point_id, port_id, run
),

streaks as (
    select
        r.charge_point_id,
        r.port_id,
        'failed_starts' as cause,
        r.refused || ' refused, ' || r.no_energy || ' without energy in a row' as evidence,
        greatest(r.failed_from, p.first_seen_at) as down_from,
        least(coalesce(n.attempted_at, p.as_of), p.as_of) as down_until
    from runs as r
    inner join ports as p using (charge_point_id, port_id)
    left join attempts as n
        on n.charge_point_id = r.charge_point_id
        and n.port_id = r.port_id
        and n.run = r.run + 1
        and n.outcome = 'delivered'
    where r.no_energy + r.refused >= 2
),

final as (
    select * from offline where down_from < down_until
    union all
    select * from claimed
    union all
    select * from streaks where down_from < down_until
)

select * from final
