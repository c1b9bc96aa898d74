-- Overview: the outcome table for everyone, and by term.
{base}
select
{measures}
from base;
{base}
select year(applied_at) || '-' || case when month(applied_at) <= 5 then 'spring' when month(applied_at) <= 8 then 'summer' else 'fall' end as term,
{measures}
from base group by 1;
