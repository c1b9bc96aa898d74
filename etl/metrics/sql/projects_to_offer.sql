-- How many completed micro-internships students had done when their first offer came (students with an offer;
-- paths: one row per student, from offer_paths.sql).
with paths as ({paths})
select projects_to_offer, count(*) as students
from paths
where projects_to_offer is not null
group by 1
