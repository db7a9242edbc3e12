-- Every cohort member of every window (m0, m1] of each configured length, as ranges: one
-- row per customer, window length and run of window ends m1 over which the member's start
-- (MRR at m0), segment at m0 and end (MRR at m1, at m0's exchange rates) stay the same.
-- Read by retention_windows (summed) and retention_window_member_facts (published), so the
-- figures and the per-customer rows an auditor retraces them from are the same rows.
-- `fate` is what the member does at m1: still in the spell it had at m0 (`same`), in a later
-- spell of the same run (`continuing`), back after a gap (`returned`) or not paying (`absent`).

with parameters as (
    select * from run_parameters
),

-- each customer's months from its first to the as-of month, cut into pieces: its spells
-- (paying) and the gaps between and after them (not paying)
pieces as (
    select
        customer_key,
        spell_start_idx as piece_start_idx,
        spell_end_idx as piece_end_idx,
        spell_start_idx,
        run_start_idx,
        last_mrr as piece_mrr,
        constant_value as piece_constant
    from int_spells
    union all
    select
        spells.customer_key,
        spells.spell_end_idx + 1,
        coalesce(spells.next_start_idx - 1, parameters.as_of_idx),
        null,
        null,
        null,
        true
    from int_spells as spells
    cross join parameters
    where spells.spell_end_idx + 1 <= coalesce(spells.next_start_idx - 1, parameters.as_of_idx)
),

-- window starts m0 grouped by what the member does at m1 = m0 + n: for a spell S and the
-- piece P holding m1, the months m0 of S with m0 + n in P. Its fate at m1: still in S
-- (`same`), in a later spell of the same run (`continuing`: paid at every month end between),
-- back after a gap (`returned`) or not paying (`absent`)
window_lengths as (
    select unnest([{{ windows | join(", ") }}]) as window_months
),

-- (one join of spells and pieces for every window length: the pairs the longest needs)
pairs as (
    select
        spells.*,
        pieces.piece_start_idx,
        pieces.piece_end_idx,
        pieces.spell_start_idx as piece_spell_start_idx,
        pieces.run_start_idx as piece_run_start_idx,
        pieces.piece_mrr,
        pieces.piece_constant
    from int_spells as spells
    inner join pieces
        on spells.customer_key = pieces.customer_key
        and pieces.piece_end_idx >= spells.spell_start_idx + {{ windows | min }}
        and pieces.piece_start_idx <= spells.spell_end_idx + {{ windows | max }}
),

ranges as (
    select
        pairs.* exclude (
            piece_start_idx, piece_end_idx, piece_spell_start_idx, piece_run_start_idx
        ),
        lengths.window_months,
        greatest(pairs.spell_start_idx, pairs.piece_start_idx - lengths.window_months)
            as first_start_idx,
        least(
            pairs.spell_end_idx,
            pairs.piece_end_idx - lengths.window_months,
            parameters.as_of_idx - lengths.window_months
        ) as last_start_idx,
        case
            when pairs.piece_spell_start_idx = pairs.spell_start_idx then 'same'
            when pairs.piece_run_start_idx = pairs.run_start_idx then 'continuing'
            when pairs.piece_spell_start_idx is not null then 'returned'
            else 'absent'
        end as fate
    from pairs
    cross join window_lengths as lengths
    cross join parameters
    where greatest(pairs.spell_start_idx, pairs.piece_start_idx - lengths.window_months)
        <= least(
            pairs.spell_end_idx,
            pairs.piece_end_idx - lengths.window_months,
            parameters.as_of_idx - lengths.window_months
        )
),

-- start and end MRR of the members, both at m0's rate, under the reactivation policy.
-- A range whose spell (and the spell it ends in) only has lines in the reporting currency
-- is worth the same at every m0: it stays one row
constant_members as (
    select
        customer_key,
        first_start_idx + window_months as first_as_of_idx,
        last_start_idx + window_months as last_as_of_idx,
        window_months,
        {{ acv_band_code("ranges.last_mrr") }} as acv_band_code,
        last_segment_key as segment_key,
        fate,
        last_mrr as start_c,
        piece_mrr as end_at_m0_rate
    from ranges
    {%- if not single_currency %}
    where constant_value and (fate = 'same' or piece_constant)
    {%- endif %}
),
{%- if single_currency %}

members as (
    select * from constant_members
),
{%- else %}

-- the others, every window start at its own rate, read from the backbone
members as (
    select * from constant_members
    union all
    select
        ranges.customer_key,
        starts.month_idx + ranges.window_months as first_as_of_idx,
        starts.month_idx + ranges.window_months as last_as_of_idx,
        ranges.window_months,
        {{ acv_band_code("starts.mrr") }} as acv_band_code,
        starts.segment_key,
        ranges.fate,
        starts.mrr as start_c,
        case ranges.window_months
            {%- for n in windows %}
            when {{ n }} then ends.mrr_at_rate_lag_{{ n }}
            {%- endfor %}
        end as end_at_m0_rate
    from (
        select *, unnest(range(first_start_idx, last_start_idx + 1)) as start_idx
        from ranges
        where not (constant_value and (fate = 'same' or piece_constant))
    ) as ranges
    inner join int_customer_month as starts
        on ranges.customer_key = starts.customer_key and ranges.start_idx = starts.month_idx
    left join int_customer_month as ends
        on ranges.fate in ('continuing', 'returned')
        and ranges.customer_key = ends.customer_key
        and ranges.start_idx + ranges.window_months = ends.month_idx
),
{%- endif %}

-- the metric contract's end_c: what the member pays at m1 at m0's rate, except that under
-- `exclude` a member back after a gap counts as churned (its payment is reactivated_mrr)
final as (
    select
        members.* exclude (end_at_m0_rate),
        case
            when fate = 'same' then start_c
            when fate in ('continuing', 'returned') then end_at_m0_rate
            else 0
        end as paid_end_c,
        case
            when fate = 'same' then start_c
            when fate = 'continuing' then end_at_m0_rate
            when fate = 'returned' and parameters.reactivation_policy = 'include'
                then end_at_m0_rate
            else 0
        end as end_c,
        case when fate = 'returned' then end_at_m0_rate else 0 end as reactivated_c
    from members
    cross join parameters
)

select * from final
