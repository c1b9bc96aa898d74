-- Career test-drive: students by how many industries their completed micro-internships spanned, and how many
-- they had completed when their first offer came.
with done as (
    select a.student_id, p.placement_id, m.industry, p.ended_on, coalesce(po.attributed_offers, 0) > 0 as has_offer
    from placements p
    join applications a on a.application_id = p.application_id
    join micro_internships m on m.project_id = a.project_id
    left join placement_outcomes po on po.placement_id = p.placement_id
    where p.status = 'completed'
)
select least(t.industries, 3) as industries_tried, count(*) as students, sum(t.projects) as projects,
       count_if(t.destination_in_tried) as destination_in_tried
from (
    select d.student_id, count(*) as projects, count(distinct d.industry) as industries,
           bool_or(d.industry = fd.industry) as destination_in_tried
    from done d
    left join first_destinations fd on fd.student_id = d.student_id
    group by 1
) t
group by 1;
with done as (
    select a.student_id, p.placement_id, p.ended_on, coalesce(po.attributed_offers, 0) > 0 as has_offer
    from placements p
    join applications a on a.application_id = p.application_id
    left join placement_outcomes po on po.placement_id = p.placement_id
    where p.status = 'completed'
),
ordered as (
    select student_id, has_offer, row_number() over (partition by student_id order by ended_on, placement_id) as nth
    from done
)
select nth, count(*) as students
from (select student_id, min(nth) as nth from ordered where has_offer group by 1)
group by 1;
