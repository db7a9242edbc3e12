{#- Shared SQL building blocks of the models. -#}

{#-
  running_totals: sums over ranges of months without expanding each range to its months.
  `source` has one row per range: `first_col`..`last_col` (inclusive month indexes), the
  `keys` it is grouped by and the `metrics` it adds to every month of the range. Each range
  adds its amounts at its first month and takes them back after its last; running totals
  over the months then give, per key and month up to `upto`, the sums of every range
  covering that month, and `ranges`, how many: one row per key and month that some range
  covers.
-#}
{% macro running_totals(source, first_col, last_col, keys, metrics, upto) -%}
(
    with changes as (
        select
            {{ first_col }} as idx,
            {{ keys | join(", ") }},
            count(*) as ranges,
            {%- for metric in metrics %}
            sum({{ metric }}) as {{ metric }}{{ "," if not loop.last }}
            {%- endfor %}
        from {{ source }}
        group by all
        union all
        select
            {{ last_col }} + 1,
            {{ keys | join(", ") }},
            -count(*),
            {%- for metric in metrics %}
            -sum({{ metric }}){{ "," if not loop.last }}
            {%- endfor %}
        from {{ source }}
        group by all
    ),

    totals as (
        select
            idx,
            {{ keys | join(", ") }},
            sum(ranges) as ranges,
            {%- for metric in metrics %}
            sum({{ metric }}) as {{ metric }}{{ "," if not loop.last }}
            {%- endfor %}
        from changes
        group by all
    ),

    running as (
        select
            idx,
            lead(idx) over by_idx as next_idx,
            {{ keys | join(", ") }},
            sum(ranges) over by_idx as ranges,
            {%- for metric in metrics %}
            sum({{ metric }}) over by_idx as {{ metric }}{{ "," if not loop.last }}
            {%- endfor %}
        from totals
        window by_idx as (
            partition by {{ keys | join(", ") }} order by idx
            rows between unbounded preceding and current row
        )
    )

    select
        cast(unnest(range(idx, least(coalesce(next_idx, {{ upto }} + 1), {{ upto }} + 1)))
            as integer) as idx,
        running.* exclude (idx, next_idx)
    from running
    where ranges > 0 and idx <= {{ upto }}
)
{%- endmacro %}
