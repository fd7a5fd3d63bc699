{{ per_unit_config() }}
{{ config(alias='record_flags') }}
-- Record-level rules of the four criteria: one row per (record, rule) that fires.
-- Blocking rules keep a record out of publication; warnings go to the unit's feedback only.
-- `detail` is the sentence the unit reads, in Vietnamese, without repeating personal values. Each branch
-- emits a rule name and its detail; the rule's criterion, severity, Vietnamese label and what it checks are
-- in the seed ref_record_rules (docs/quality-rules.md).
{%- set unit_text_columns = ['ho_va_ten', 'co_quan', 'chuc_vu', 'trinh_do_chuyen_mon', 'que_quan', 'noi_thuong_tru'] %}
-- The run's units' records (all units on a full build); cross-unit rules read the others, never rebuild them.
with records as (
    select * from {{ ref('fct_civil_servant_records') }}
    where {{ run_units_filter() }}
),

links as (
    select * from {{ source('link', 'record_links') }}
),

-- Each record with its link and, when the link is automatic, the registry person it describes. A
-- candidate waiting for review is not yet the person: no rule judges a record by it.
linked as (
    select
        records.*,
        links.decision,
        links.match_status,
        registry.so_dinh_danh as person_id,
        registry.ho_va_ten as registry_ho_va_ten,
        registry.ngay_sinh as registry_ngay_sinh,
        registry.gioi_tinh as registry_gioi_tinh,
        registry.trang_thai as registry_trang_thai,
        -- Identity is reference data: where the registry knows the person, its values decide the
        -- date-based rules, so a mistyped birth date on the record does not raise a second finding.
        coalesce(registry.ngay_sinh, records.ngay_sinh) as birth_date,
        coalesce(registry.gioi_tinh, records.gioi_tinh) as sex
    from records
    left join links
        on records.source_file = links.source_file and records.source_row = links.source_row
    left join {{ ref('dim_registry_persons') }} as registry
        on links.decision = 'auto_link' and links.so_dinh_danh = registry.so_dinh_danh
),

record_id_counts as (
    select unit_code, ma_ho_so, count(*) as copies
    from records
    where ma_ho_so is not null
    group by all
),

-- The template's columns with the label a unit's officer reads.
template_columns as (
    select column_name, label_vi from {{ ref('ref_template_columns') }}
),

unit_names as (
    select unit_code, name from {{ ref('ref_source_units') }}
),

required_fields as (
    select blanks.*, template_columns.label_vi as field_label_vi
    from (
        {% for field in ['ma_ho_so', 'ho_va_ten', 'ngay_sinh', 'gioi_tinh', 'loai', 'co_quan', 'ma_ngach', 'trang_thai'] -%}
        {%- set sent = field if field in ['ma_ho_so', 'co_quan', 'ma_ngach'] else field ~ '_sent' %}
        select unit_code, source_file, source_row, ma_ho_so, '{{ field }}' as field
        from records where {{ sent }} is null
        {{ "union all" if not loop.last }}
        {% endfor %}
    ) as blanks
    join template_columns on template_columns.column_name = blanks.field
),

-- Records of registry persons, to find the same person on several records.
person_records as (
    select
        unit_code, source_file, source_row, ma_ho_so, person_id, trang_thai,
        ho_va_ten, ngay_sinh, ngay_sinh_precision, gioi_tinh
    from linked
    where person_id is not null
),

-- Every unit's records of registry persons: the other side of the cross-unit rules, read as they are.
every_unit_person_records as (
    select
        every_unit.unit_code, every_unit.source_file, every_unit.source_row, every_unit.ma_ho_so,
        links.so_dinh_danh as person_id, every_unit.trang_thai, every_unit.ho_va_ten, every_unit.ngay_sinh,
        every_unit.ngay_sinh_precision, every_unit.gioi_tinh
    from {{ ref('fct_civil_servant_records') }} as every_unit
    join links on every_unit.source_file = links.source_file and every_unit.source_row = links.source_row
    where links.decision = 'auto_link' and links.so_dinh_danh is not null
),

-- The same person on another record of the same unit's extract (two record ids for one person).
same_unit_duplicates as (
    select
        this.source_file, this.source_row,
        count(*) as other_records,
        string_agg(distinct other.ma_ho_so, ', ' order by other.ma_ho_so) as other_record_ids
    from person_records as this
    join person_records as other
        on this.person_id = other.person_id and this.unit_code = other.unit_code
        and not (this.source_file = other.source_file and this.source_row = other.source_row)
    group by all
),

-- The same person on the roster of another unit: a transfer (one side says Chuyển công tác) or a
-- concurrent post. Both sides are flagged and each names the other unit, never the person.
other_unit_records as (
    select
        this.source_file, this.source_row,
        string_agg(distinct other_unit.name, ', ' order by other_unit.name) as other_units,
        bool_or('chuyen_cong_tac' in (this.trang_thai, other.trang_thai)) as transfer,
        -- Identity as each unit conformed it: a disagreement means one of the units holds a wrong value.
        string_agg(distinct other_unit.name, ', ' order by other_unit.name) filter (
            where this.ho_va_ten is distinct from other.ho_va_ten
                or this.ngay_sinh is distinct from other.ngay_sinh
                or this.ngay_sinh_precision is distinct from other.ngay_sinh_precision
                or this.gioi_tinh is distinct from other.gioi_tinh
        ) as conflicting_units,
        concat_ws(', ',
            case when bool_or(this.ho_va_ten is distinct from other.ho_va_ten) then 'họ tên' end,
            case when bool_or(this.ngay_sinh is distinct from other.ngay_sinh
                or this.ngay_sinh_precision is distinct from other.ngay_sinh_precision) then 'ngày sinh' end,
            case when bool_or(this.gioi_tinh is distinct from other.gioi_tinh) then 'giới tính' end
        ) as conflicting_fields
    from person_records as this
    join every_unit_person_records as other
        on this.person_id = other.person_id and this.unit_code <> other.unit_code
    join unit_names as other_unit on other_unit.unit_code = other.unit_code
    group by all
),

-- A hometown on 2025 units names a 2025 ward and its province ("ward, province"), as residences do.
wards_2025 as (
    select
        ward.name || ', ' || province.name as written,
        {{ admin_key('ward.name') }} as ward_key,
        {{ admin_key('province.name') }} as province_key
    from {{ ref('ref_wards_2025') }} as ward
    join {{ ref('ref_provinces_2025') }} as province using (province_code)
),

-- Most hometowns are written exactly as the catalogue names them; only the others are compared by key
-- (without type words, case and diacritics), because computing a key costs a text normalisation per row.
hometowns_not_written_as_catalogued as (
    select
        source_file, source_row,
        list_transform(string_split(que_quan, ','), lambda part: trim(part)) as parts
    from records
    where que_quan is not null
        and not exists (select 1 from wards_2025 where wards_2025.written = records.que_quan)
),

hometowns_not_2025 as (
    select source_file, source_row
    from hometowns_not_written_as_catalogued as hometowns
    where not exists (
        select 1 from wards_2025
        where len(hometowns.parts) = 2
            and wards_2025.ward_key = {{ admin_key('hometowns.parts[1]') }}
            and wards_2025.province_key = {{ admin_key('hometowns.parts[2]') }}
    )
),

-- Unit-owned text that is still not normalised after conform, by column (named by its label).
unnormalised_text_columns as (
    select
        unit_code, source_file, source_row, ma_ho_so,
        [
            {%- for column in unit_text_columns %}
            case when {{ text_not_normalised(column) }} then '{{ column }}' end{{ "," if not loop.last }}
            {%- endfor %}
        ] as column_names
    from records
    where {% for column in unit_text_columns %}{{ text_not_normalised(column) }}{{ " or " if not loop.last }}{% endfor %}
),

unnormalised_text as (
    select
        unnormalised.unit_code, unnormalised.source_file, unnormalised.source_row, unnormalised.ma_ho_so,
        string_agg(template_columns.label_vi, ', ' order by template_columns.label_vi) as columns
    from unnormalised_text_columns as unnormalised
    join template_columns on list_contains(unnormalised.column_names, template_columns.column_name)
    group by all
),

flags as (
    -- correct (đúng)
    select unit_code, source_file, source_row, ma_ho_so, 'id_invalid' as rule,
        'Số định danh cá nhân không phải 12 chữ số, cũng không phải số chứng minh nhân dân cũ 9 chữ số.' as detail
    from records where id_kind = 'invalid'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'id_old_cmnd',
        'Đơn vị gửi số chứng minh nhân dân cũ 9 chữ số thay cho số định danh cá nhân 12 chữ số.'
    from records where id_kind = 'cmnd'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'id_structure',
        'Số định danh 12 chữ số không khớp với mã tỉnh, mã thế kỷ và giới tính hoặc năm sinh.'
    from records
    where id_kind = 'cccd'
        and (not id_prefix_valid or not coalesce(id_century_sex_matches, true)
             or not coalesce(id_birth_year_matches, true))
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'dob_invalid',
        'Ngày sinh không đúng định dạng ngày tháng năm.'
    from records where ngay_sinh_precision = 'invalid'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'sex_invalid',
        'Giới tính không phải Nam hoặc Nữ.'
    from records where gioi_tinh is null and gioi_tinh_sent is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'rank_malformed',
        'Mã ngạch không có dạng NN.NNN hoặc V.NN.NN.NN.'
    from records where ma_ngach is not null and not rank_code_well_formed
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'rank_unknown',
        'Mã ngạch đúng dạng nhưng không có trong danh mục ngạch, chức danh nghề nghiệp.'
    from records where rank_code_well_formed and not rank_in_catalogue
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'coefficient_off_scale',
        'Hệ số lương không phải một bậc lương của nhóm ngạch theo bảng lương.'
    from records where rank_in_catalogue and he_so_luong is not null and not coefficient_on_pay_scale
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'not_in_registry',
        'Không tìm thấy người nào trong Cơ sở dữ liệu quốc gia về dân cư khớp với hồ sơ này.'
    from linked where decision = 'no_link'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'link_in_review',
        'Kết quả đối chiếu với Cơ sở dữ liệu quốc gia về dân cư chưa chắc chắn, đang chờ cán bộ xác minh.'
    from linked where decision = 'review'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'id_wrong',
        'Đã tìm thấy người này trong Cơ sở dữ liệu quốc gia về dân cư, nhưng số định danh đơn vị gửi là của người khác hoặc không có thật.'
    from linked where match_status = 'id_wrong'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'name_differs_from_registry',
        'Họ tên khác với Cơ sở dữ liệu quốc gia về dân cư (chính tả, dấu hoặc thiếu chữ); '
        || 'họ tên theo Cơ sở dữ liệu quốc gia về dân cư được công bố.'
    from linked where ho_va_ten <> registry_ho_va_ten
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'dob_differs_from_registry',
        'Ngày sinh khác với Cơ sở dữ liệu quốc gia về dân cư (nhầm ngày với tháng hoặc ngày khác); '
        || 'ngày sinh theo Cơ sở dữ liệu quốc gia về dân cư được công bố.'
    from linked
    where case
        when ngay_sinh_precision = 'day' and not ngay_sinh_placeholder then ngay_sinh <> registry_ngay_sinh
        -- A year alone or a 01/01 placeholder has its own rule; here only its year is compared.
        else year(ngay_sinh) <> year(registry_ngay_sinh)
    end
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'sex_differs_from_registry',
        'Giới tính khác với Cơ sở dữ liệu quốc gia về dân cư; giới tính theo Cơ sở dữ liệu quốc gia về dân cư được công bố.'
    from linked where gioi_tinh <> registry_gioi_tinh
    union all
    -- A real 1 January birthday is no placeholder: when the registry holds the same date, no finding.
    select unit_code, source_file, source_row, ma_ho_so, 'dob_placeholder',
        'Ngày sinh là 01/01, thường là ngày điền tạm khi không rõ ngày sinh.'
    from linked where ngay_sinh_placeholder and ngay_sinh is distinct from registry_ngay_sinh
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'dob_year_only',
        'Chỉ có năm sinh; cần gửi đủ ngày, tháng, năm sinh.'
    from records where ngay_sinh_precision = 'year'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'dob_implausible',
        'Ngày sinh trước năm 1940 hoặc sau ngày xuất dữ liệu.'
    from records where ngay_sinh < date '1940-01-01' or ngay_sinh > extract_date
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'recruited_under_18',
        'Ngày tuyển dụng trước khi người này đủ 18 tuổi.'
    from linked where ngay_tuyen_dung < birth_date + interval 18 year
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'date_in_future',
        'Ngày tuyển dụng hoặc ngày cập nhật sau ngày xuất dữ liệu.'
    from records where ngay_tuyen_dung > extract_date or ngay_cap_nhat > extract_date
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'category_unknown',
        'Loại không phải cán bộ, công chức hoặc viên chức.'
    from records where loai is null and loai_sent is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'status_unknown',
        'Trạng thái công tác không thuộc năm trạng thái của mẫu biểu.'
    from records where trang_thai is null and trang_thai_sent is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'ethnic_group_unknown',
        'Dân tộc không phải tên hoặc mã của một trong 54 dân tộc.'
    from records where dan_toc_unknown
    union all
    -- sufficient (đủ)
    select unit_code, source_file, source_row, ma_ho_so, 'required_missing',
        'Trường bắt buộc "' || field_label_vi || '" bị để trống.'
    from required_fields
    union all
    -- The template lets the ID be blank (the record can still be linked), but the national data set needs it.
    select unit_code, source_file, source_row, ma_ho_so, 'id_missing',
        'Số định danh cá nhân bị để trống; đề nghị gửi số định danh cá nhân 12 chữ số.'
    from records where id_kind = 'blank'
    union all
    -- clean (sạch)
    select records.unit_code, source_file, source_row, records.ma_ho_so, 'duplicate_record_id',
        'Mã hồ sơ xuất hiện ' || copies || ' lần trong tệp.'
    from records
    join record_id_counts using (unit_code, ma_ho_so)
    where copies > 1
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'duplicate_person',
        'Cùng một người còn có ' || other_records || ' hồ sơ khác trong tệp (mã hồ sơ '
        || other_record_ids || ').'
    from linked
    join same_unit_duplicates using (source_file, source_row)
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'person_in_two_units',
        'Cùng một người cũng có trong danh sách của ' || other_units
        || case when transfer
            then ': đang chuyển công tác; đơn vị nơi người này đã chuyển đi cần kết thúc hồ sơ.'
            else ': kiêm nhiệm; cả hai đơn vị cần ghi nhận là kiêm nhiệm.'
        end
    from linked
    join other_unit_records using (source_file, source_row)
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'identity_conflict_across_units',
        'Hồ sơ của cùng người này tại ' || conflicting_units || ' có ' || conflicting_fields || ' khác.'
    from linked
    join other_unit_records using (source_file, source_row)
    where conflicting_units is not null
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'text_not_normalised',
        'Nội dung các cột ' || columns || ' chưa ở dạng Unicode dựng sẵn (NFC) hoặc còn ký tự phông TCVN3/VNI.'
    from unnormalised_text
    union all
    -- A personal ID (12 digits) or an old CMND (9 digits) where shared outputs carry the unit's own text:
    -- publication replaces it (orchestration/publish/personal_ids.py); the unit is asked to stop sending it.
    select unit_code, source_file, source_row, ma_ho_so, 'personal_id_in_text',
        'Mã hồ sơ hoặc nội dung văn bản có chứa số định danh cá nhân hoặc số chứng minh nhân dân; số này được '
        || 'thay bằng mã ẩn khi công bố. Đề nghị dùng mã hồ sơ riêng của đơn vị và không ghi số định danh vào '
        || 'các cột văn bản.'
    from records
    where {% for column in ['ma_ho_so', 'co_quan', 'chuc_vu', 'trinh_do_chuyen_mon'] -%}
        regexp_matches({{ column }}, '(^|[^0-9])([0-9]{9}|[0-9]{12})([^0-9]|$)'){{ " or " if not loop.last }}
        {%- endfor %}
    union all
    -- living (sống)
    select unit_code, source_file, source_row, ma_ho_so, 'deceased_but_active',
        'Cơ sở dữ liệu quốc gia về dân cư ghi nhận người này đã mất, nhưng trạng thái vẫn là Đang công tác.'
    from linked where registry_trang_thai = 'da_mat' and trang_thai = 'dang_cong_tac'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'past_retirement_age',
        'Người này đã quá tuổi nghỉ hưu theo quy định nhưng trạng thái vẫn là Đang công tác.'
    from linked
    where trang_thai = 'dang_cong_tac' and birth_date is not null
        and date_diff('month', birth_date, extract_date) > {{ retirement_age_months('sex', 'year(extract_date)') }}
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'address_pre_2025',
        'Nơi thường trú ghi theo đơn vị hành chính trước năm 2025; đề nghị cập nhật theo xã, phường mới.'
    from records where residence_form in ('old', 'old_split')
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'address_unresolved',
        'Nơi thường trú không ghi rõ một xã, phường và tỉnh, thành phố đã biết.'
    from records where residence_form = 'unresolved'
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'hometown_not_2025',
        'Quê quán không ghi theo xã, phường và tỉnh, thành phố từ năm 2025; đề nghị ghi theo đơn vị hành chính mới.'
    from records
    join hometowns_not_2025 using (source_file, source_row)
    union all
    select unit_code, source_file, source_row, ma_ho_so, 'record_not_updated',
        'Hồ sơ đã quá {{ var("stale_record_months") }} tháng chưa được cập nhật.'
    from records
    where ngay_cap_nhat < extract_date - interval {{ var("stale_record_months") }} month
)

-- Each rule's criterion and severity are stated once, in the rule catalogue. A left join keeps a flag whose
-- rule the catalogue lacks: its null criterion and severity and the relationships test fail the build.
select
    flags.unit_code,
    flags.source_file,
    flags.source_row,
    flags.ma_ho_so,
    rules.criterion,
    flags.rule,
    rules.severity,
    flags.detail
from flags
left join {{ ref('ref_record_rules') }} as rules on rules.rule = flags.rule
