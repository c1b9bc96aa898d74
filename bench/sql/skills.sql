-- Skills: self-rated gain per skill and industry (first 'pre' and last 'post' of each student, placement and
-- skill), and completed placements and offers per skill listed on projects.
with pre as (
    select student_id, placement_id, skill, arg_min(level, assessed_on) as level
    from skill_assessments where phase = 'pre' and placement_id is not null group by all
),
post as (
    select student_id, placement_id, skill, arg_max(level, assessed_on) as level
    from skill_assessments where phase = 'post' and placement_id is not null group by all
)
select pre.skill, m.industry, count(*) as pairs, avg(post.level - pre.level) as gain,
       count_if(post.level > pre.level) as improved
from pre
join post using (student_id, placement_id, skill)
join placements p on p.placement_id = pre.placement_id
join applications a on a.application_id = p.application_id
join micro_internships m on m.project_id = a.project_id
group by 1, 2;
select ps.skill, count(*) as completed, count_if(po.attributed_offers > 0) as offers
from placements p
join applications a on a.application_id = p.application_id
join project_skills ps on ps.project_id = a.project_id
left join placement_outcomes po on po.placement_id = p.placement_id
where p.status = 'completed'
group by 1;
