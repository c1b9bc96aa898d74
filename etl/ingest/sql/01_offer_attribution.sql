-- docs/data-contract.md §6: each offer is attributed to at most one completed placement of the same student.
-- (a) the placement its placement_id names, when that placement is completed;
-- (b) otherwise, among the student's completed placements at the offer's employer with
--     started_on <= offered_on <= ended_on + 180 days, the latest ended_on (then the greatest placement_id).
create or replace table offer_attribution as
with completed as (
    select p.placement_id, a.student_id, m.employer_id, p.started_on, p.ended_on
    from placements p
    join applications a on a.application_id = p.application_id
    join micro_internships m on m.project_id = a.project_id
    where p.status = 'completed'
),
named as (
    select o.offer_id, c.placement_id
    from offers o
    join completed c on c.placement_id = o.placement_id and c.student_id = o.student_id
),
in_window as (
    select
        o.offer_id,
        c.placement_id,
        row_number() over (partition by o.offer_id order by c.ended_on desc, c.placement_id desc) as rank_in_window
    from offers o
    join completed c
        on c.student_id = o.student_id
        and c.employer_id = o.employer_id
        and o.offered_on >= c.started_on
        and o.offered_on <= c.ended_on + interval '180' day
    where o.offer_id not in (select offer_id from named)
)
select
    o.offer_id,
    o.student_id,
    coalesce(n.placement_id, w.placement_id) as placement_id,
    case when n.placement_id is not null then 'named' when w.placement_id is not null then 'employer_window' end as rule,
    o.offered_on,
    o.decision,
    o.offer_type
from offers o
left join named n on n.offer_id = o.offer_id
left join in_window w on w.offer_id = o.offer_id and w.rank_in_window = 1;
