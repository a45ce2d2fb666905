-- tariff_versions: every version of every tariff (chargeline tariffs; warehouse.reference),
-- prices excluding VAT as decimals and as exact integers: ten-thousandths of the currency
-- (prices have at most 4 decimals), VAT in hundredths of a percent. An absent component
-- prices at 0 in the integer columns (null in the decimal ones).
with

source as (
    select * from raw_tariffs
),

final as (
    select
        tariff_id,
        version,
        scope,
        scope_id,
        cast(valid_from as timestamptz) as valid_from,
        cast(valid_to as timestamptz) as valid_to,
        currency,
        vat_pct,
        energy_per_kwh,
        energy_bands,
        time_per_hour,
        idle_per_hour,
        idle_grace_min,
        session_fee,
        cast(vat_pct * 100 as bigint) as vat_bp,
        cast(coalesce(time_per_hour, 0) * 10000 as bigint) as time_price_e4,
        cast(coalesce(idle_per_hour, 0) * 10000 as bigint) as idle_price_e4,
        cast(coalesce(session_fee, 0) * 10000 as bigint) as session_fee_e4,
        day_prices
    from source
)

select * from final
