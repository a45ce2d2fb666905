-- session_frames_of: which frames belong to which session, as int_session_frames (which is
-- this with no bounds): a frame belongs to a session when one of its events carries the
-- session's transaction key, when it is the session's start or stop frame, or when it answers
-- (or is answered by) such a frame on the same connection.
-- Each bound, when not null, narrows what is read: only_session_id to one session,
-- only_charge_point_id to one charger's frames and events, received_from/received_until
-- (server time, until exclusive) to a time window. Both filter before the dedups of frames and
-- events (their partition columns), so one session's timeline dedups its charger's rows of a
-- few hours, not the whole tables; both reach the Parquet scan (``bounded_frames``,
-- ``bounded_events``).
create macro session_frames_of(
    only_session_id, only_charge_point_id, received_from, received_until
) as table
with

session_keys as (
    select session_id, charge_point_id, transaction_id, start_frame_id, stop_frame_id
    from sessions
    where only_session_id is null or session_id = only_session_id
),

keyed_events as (
    select charge_point_id, transaction_key, frame_id
    from bounded_events(only_charge_point_id, received_from, received_until)
    where transaction_key is not null
),

all_frames as (
    select * from bounded_frames(only_charge_point_id, received_from, received_until)
),

keyed_frame_ids as (
    select s.session_id, s.charge_point_id, e.frame_id
    from session_keys as s
    inner join keyed_events as e
        on e.charge_point_id = s.charge_point_id and e.transaction_key = s.transaction_id
),

anchor_frame_ids as (
    select * from keyed_frame_ids
    union
    select session_id, charge_point_id, start_frame_id from session_keys
    where start_frame_id is not null
    union
    select session_id, charge_point_id, stop_frame_id from session_keys
    where stop_frame_id is not null
),

anchor_frames as (
    select a.session_id, f.*
    from anchor_frame_ids as a
    inner join all_frames as f
        on f.charge_point_id = a.charge_point_id and f.frame_id = a.frame_id
),

answer_frames as (
    select a.session_id, f.*
    from anchor_frames as a
    inner join all_frames as f
        on f.charge_point_id = a.charge_point_id
        and f.connection_id = a.connection_id
        and f.message_id = a.message_id
        and f.direction <> a.direction
),

final as (
    select * from anchor_frames
    union
    select * from answer_frames
)

select * from final
