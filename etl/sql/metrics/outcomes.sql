-- Contract section 4: the outcome table. {dimension} is a column of fact_applications chosen from a fixed list;
-- {where} holds only bound-parameter filters. Suppression (section 5) is applied afterwards, in metrics.py.
select
    {dimension} as "group",
    count(*) as applications,
    count(distinct student_id) as applicants,
    sum(case when status = 'selected' then 1 else 0 end) as selected,
    sum(case when status <> 'withdrawn' then 1 else 0 end) as not_withdrawn,
    count(placement_id) as placements,
    sum(case when placement_status = 'completed' then 1 else 0 end) as completed,
    sum(case when placement_status in ('completed', 'cancelled', 'no_show') then 1 else 0 end) as closed,
    sum(case when placement_status = 'completed' and has_offer then 1 else 0 end) as offers,
    sum(case when placement_status = 'completed' and has_accepted_offer then 1 else 0 end) as converted,
    sum(offers_accepted) as offers_accepted,
    sum(offers_accepted + offers_declined) as offers_decided,
    percentile_cont(0.5) within group (order by days_to_offer) as median_days_to_offer
from fact_applications
where {where}
group by 1
