-- site_chargers: one row per (site, charge point) listed in a site.
with

sites_listed as (
    select site_id, unnest(charge_point_ids) as charge_point_id from sites
),

final as (
    select charge_point_id, site_id from sites_listed
)

select * from final
