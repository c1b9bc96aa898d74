-- Self-rated skill levels before and after a placement (skill_pairs: the first 'pre' and the last 'post' assessment
-- of each student, placement and skill), grouped by skill and by {dimension} of the placement's application.
select
    p.skill,
    {dimension} as "group",
    count(*) as pairs,
    avg(p.post_level - p.pre_level) as gain,
    avg(p.pre_level) as pre_level,
    avg(p.post_level) as post_level,
    count_if(p.post_level > p.pre_level) as improved
from skill_pairs p
join fact_placements f on f.placement_id = p.placement_id
where {where}
group by 1, 2
