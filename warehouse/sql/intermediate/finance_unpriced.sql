-- finance_unpriced: finance_sessions without its cost columns, for readers that need no
-- price (the dashboard's totals and holds, the scorer): they pay nothing for the pricing
-- chain (session_costs), which DuckDB would evaluate for a left join whatever is selected.
-- What finance bills: finished sessions (completed, a stop without a
-- start, or abandoned: never stopped, its connector has moved on) with billable energy in
-- kWh, the driver and the billing period (UTC month of the stop, or of the start when there
-- is no stop). billable is false, with hold_reason saying why, when an anomaly blocks billing:
-- a flag that holds billing (the session_flags table, generated from the SessionFlag enum), a
-- status other than completed, or no/negative energy. A void session (one physical start
-- under a second transaction id) is not billed at all. Not blocking: identical resent stops,
-- a phantom start (billed once by construction), a per-transaction meter, a session that was
-- stuck but came back and completed with a real stop.
with

finished_sessions as (
    select * from sessions where status in ('completed', 'orphan_stop', 'abandoned')
),

session_flag_rows as (
    select session_id, unnest(flags) as flag from finished_sessions
),

flag_holds as (
    select r.session_id, list(distinct r.flag) as reasons
    from session_flag_rows as r
    inner join session_flags as f on f.flag = r.flag
    where f.holds_billing
    group by r.session_id
),

holds as (
    select
        s.*,
        list_sort(list_distinct(list_concat(
            coalesce(h.reasons, []),
            case when s.status <> 'completed' then [s.status] else [] end,
            case
                when s.energy_wh is null then ['no_energy']
                when s.energy_wh < 0 then ['negative_energy']
                else []
            end
        ))) as hold_reasons
    from finished_sessions as s
    left join flag_holds as h on h.session_id = s.session_id
),

final as (
    select
        holds.session_id,
        holds.charge_point_id,
        connector_id,
        evse_id,
        transaction_id,
        id_tag,
        strftime(coalesce(stopped_at, started_at) at time zone 'UTC', '%Y-%m') as period,
        started_at,
        stopped_at,
        started_at_raw,
        stopped_at_raw,
        duration_s,
        meter_start_wh,
        meter_stop_wh,
        energy_wh,
        energy_kwh,
        energy_rule,
        status,
        flags,
        len(hold_reasons) = 0 as billable,
        case when len(hold_reasons) > 0 then array_to_string(hold_reasons, ', ') end
            as hold_reason,
        version,
        updated_at
    from holds
)

select * from final
