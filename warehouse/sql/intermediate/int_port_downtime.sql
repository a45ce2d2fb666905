-- int_port_downtime: each port's window cut into segments at every edge of its evidence, of
-- its self-reported Faulted / Unavailable spans, of the operator's exclusions and at every
-- UTC midnight; one row per segment, so seconds add up by day, month or cause without
-- counting an overlap twice.
--   cause               the evidence's cause of highest precedence covering the segment
--                       (downtime_causes), null when the port was up
--   excluded_category   an operator's exclusion covering it (raw_uptime_exclusions), else
--                       null; it only matters where cause is not null (T_excluded counts
--                       excluded *outage*, 23 CFR 680.116(b)(4))
--   self_reported_down  the port's own status said Faulted or Unavailable (what a vendor
--                       dashboard counts), whatever the evidence
with

ports as (
    select * from int_uptime_ports
),

evidence as (
    select e.*, c.precedence
    from int_uptime_evidence as e
    inner join downtime_causes as c using (cause)
),

claimed as (
    select charge_point_id, port_id, span_from, span_until
    from int_uptime_status
    where status in ('Faulted', 'Unavailable')
),

recorded as (
    select distinct on (exclusion_id) *
    from raw_uptime_exclusions
),

excluded as (
    select
        p.charge_point_id,
        p.port_id,
        x.exclusion_id,
        x.category,
        greatest(cast(x.excluded_from as timestamptz), p.first_seen_at) as excluded_from,
        least(cast(x.excluded_until as timestamptz), p.as_of) as excluded_until
    from recorded as x
    inner join ports as p
        on p.charge_point_id = x.charge_point_id
        and (x.connector_id is null or x.connector_id = p.port_id)
),

midnights as (
    select
        charge_point_id,
        port_id,
        unnest(generate_series(
            date_trunc('day', first_seen_at) + interval 1 day, as_of, interval 1 day
        )) as edge_at
    from ports
),

edges as (
    select charge_point_id, port_id, first_seen_at as edge_at from ports
    union
    select charge_point_id, port_id, as_of from ports
    union
    select charge_point_id, port_id, edge_at from midnights
    union
    select charge_point_id, port_id, down_from from evidence
    union
    select charge_point_id, port_id, down_until from evidence
    union
    select charge_point_id, port_id, span_from from claimed
    union
    select charge_point_id, port_id, span_until from claimed
    union
    select charge_point_id, port_id, excluded_from from excluded
    union
    select charge_point_id, port_id, excluded_until from excluded
),

cuts as (
    select
        e.charge_point_id,
        e.port_id,
        e.edge_at as segment_from,
        lead(e.edge_at) over (partition by e.charge_point_id, e.port_id order by e.edge_at) as segment_until
    from edges as e
    inner join ports as p using (charge_point_id, port_id)
    where e.edge_at >= p.first_seen_at and e.edge_at <= p.as_of
),

segments as (
    select * from cuts where segment_until is not null
),

caused as (
    select s.charge_point_id, s.port_id, s.segment_from, arg_min(v.cause, v.precedence) as cause
    from segments as s
    inner join evidence as v
        on v.charge_point_id = s.charge_point_id
        and v.port_id = s.port_id
        and v.down_from <= s.segment_from
        and v.down_until >= s.segment_until
    group by all
),

exempt as (
    select
        s.charge_point_id,
        s.port_id,
        s.segment_from,
        arg_min(x.category, x.exclusion_id) as excluded_category,
        min(x.exclusion_id) as exclusion_id
    from segments as s
    inner join excluded as x
        on x.charge_point_id = s.charge_point_id
        and x.port_id = s.port_id
        and x.excluded_from <= s.segment_from
        and x.excluded_until >= s.segment_until
    group by all
),

said_down as (
    select distinct s.charge_point_id, s.port_id, s.segment_from
    from segments as s
    inner join claimed as c
        on c.charge_point_id = s.charge_point_id
        and c.port_id = s.port_id
        and c.span_from <= s.segment_from
        and c.span_until >= s.segment_until
),

final as (
    select
        s.charge_point_id,
        s.port_id,
        cast(s.segment_from as date) as day,
        s.segment_from,
        s.segment_until,
        epoch(s.segment_until) - epoch(s.segment_from) as duration_s,
        c.cause,
        x.excluded_category,
        x.exclusion_id,
        d.segment_from is not null as self_reported_down
    from segments as s
    left join caused as c using (charge_point_id, port_id, segment_from)
    left join exempt as x using (charge_point_id, port_id, segment_from)
    left join said_down as d using (charge_point_id, port_id, segment_from)
)

select * from final
