-- events: canonical events, one row per event_id.
-- The view is ``bounded_events`` with no bounds (the dedup and the cast live there once).
select * from bounded_events(null, null, null)
