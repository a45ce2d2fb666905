-- port_uptime_monthly: port_uptime_daily summed per UTC month (seconds add; percents are
-- computed again from the sums), and the trailing twelve months ending with each month:
-- 23 CFR 680.116(b)(2) computes uptime "on a monthly basis for the previous twelve months".
-- meets_97 says whether that trailing figure is above 97 % (680.116(b): "greater than 97%").
with

daily as (
    select * from port_uptime_daily
),

monthly as (
    select
        charge_point_id,
        port_id,
        cast(date_trunc('month', day) as date) as month,
        count(*) as days_observed,
        sum(observed_s) as observed_s,
        sum(outage_s) as outage_s,
        sum(excluded_s) as excluded_s,
        sum(counted_outage_s) as counted_outage_s,
        sum(offline_s) as offline_s,
        sum(faulted_s) as faulted_s,
        sum(unavailable_s) as unavailable_s,
        sum(failed_starts_s) as failed_starts_s,
        sum(self_reported_down_s) as self_reported_down_s,
        sum(sessions_delivered) as sessions_delivered,
        sum(sessions_no_energy) as sessions_no_energy,
        sum(starts_refused) as starts_refused
    from daily
    group by all
),

rolling as (
    select
        *,
        sum(observed_s) over twelve as trailing_observed_s,
        sum(counted_outage_s) over twelve as trailing_counted_outage_s
    from monthly
    window twelve as (
        partition by charge_point_id, port_id order by month
        range between interval 11 month preceding and current row
    )
),

final as (
    select
        * exclude (trailing_observed_s, trailing_counted_outage_s),
        observed_s / 60 as observed_min,
        counted_outage_s / 60 as counted_outage_min,
        round(100 * (observed_s - counted_outage_s) / observed_s, 3) as uptime_pct,
        round(100 * (observed_s - self_reported_down_s) / observed_s, 3)
            as self_reported_uptime_pct,
        round(
            100 * (trailing_observed_s - trailing_counted_outage_s) / trailing_observed_s, 3
        ) as trailing_12m_uptime_pct,
        100 * (trailing_observed_s - trailing_counted_outage_s) / trailing_observed_s > 97
            as meets_97
    from rolling
)

select * from final
