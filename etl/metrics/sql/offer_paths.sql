-- Each student with completed micro-internships in the population: how many, across how many industries, how many
-- they had completed when their first offer came (the first-offer rule, written once), and whether their first
-- destination lies in an industry they tried. test_drive.sql and projects_to_offer.sql aggregate these rows.
-- {where} holds only bound-parameter filters.
with done as (
    select student_id, placement_id, industry, ended_on, has_offer
    from fact_placements
    where placement_status = 'completed' and {where}
),
ordered as (
    select student_id, has_offer, row_number() over (partition by student_id order by ended_on, placement_id) as nth
    from done
),
first_offer as (
    select student_id, min(nth) as projects_to_offer from ordered where has_offer group by student_id
),
per_student as (
    select student_id, count(*) as projects, count(distinct industry) as industries
    from done
    group by student_id
)
select
    ps.student_id,
    ps.projects,
    ps.industries,
    fo.projects_to_offer,
    case
        when sd.destination_industry is null then null
        when exists (
            select 1 from done d where d.student_id = ps.student_id and d.industry = sd.destination_industry
        ) then 1
        else 0
    end as destination_in_tried
from per_student ps
left join first_offer fo on fo.student_id = ps.student_id
left join student_destinations sd on sd.student_id = ps.student_id
