-- sites: where chargers stand (chargeline sites; warehouse.reference). The site `default`
-- holds every charger in no other site (implicit, in UTC, when it was never added).
with

source as (
    select * from raw_sites
),

final as (
    select * from source
)

select * from final
