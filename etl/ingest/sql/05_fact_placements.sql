-- The applications that became placements (a few per cent of fact_applications), with the same columns, so that
-- the placement figures of the outcome table scan only these rows.
create or replace table fact_placements as
select * from fact_applications where placement_id is not null;

-- Self-rated skill levels before and after each placement: the first 'pre' and the last 'post' assessment of each
-- (student, placement, skill), paired. The skills page groups these by the placement's attributes.
create or replace table skill_pairs as
with ranked as (
    select
        student_id,
        placement_id,
        skill,
        phase,
        level,
        row_number() over (
            partition by student_id, placement_id, skill, phase
            order by case when phase = 'pre' then assessed_on end asc,
                     case when phase = 'post' then assessed_on end desc
        ) as pick
    from skill_assessments
    where placement_id is not null
)
select pre.student_id, pre.placement_id, pre.skill, pre.level as pre_level, post.level as post_level
from ranked pre
join ranked post
    on post.student_id = pre.student_id and post.placement_id = pre.placement_id and post.skill = pre.skill
where pre.phase = 'pre' and pre.pick = 1 and post.phase = 'post' and post.pick = 1;
