"""Linkage against the generator's truth: decisions and the match status a unit reads."""

from tests.conftest import PipelineData


def _status_by_defect(pipeline: PipelineData, defect: str) -> dict[str, int]:
    truth = pipeline.data_dir / "truth" / "records.parquet"
    return dict(pipeline.query(f"""
        select l.match_status, count(*)
        from link.record_links l join read_parquet('{truth}') t using (source_file, source_row)
        where t.defects like '%{defect}%' and t.defects not like '%,%'
        group by 1
    """))


def _share(counts: dict[str, int], status: str) -> float:
    return counts.get(status, 0) / max(sum(counts.values()), 1)


def test_clean_records_are_matched_to_their_own_registry_person(pipeline: PipelineData):
    truth = pipeline.data_dir / "truth" / "records.parquet"
    matched, total = pipeline.query(f"""
        select count(*) filter (where l.match_status = 'matched' and l.so_dinh_danh = t.true_so_dinh_danh),
               count(*)
        from link.record_links l join read_parquet('{truth}') t using (source_file, source_row)
        where coalesce(t.defects, '') = ''
    """)[0]
    assert total > 1000
    assert matched / total >= 0.99


def test_records_of_people_outside_the_registry_are_not_found(pipeline: PipelineData):
    counts = _status_by_defect(pipeline, "not_in_registry")
    assert sum(counts.values()) > 0
    assert _share(counts, "not_found") >= 0.95


def test_mistyped_ids_are_linked_to_the_right_person_and_reported(pipeline: PipelineData):
    counts = _status_by_defect(pipeline, "mistyped_id")
    assert sum(counts.values()) > 0
    assert _share(counts, "id_wrong") >= 0.8


def test_swapped_birth_dates_are_reported_as_dob_differs(pipeline: PipelineData):
    counts = _status_by_defect(pipeline, "dob_swapped")
    assert sum(counts.values()) > 0
    assert _share(counts, "dob_differs") >= 0.8


def test_every_record_has_exactly_one_link_row(pipeline: PipelineData):
    assert pipeline.scalar("""
        select count(*) from marts.fct_civil_servant_records r
        left join link.record_links l using (source_file, source_row) where l.decision is null
    """) == 0
    assert pipeline.scalar("""
        select count(*) from (select source_file, source_row from link.record_links group by all having count(*) > 1)
    """) == 0


def test_the_trained_model_is_saved_for_later_runs(pipeline: PipelineData):
    model = pipeline.data_dir / "models" / "splink_model.json"
    assert model.exists() and '"comparisons"' in model.read_text(encoding="utf-8")
