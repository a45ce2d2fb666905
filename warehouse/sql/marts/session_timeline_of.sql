-- session_timeline_of: every frame and event of a session, in order (support's one click);
-- session_timeline is this with no bounds. The bounds narrow what is read, as in
-- session_frames_of: one session's timeline needs its charger's frames and events of the
-- hours it ran, not all of them (dashboards.data.timeline passes them).
create macro session_timeline_of(
    only_session_id, only_charge_point_id, received_from, received_until
) as table
with

session_frames as (
    select * from session_frames_of(
        only_session_id, only_charge_point_id, received_from, received_until
    )
),

all_events as (
    select * from bounded_events(only_charge_point_id, received_from, received_until)
),

frame_rows as (
    select
        session_id,
        received_at as "at",
        'frame' as source,
        0 as source_rank,
        frame_id,
        cast(null as varchar) as event_id,
        direction,
        action,
        cast(null as varchar) as event_type,
        concat_ws(' ', coalesce(message_type_name, record_kind), action, parse_status) as summary,
        raw
    from session_frames
),

event_rows as (
    select
        f.session_id,
        e.server_received_at as "at",
        'event' as source,
        1 as source_rank,
        e.frame_id,
        e.event_id,
        f.direction,
        f.action,
        e.event_type,
        concat_ws(
            ' ', e.event_type, e.status, e.id_tag, e.reason, e.measurand,
            cast(e.value as varchar) || coalesce(' ' || e.unit, ''),
            'meter_wh=' || cast(e.meter_wh as varchar),
            nullif(array_to_string(e.value_issues, ','), ''), e.quarantine_reason
        ) as summary,
        cast(null as varchar) as raw
    from session_frames as f
    inner join all_events as e
        on e.charge_point_id = f.charge_point_id and e.frame_id = f.frame_id
),

unioned as (
    select * from frame_rows
    union all
    select * from event_rows
),

final as (
    select
        session_id,
        "at",
        source,
        frame_id,
        event_id,
        direction,
        action,
        event_type,
        summary,
        raw,
        row_number() over (
            partition by session_id order by "at", frame_id, source_rank, event_id
        ) as position
    from unioned
)

select * from final
