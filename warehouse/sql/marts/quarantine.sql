-- quarantine: what could not be processed, one row per quarantined part of a frame, with the
-- reason and the frame it came from (join frames on charge_point_id, frame_id for the raw
-- text). Adapters quarantine what they cannot read (a value, a sampledValue, a whole
-- payload); the flow quarantines a frame whose processing raised and a record it could not
-- write (reason pipeline_error, unwritable_<record>). Each also raised a quarantined_frame
-- alert; everything after it flowed.
with

quarantined as (
    select * from events where event_type = 'quarantine'
),

final as (
    select
        charge_point_id,
        frame_id,
        event_id,
        server_received_at,
        protocol,
        adapter,
        quarantine_reason,
        detail
    from quarantined
)

select * from final
