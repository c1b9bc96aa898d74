-- What leads to offers: the outcome table by industry, and by industry and pay band.
{base}
select industry,
{measures}
from base group by 1;
{base}
select industry, case when pay_usd is null or estimated_hours is null then 'unknown' when pay_usd = 0 then 'unpaid' when pay_usd / estimated_hours < 15 then '<15' when pay_usd / estimated_hours < 20 then '15-20' when pay_usd / estimated_hours < 25 then '20-25' else '25+' end as pay_band,
{measures}
from base group by 1, 2;
