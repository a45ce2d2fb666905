-- session_costs: what each session costs under the tariff version in force at its start
-- (session_tariffs), component by component. Rounding (docs/tariffs.md): each component is
-- rounded half-even to the cent from exact integers (energy: sum over segments of Wh x price,
-- once; time and idle: seconds x price per hour; the session fee); cost_excl_vat is the sum
-- of the rounded components; vat is cost_excl_vat x the VAT rate, rounded half-even to the
-- cent; cost_incl_vat = cost_excl_vat + vat. Every amount is null, and cost_missing_reason
-- says why (no_start_time, no_energy, negative_energy, no_tariff), when it cannot be priced:
-- never 0 for "unknown". For a session still running the amounts are the cost so far.
with

segments as materialized (
    select * from session_energy_segments
),

tariffs as (
    select * exclude (segment_from, segment_to, segment_us, price_per_kwh, price_e4,
                      segment_energy_wh)
    from segments
    qualify row_number() over (partition by session_id order by segment_from) = 1
),

energy as (
    select
        session_id,
        half_even_div(sum(coalesce(segment_energy_wh::hugeint * price_e4, 0)), 100000) as cents
    from segments
    group by session_id
),

components as (
    select
        t.*,
        coalesce(e.cents, 0) as energy_cents,
        half_even_div(t.charging_s::hugeint * t.time_price_e4, 360000) as time_cents,
        half_even_div(t.billed_idle_s::hugeint * t.idle_price_e4, 360000) as idle_cents,
        half_even_div(t.session_fee_e4::hugeint, 100) as fee_cents
    from tariffs as t
    left join energy as e on e.session_id = t.session_id
),

totals as (
    select
        *,
        energy_cents + time_cents + idle_cents + fee_cents as excl_cents
    from components
    where cost_missing_reason is null
),

priced as (
    select
        *,
        half_even_div(excl_cents * vat_bp, 10000) as vat_cents
    from totals
),

final as (
    select
        t.session_id,
        t.charge_point_id,
        t.site_id,
        t.time_zone,
        t.tariff_id,
        t.tariff_version,
        t.currency,
        t.vat_pct,
        t.billed_energy_wh,
        t.plugged_s,
        t.charging_s,
        t.idle_s,
        t.billed_idle_s,
        cast(p.energy_cents * 0.01 as decimal(18, 2)) as energy_cost,
        cast(p.time_cents * 0.01 as decimal(18, 2)) as time_cost,
        cast(p.idle_cents * 0.01 as decimal(18, 2)) as idle_cost,
        cast(p.fee_cents * 0.01 as decimal(18, 2)) as session_fee,
        cast(p.excl_cents * 0.01 as decimal(18, 2)) as cost_excl_vat,
        cast(p.vat_cents * 0.01 as decimal(18, 2)) as vat,
        cast((p.excl_cents + p.vat_cents) * 0.01 as decimal(18, 2)) as cost_incl_vat,
        t.cost_missing_reason
    from tariffs as t
    left join priced as p on p.session_id = t.session_id
)

select * from final
