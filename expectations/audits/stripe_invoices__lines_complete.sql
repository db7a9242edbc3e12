-- Invoices whose lines in the lake are fewer or more than the invoice says it has
-- (`line_count`, Stripe's lines.total_count): an invoice's embedded lines are only the first
-- page, so a missed page silently drops MRR.
with lines as (
    select invoice_id, count(*) as lines_in_lake
    from invoice_lines
    group by invoice_id
)

select
    invoices.id,
    invoices.line_count,
    coalesce(lines.lines_in_lake, 0) as lines_in_lake
from invoices
left join lines on invoices.id = lines.invoice_id
where invoices.line_count is not null
    and not coalesce(invoices.deleted, false)
    and invoices.line_count <> coalesce(lines.lines_in_lake, 0)
order by invoices.id
