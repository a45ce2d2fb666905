-- commands: one row per command chargeline sent (or refused to send, or only observed) to a
-- charger: who asked (origin, requested_by), what (action, payload), when (requested_at,
-- sent_at, finished_at), how it ended (outcome: answered, call_error, timeout, offline,
-- invalid, unavailable, observed; status: the answer's status or the CALLERROR code) and how
-- long the charger took (latency_ms). session_id/transaction_id/step: what it was about (a
-- remote stop, a recovery step). A command journaled twice is one row.
with

source as (
    select
        * replace (
            cast(requested_at as timestamptz) as requested_at,
            cast(sent_at as timestamptz) as sent_at,
            cast(finished_at as timestamptz) as finished_at
        )
    from raw_commands
),

deduped as (
    select *
    from source
    qualify row_number() over (partition by command_id order by frame_id) = 1
),

final as (
    select
        command_id,
        charge_point_id,
        protocol,
        action,
        payload,
        origin,
        requested_by,
        requested_at,
        sent_at,
        finished_at,
        outcome,
        status,
        answer,
        latency_ms,
        reason,
        session_id,
        transaction_id,
        step,
        frame_id
    from deduped
)

select * from final
