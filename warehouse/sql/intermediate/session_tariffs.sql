-- session_tariffs: which tariff version prices each session, and the quantities it prices.
-- The one definition of both, read by session_energy_segments and session_costs
-- (finance_sessions, OCPI), and by warehouse.cost.cost_of for a session still running.
--
-- Site: the one listing the charger, else `default`; its time zone (UTC when not added).
-- Tariff: of the versions in force at the session's START (valid_from <= start < valid_to),
-- per tariff the latest valid_from (then the highest version), the most specific scope
-- first: charger, site, default.
-- Quantities, whole units: plugged_s = start to end in seconds (half-even); charging_s = the
-- time the energy needs at the session's peak power, rounded up, at most plugged_s (all of it
-- without a power reading); idle_s = plugged_s - charging_s; billed_idle_s = idle past the
-- grace; billed_energy_wh = energy_wh rounded half-even to the Wh (OCPI's ENERGY step).
with

inputs as (
    select * from cost_inputs
),

placed as (
    select
        i.*,
        coalesce(c.site_id, 'default') as site_id,
        coalesce(s.time_zone, 'UTC') as time_zone
    from inputs as i
    left join site_chargers as c on c.charge_point_id = i.charge_point_id
    left join sites as s on s.site_id = coalesce(c.site_id, 'default')
),

candidates as (
    select p.session_id, p.started_at, v.*, 1 as scope_rank
    from placed as p
    inner join tariff_versions as v
        on v.scope = 'charger' and v.scope_id = p.charge_point_id and v.valid_from <= p.started_at
    union all
    select p.session_id, p.started_at, v.*, 2 as scope_rank
    from placed as p
    inner join tariff_versions as v
        on v.scope = 'site' and v.scope_id = p.site_id and v.valid_from <= p.started_at
    union all
    select p.session_id, p.started_at, v.*, 3 as scope_rank
    from placed as p
    inner join tariff_versions as v
        on v.scope = 'default' and v.valid_from <= p.started_at
),

latest_versions as (
    select *
    from candidates
    qualify row_number() over (
        partition by session_id, tariff_id order by valid_from desc, version desc
    ) = 1
),

in_force as (
    select *
    from latest_versions
    where valid_to is null or started_at < valid_to
    qualify row_number() over (partition by session_id order by scope_rank) = 1
),

plugged as (
    select
        p.*,
        t.tariff_id,
        t.version as tariff_version,
        t.currency,
        t.vat_pct,
        t.vat_bp,
        t.time_price_e4,
        t.idle_price_e4,
        t.session_fee_e4,
        t.idle_grace_min,
        case when p.energy_wh >= 0 then cast(round_even(p.energy_wh, 0) as bigint) end
            as billed_energy_wh,
        cast(half_even_div(
            greatest(epoch_us(p.ended_at) - epoch_us(p.started_at), 0)::hugeint, 1000000
        ) as bigint) as plugged_s,
        case
            when p.started_at is null then 'no_start_time'
            when p.energy_wh is null then 'no_energy'
            when p.energy_wh < 0 then 'negative_energy'
            when t.tariff_id is null then 'no_tariff'
        end as cost_missing_reason
    from placed as p
    left join in_force as t on t.session_id = p.session_id
),

charging as (
    select
        *,
        case
            when max_power_w > 0 and energy_wh >= 0
                then least(plugged_s, cast(ceil(energy_wh * 3600 / max_power_w) as bigint))
            else plugged_s
        end as charging_s
    from plugged
),

final as (
    select
        *,
        plugged_s - charging_s as idle_s,
        greatest(plugged_s - charging_s - coalesce(idle_grace_min, 0) * 60, 0) as billed_idle_s
    from charging
)

select * from final
