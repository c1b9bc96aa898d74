-- For each skill listed on projects: completed placements on projects that list it, and how many led to an offer.
select
    ps.skill,
    count(*) as completed,
    sum(case when f.has_offer then 1 else 0 end) as offers,
    sum(case when f.has_accepted_offer then 1 else 0 end) as converted
from fact_placements f
join project_skills ps on ps.project_id = f.project_id
where f.placement_status = 'completed' and {where}
group by 1
