-- Career test-drive: students by how many industries their completed micro-internships spanned, whether their
-- first destination lies in an industry they tried, and how many projects they completed up to their first offer.
with done as (
    select student_id, placement_id, industry, ended_on, has_offer
    from fact_placements
    where placement_status = 'completed' and {where}
),
per_student as (
    select student_id, count(*) as projects, count(distinct industry) as industries
    from done
    group by student_id
),
ordered as (
    select student_id, has_offer, row_number() over (partition by student_id order by ended_on, placement_id) as nth
    from done
),
first_offer as (
    select student_id, min(nth) as projects_to_offer from ordered where has_offer group by student_id
),
students_full as (
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
)
select
    case when industries >= 3 then '3+' else cast(industries as varchar) end as industries_tried,
    count(*) as students,
    sum(projects) as projects,
    sum(case when projects_to_offer is not null then 1 else 0 end) as with_offer,
    percentile_cont(0.5) within group (order by projects_to_offer) as median_projects_to_offer,
    sum(coalesce(destination_in_tried, 0)) as destination_in_tried,
    sum(case when destination_in_tried is not null then 1 else 0 end) as with_destination_industry
from students_full
group by 1
