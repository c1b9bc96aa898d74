-- Contract section 4: the outcome table. {dimension} and {second} are columns of fact_applications chosen from a
-- fixed list ({second} is 'all' for a one-way table); {where} holds only bound-parameter filters. Suppression
-- (section 5) is applied afterwards, in metrics.py. The columns after the contract's feed the dashboard.
select
    {dimension} as "group",
    {second} as group2,
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
    percentile_cont(0.5) within group (order by days_to_offer) as median_days_to_offer,
    count(distinct project_id) as projects,
    count(distinct case when placement_status = 'completed' then student_id end) as completers,
    avg(case when placement_status = 'completed' then employer_rating end) as employer_rating,
    avg(case when placement_status = 'completed' then student_rating end) as student_rating,
    avg(case when placement_status = 'completed' then new_contacts end) as new_contacts,
    avg(case when placement_status = 'completed' then pay_usd / estimated_hours end) as pay_per_hour,
    avg(case when placement_status = 'completed' then estimated_hours end) as hours
from fact_applications
where {where}
group by 1, 2
