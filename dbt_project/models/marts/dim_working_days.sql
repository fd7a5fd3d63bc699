-- Vietnamese working days: Monday to Friday, less the public holidays and the days off the government gives
-- in swap or compensation, plus the Saturdays it declares working days (seed ref_public_holidays, each day
-- with its source). working_day_number counts working days up to and including the day, so the working
-- days from one date to another are the difference of their numbers.
with days as (
    select cast(range as date) as day
    from range(date '2025-01-01', date '2028-01-01', interval 1 day)
),

holidays as (
    select cast(day as date) as day, kind, name_vi from {{ ref('ref_public_holidays') }}
),

calendar as (
    select
        days.day,
        holidays.kind as day_kind,
        holidays.name_vi as day_name_vi,
        case
            when holidays.kind = 'make_up_working_day' then true
            when holidays.kind is not null then false
            else isodow(days.day) <= 5
        end as is_working_day
    from days
    left join holidays using (day)
)

select
    day,
    is_working_day,
    day_kind,
    day_name_vi,
    sum(case when is_working_day then 1 else 0 end) over (order by day) as working_day_number
from calendar
