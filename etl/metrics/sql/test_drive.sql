-- Career test-drive: students by how many industries their completed micro-internships spanned (paths: one row
-- per student, offer_paths.sql).
with paths as ({paths})
select
    case when industries >= 3 then '3+' else cast(industries as varchar) end as industries_tried,
    count(*) as students,
    sum(projects) as projects,
    sum(case when projects_to_offer is not null then 1 else 0 end) as with_offer,
    percentile_cont(0.5) within group (order by projects_to_offer) as median_projects_to_offer,
    sum(coalesce(destination_in_tried, 0)) as destination_in_tried,
    sum(case when destination_in_tried is not null then 1 else 0 end) as with_destination_industry
from paths
group by 1
