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

{#-
  retention_amounts (metrics.md section 3): what one member of a window or cohort adds to
  it, netted over the window, from its start MRR and its end MRR under the reactivation
  policy. Expansion is max(0, end - start); contraction max(0, start - end) for a member
  still paying; churn its whole start for one that pays nothing at the end.
-#}
{% macro retention_amounts(start_c, end_c) -%}
    case when {{ end_c }} > 0 then 1 else 0 end as retained_customers,
    greatest({{ end_c }} - {{ start_c }}, 0) as expansion,
    case when {{ end_c }} > 0 then greatest({{ start_c }} - {{ end_c }}, 0) else 0 end
        as contraction,
    case when {{ end_c }} = 0 then {{ start_c }} else 0 end as churn
{%- endmacro %}

{#-
  nrr / grr (metrics.md section 3): (start + expansion - contraction - churn) / start and
  (start - contraction - churn) / start; a window with no start MRR has none (null).
-#}
{% macro nrr(start, expansion, contraction, churn) -%}
    case when {{ start }} > 0
        then cast({{ start }} + {{ expansion }} - {{ contraction }} - {{ churn }} as double)
            / cast({{ start }} as double)
    end
{%- endmacro %}

{% macro grr(start, contraction, churn) -%}
    case when {{ start }} > 0
        then cast({{ start }} - {{ contraction }} - {{ churn }} as double) / cast({{ start }} as double)
    end
{%- endmacro %}

{#-
  cent_tolerance: figures agree "to the cent" when they differ by less than half a cent
  (the bridge, the movements, the twin audits); `off_by_a_cent` is the test, nulls included.
-#}
{% macro cent_tolerance() %}0.005{% endmacro %}

{% macro off_by_a_cent(left, right) -%}
    (abs(coalesce({{ left }}, 0) - coalesce({{ right }}, 0)) >= {{ cent_tolerance() }}
        or ({{ left }} is null) <> ({{ right }} is null))
{%- endmacro %}
