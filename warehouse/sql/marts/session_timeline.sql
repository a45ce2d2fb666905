-- session_timeline: every frame and event of every session, in order (support's one click).
-- Filter by session_id; order by position. For one session, session_timeline_of with the
-- session's charger and time window reads far less (see dashboards.data.timeline).
select * from session_timeline_of(null, null, null, null)
