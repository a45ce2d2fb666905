-- int_uptime_ports: every charging port that ever showed itself — a 1.6 connector, a 2.0.1
-- EVSE (port_id = coalesce(evse_id, connector_id), above 0) — and the window its uptime is
-- counted over: from its first event (status or transaction) to as_of (int_uptime_clock).
-- Reads raw_events: min() does not mind the duplicates a dedup would remove.
with

port_events as (
    select
        charge_point_id,
        coalesce(evse_id, connector_id) as port_id,
        cast(server_received_at as timestamptz) as received_at
    from raw_events
    where event_type in ('status_changed', 'transaction_started', 'transaction_stopped')
        and coalesce(evse_id, connector_id) > 0
),

clock as (
    select as_of from int_uptime_clock
),

final as (
    select
        p.charge_point_id,
        p.port_id,
        min(p.received_at) as first_seen_at,
        any_value(c.as_of) as as_of
    from port_events as p
    cross join clock as c
    group by p.charge_point_id, p.port_id
    having min(p.received_at) < any_value(c.as_of)
)

select * from final
