-- One row per application with every attribute the outcome table groups by (docs/data-contract.md §4) and its
-- placement's outcome. Group values are text; booleans are yes/no and a missing value is 'unknown'.
-- The student's groups come from student_groups (00_student_groups.sql). project_key numbers the projects 1..n, like
-- student_key the students, so that exact distinct counts can be taken as bitmaps (bitstring_agg) instead of hash
-- sets; both are rebuilt with the tables and mean nothing outside them.
create or replace table fact_applications as
with m as (select *, cast(row_number() over (order by project_id) as integer) as project_key from micro_internships)
select
    a.application_id,
    a.student_id,
    s.student_key,
    a.project_id,
    m.project_key,
    m.employer_id,
    a.status,
    a.applied_at,
    a.decided_at,
    m.posted_date,
    coalesce(m.industry, e.industry, 'unknown') as industry,
    coalesce(m.function, 'unknown') as function,
    coalesce(m.platform, 'unknown') as platform,
    coalesce(a.channel, 'unknown') as channel,
    coalesce(e.name, 'unknown') as employer,
    e.industry as employer_industry,
    s.institution,
    s.class_level,
    s.first_generation,
    s.pell_eligible,
    yes_no(m.remote) as remote,
    case
        when m.pay_usd is null or m.estimated_hours is null then 'unknown'
        when m.pay_usd = 0 then 'unpaid'
        when m.pay_usd / m.estimated_hours < 15 then '<15'
        when m.pay_usd / m.estimated_hours < 20 then '15-20'
        when m.pay_usd / m.estimated_hours < 25 then '20-25'
        else '25+'
    end as pay_band,
    case
        when m.estimated_hours is null then 'unknown'
        when m.estimated_hours < 10 then '<10'
        when m.estimated_hours < 20 then '10-19'
        when m.estimated_hours < 40 then '20-39'
        else '40+'
    end as hours_band,
    cast(extract(year from a.applied_at) as varchar) || '-' || case
        when extract(month from a.applied_at) <= 5 then 'spring'
        when extract(month from a.applied_at) <= 8 then 'summer'
        else 'fall'
    end as term,
    make_date(
        cast(extract(year from a.applied_at) as integer),
        case when extract(month from a.applied_at) <= 5 then 1 when extract(month from a.applied_at) <= 8 then 6 else 9 end,
        1
    ) as term_start,
    s.gender,
    s.race_ethnicity,
    s.major,
    s.college,
    m.pay_usd,
    m.estimated_hours,
    p.placement_id,
    p.status as placement_status,
    p.started_on,
    p.ended_on,
    p.hours_logged,
    p.employer_rating,
    p.student_rating,
    p.new_contacts,
    coalesce(po.attributed_offers, 0) > 0 as has_offer,
    coalesce(po.offers_accepted, 0) > 0 as has_accepted_offer,
    coalesce(po.offers_accepted, 0) as offers_accepted,
    coalesce(po.offers_declined, 0) as offers_declined,
    date_diff('day', p.ended_on, po.first_offer_on) as days_to_offer
from applications a
join student_groups s on s.student_id = a.student_id
join m on m.project_id = a.project_id
join employers e on e.employer_id = m.employer_id
left join placements p on p.application_id = a.application_id
left join placement_outcomes po on po.placement_id = p.placement_id;
