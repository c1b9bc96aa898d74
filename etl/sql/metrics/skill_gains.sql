-- Self-rated skill levels before and after a placement: the first 'pre' and the last 'post' assessment of each
-- (student, placement, skill), grouped by skill and by {dimension} of the placement's application.
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
),
pairs as (
    select pre.placement_id, pre.skill, pre.level as pre_level, post.level as post_level
    from ranked pre
    join ranked post
        on post.student_id = pre.student_id and post.placement_id = pre.placement_id and post.skill = pre.skill
    where pre.phase = 'pre' and pre.pick = 1 and post.phase = 'post' and post.pick = 1
)
select
    p.skill,
    {dimension} as "group",
    count(*) as pairs,
    avg(p.post_level - p.pre_level) as gain,
    avg(p.pre_level) as pre_level,
    avg(p.post_level) as post_level,
    sum(case when p.post_level > p.pre_level then 1 else 0 end) as improved
from pairs p
join fact_applications f on f.placement_id = p.placement_id
where {where}
group by 1, 2
