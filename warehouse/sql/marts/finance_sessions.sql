-- finance_sessions: what finance bills (finance_unpriced: which sessions, their energy and
-- holds, with the rules) with its cost from session_costs (tariff version in force at the
-- start, components, VAT; null with cost_missing_reason when it cannot be priced);
-- cost_provisional is true on a held session: its cost stands only once the hold is resolved.
with

unpriced as (
    select * from finance_unpriced
),

final as (
    select
        u.* exclude (version, updated_at),
        c.site_id,
        c.tariff_id,
        c.tariff_version,
        c.currency,
        c.billed_energy_wh,
        c.charging_s,
        c.idle_s,
        c.energy_cost,
        c.time_cost,
        c.idle_cost,
        c.session_fee,
        c.cost_excl_vat,
        c.vat,
        c.cost_incl_vat,
        not u.billable as cost_provisional,
        c.cost_missing_reason,
        u.version,
        u.updated_at
    from unpriced as u
    left join session_costs as c on c.session_id = u.session_id
)

select * from final
