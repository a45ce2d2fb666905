-- int_uptime_status: what each port said of itself, as spans (server clock, UTC): a
-- StatusNotification holds from its receipt until the next one for the same port, or the
-- fleet clock, clipped to the port's window. A status of connector / EVSE 0 (or none) is the
-- whole charger's (OCPP 1.6 §4.9, 2.0.1 StatusNotification): it holds for every port, until
-- the next charger-wide status (charger_wide = true).
with

ports as (
    select * from int_uptime_ports
),

statuses as (
    select distinct
        event_id,
        charge_point_id,
        coalesce(evse_id, connector_id, 0) as port_id,
        status,
        error_code,
        cast(server_received_at as timestamptz) as received_at
    from raw_events
    where event_type = 'status_changed' and status is not null
),

spans as (
    select
        charge_point_id,
        port_id,
        status,
        error_code,
        received_at as span_from,
        lead(received_at) over (
            partition by charge_point_id, port_id order by received_at, event_id
        ) as span_until
    from statuses
),

spread as (
    select
        s.charge_point_id,
        p.port_id,
        s.status,
        s.error_code,
        s.port_id = 0 as charger_wide,
        greatest(s.span_from, p.first_seen_at) as span_from,
        least(coalesce(s.span_until, p.as_of), p.as_of) as span_until
    from spans as s
    inner join ports as p
        on p.charge_point_id = s.charge_point_id
        and (s.port_id = p.port_id or s.port_id = 0)
),

final as (
    select * from spread where span_from < span_until
)

select * from final
