-- How many completed micro-internships students had done when their first offer came (students with an offer).
with done as (
    select student_id, placement_id, ended_on, has_offer
    from fact_placements
    where placement_status = 'completed' and {where}
),
ordered as (
    select student_id, has_offer, row_number() over (partition by student_id order by ended_on, placement_id) as nth
    from done
)
select nth as projects_to_offer, count(*) as students
from (select student_id, min(nth) as nth from ordered where has_offer group by student_id) t
group by 1
