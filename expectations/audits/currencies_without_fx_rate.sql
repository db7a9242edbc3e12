-- Currencies of {{ table }} that no exchange rate covers (the reporting currency needs none):
-- its amounts become MRR in that currency and cannot be converted. Codes that are not ISO
-- 4217 at all fail their own check.
select
    src.currency,
    count(*) as rows,
    min(src.{{ locator }}) as first_{{ locator.strip("_") }}
from {{ table }} as src
cross join validation_parameters as p
where src.currency <> p.reporting_currency
    and src.currency in (select code from iso_currencies)
    and src.currency not in (select currency from raw_fx_rates)
group by src.currency
order by src.currency
