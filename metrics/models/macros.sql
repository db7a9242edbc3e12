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

{#-
  to_reporting_currency (metrics.md section 1, currency): a native amount at a rate (units
  of the reporting currency per unit), exact to 6 decimals; a rate of 1 is a no-op. Constant
  currency is which rate a model passes: a window's start and end both at m0's rate
  (`mrr_at_rate_lag_<n>` in int_customer_month), a cohort at its cohort month's.
-#}
{% macro to_reporting_currency(native, rate) -%}
    case when {{ rate }} = 1 then {{ native }}
    else cast(round(cast({{ native }} as decimal(38, 6)) * {{ rate }}, 6) as decimal(18, 6)) end
{%- endmacro %}

{#-
  acv_band (metrics.md section 4): the ACV band of a monthly amount from amount x 12:
  SMB below acv_smb_upper, Mid-Market below acv_enterprise_lower, Enterprise above (the run's
  configured bounds, as literals, so views that outlive the run keep them). acv_band_code is
  the band's position (a cheaper key in large group-bys), acv_band_name its text.
-#}
{% macro acv_band_code(amount) -%}
    case when {{ amount }} * 12 < {{ acv_smb_upper }} then 0
    when {{ amount }} * 12 < {{ acv_enterprise_lower }} then 1 else 2 end
{%- endmacro %}

{% macro acv_band_name(code) -%}
    ['SMB', 'Mid-Market', 'Enterprise'][{{ code }} + 1]
{%- endmacro %}

{% macro acv_band(amount) -%}
    {{ acv_band_name(acv_band_code(amount)) }}
{%- endmacro %}

{#-
  benchmark_band (metrics.md section 4): the seeded band (benchmark_bands) of a windows
  row's NRR or GRR at its yearly pace (monthly ^ 12, quarterly ^ 4). NRR bands are by ACV
  segment, the company's for every other row; GRR bands hold for any segment.
-#}
{% macro benchmark_band(alias, metric) -%}
    {%- set scope = ("case when " ~ alias ~ ".dimension = 'acv_band' then " ~ alias
                     ~ ".segment else 'company' end") if metric == "nrr" else "'any'" %}
    {%- set value = "round(pow(" ~ alias ~ "." ~ metric ~ ", 12.0 / " ~ alias
                    ~ ".window_months), 9)" %}
    (
            select bands.band from benchmark_bands as bands
            where bands.metric = '{{ metric }}' and bands.scope = {{ scope }}
              and (bands.lower_bound is null or {{ value }} > bands.lower_bound
                   or (bands.lower_inclusive and {{ value }} = bands.lower_bound))
              and (bands.upper_bound is null or {{ value }} < bands.upper_bound
                   or (bands.upper_inclusive and {{ value }} = bands.upper_bound))
        )
{%- endmacro %}

{#-
  churn_kind (metrics.md section 2): the kind of a churn when the revenue that stops carries
  both kinds (two subscriptions ending together, one unpaid and one cancelled): involuntary
  wins, since a payment failure is what the source knows for certain went wrong.
-#}
{% macro churn_kind(ends_involuntary, ends_voluntary) -%}
    case
        when bool_or({{ ends_involuntary }}) then 'involuntary'
        when bool_or({{ ends_voluntary }}) then 'voluntary'
    end
{%- endmacro %}

{#- ledger_columns: the ledger's own columns (docs/data-contract.md); any other is an attribute -#}
{% macro ledger_columns() -%}
    customer_id, start_date, end_date, mrr, currency, churn_kind
{%- endmacro %}
