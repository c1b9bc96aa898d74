-- The values each sidebar filter offers, in display order (terms by date).
create or replace table filter_values as
select 'term' as column_name, term as value, row_number() over (order by min(term_start), term) as position
from fact_applications group by term
union all
select 'institution', institution, row_number() over (order by institution) from fact_applications group by institution
union all
select 'class_level', class_level, row_number() over (order by class_level) from fact_applications group by class_level
union all
select 'industry', industry, row_number() over (order by industry) from fact_applications group by industry
union all
select 'platform', platform, row_number() over (order by platform) from fact_applications group by platform
union all
select 'function', function, row_number() over (order by function) from fact_applications group by function
union all
select 'major', major, row_number() over (order by major) from fact_applications where major is not null group by major
union all
select 'college', college, row_number() over (order by college) from fact_applications where college is not null
group by college;

-- How many distinct values each grouping column of fact_applications holds, and how many students and projects
-- the keys number: the outcome query uses them to choose between a bitmap and a hash set for distinct counts.
create or replace table fact_sizes as
select
    (select count(*) from students) as students,
    (select count(*) from micro_internships) as projects,
    count(distinct industry) as industry,
    count(distinct function) as function,
    count(distinct platform) as platform,
    count(distinct channel) as channel,
    count(distinct employer) as employer,
    count(distinct employer_id) as employer_id,
    count(distinct project_id) as project_id,
    count(distinct institution) as institution,
    count(distinct class_level) as class_level,
    count(distinct first_generation) as first_generation,
    count(distinct pell_eligible) as pell_eligible,
    count(distinct remote) as remote,
    count(distinct pay_band) as pay_band,
    count(distinct hours_band) as hours_band,
    count(distinct term) as term,
    count(distinct gender) as gender,
    count(distinct race_ethnicity) as race_ethnicity,
    count(distinct major) as major,
    count(distinct college) as college
from fact_applications;
