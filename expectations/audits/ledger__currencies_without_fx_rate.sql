-- Currencies the ledger uses that no exchange rate covers (the reporting currency needs
-- none). The engine would stop on them; here they are listed with where they first appear.
select
    ledger.currency,
    count(*) as rows,
    min(ledger._row) as first_row
from ledger
cross join validation_parameters as p
where ledger.currency <> p.reporting_currency
    and ledger.currency in (select code from iso_currencies)
    and ledger.currency not in (select currency from raw_fx_rates)
group by ledger.currency
order by ledger.currency
