-- tariff_day_prices: each tariff version's energy price over the local day, one row per
-- band [start_minute, end_minute) (minutes after local midnight, 0..1440; the bands of a
-- version cover the day). None for a version whose energy is free of charge.
with

versions as (
    select tariff_id, version, unnest(day_prices) as band from tariff_versions
),

final as (
    select
        tariff_id,
        version,
        band.start_minute as start_minute,
        band.end_minute as end_minute,
        band.price_per_kwh as price_per_kwh,
        cast(band.price_per_kwh * 10000 as bigint) as price_e4
    from versions
)

select * from final
