-- frames: the journal as the flow wrote it, one row per frame_id (at-least-once writes deduped).
-- The view is ``bounded_frames`` with no bounds (the dedup and the cast live there once).
select * from bounded_frames(null, null, null)
