{{ config(alias='unit_ranking', materialized='view') }}
-- The monthly ranking of the 62 units (the ministries' monthly scoring): per month and criterion, and
-- overall, each unit's pass rate on its latest scorecard measured up to the end of that month, its rank,
-- and the change since the month before. A unit that sent nothing new keeps its latest scorecard (whose
-- living rate is 0 once the extract is stale); a unit never scored yet is listed without a rank.
with scorecard as (
    select * from {{ source('quality', 'scorecard') }}
    where measured_at is not null
),

units as (
    select unit_code, name as unit_name from {{ ref('ref_source_units') }}
),

months as (
    select distinct cast(date_trunc('month', measured_at) as date) as month
    from scorecard
),

-- Each unit's latest pass rate per criterion as of the end of each month.
latest_by_month as (
    select
        months.month,
        scorecard.unit_code,
        scorecard.criterion,
        max_by(scorecard.pass_rate, scorecard.measured_at) as pass_rate
    from months
    join scorecard on scorecard.measured_at < months.month + interval 1 month
    group by all
),

-- Overall: the mean of the four criteria, each weighing the same.
rates as (
    select month, unit_code, criterion, pass_rate from latest_by_month
    union all
    select month, unit_code, 'overall' as criterion, avg(pass_rate) as pass_rate
    from latest_by_month
    group by all
    having count(*) = 4
),

criteria as (
    select unnest(['correct', 'sufficient', 'clean', 'living', 'overall']) as criterion
),

grid as (
    select months.month, units.unit_code, units.unit_name, criteria.criterion
    from months
    cross join units
    cross join criteria
),

ranked as (
    select
        grid.month,
        grid.unit_code,
        grid.unit_name,
        grid.criterion,
        rates.pass_rate,
        -- Rates equal to six decimals share a rank; units without a rate are not ranked.
        case when rates.pass_rate is not null then
            rank() over (partition by grid.month, grid.criterion order by round(rates.pass_rate, 6) desc nulls last)
        end as unit_rank,
        count(rates.pass_rate) over (partition by grid.month, grid.criterion) as units_ranked
    from grid
    left join rates using (month, unit_code, criterion)
),

with_previous as (
    select
        *,
        lag(unit_rank) over (partition by unit_code, criterion order by month) as previous_rank,
        lag(pass_rate) over (partition by unit_code, criterion order by month) as previous_pass_rate
    from ranked
)

select
    month,
    unit_code,
    unit_name,
    criterion,
    pass_rate,
    unit_rank,
    units_ranked,
    previous_rank,
    previous_pass_rate,
    -- Positive: the unit moved up (a smaller rank number than the month before).
    previous_rank - unit_rank as rank_change,
    pass_rate - previous_pass_rate as pass_rate_change
from with_previous
