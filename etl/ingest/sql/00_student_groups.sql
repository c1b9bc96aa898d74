-- How a yes/no attribute reads in every figure: 'yes', 'no', or 'unknown' when missing (docs/data-contract.md §4).
-- Written once here, as a macro kept in the warehouse, for students' and projects' attributes alike.
create or replace macro yes_no(flag) as case when flag then 'yes' when not flag then 'no' else 'unknown' end;

-- Each student's groups, coded once for every figure that groups students: text values as they are, booleans as
-- yes/no, a missing value as 'unknown'. student_key numbers the students 1..n so that exact distinct counts can be
-- taken as bitmaps (bitstring_agg); it is rebuilt with the table and means nothing outside it.
create or replace table student_groups as
select
    student_id,
    cast(row_number() over (order by student_id) as integer) as student_key,
    coalesce(institution, 'unknown') as institution,
    coalesce(class_level, 'unknown') as class_level,
    yes_no(first_generation) as first_generation,
    yes_no(pell_eligible) as pell_eligible,
    coalesce(gender, 'unknown') as gender,
    coalesce(race_ethnicity, 'unknown') as race_ethnicity,
    coalesce(major, 'unknown') as major,
    coalesce(college, 'unknown') as college
from students;
