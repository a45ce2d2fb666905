-- int_session_frames: which frames belong to which session (the rules: session_frames_of).
select * from session_frames_of(null, null, null, null)
