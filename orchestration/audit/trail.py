"""The audit trail of a published record, built from the warehouse alone (and the dbt manifest).

Given a person token, for each record published under it: the publication snapshot, the extract row it
came from (file, SHA-256 — checked against the file on disk — row number, load run), the dbt models it went
through, the link decision and its per-comparison match weights, the record rules and unit gates it passed,
and its versions in history.

A record of the current snapshot is traced through the working tables (raw.extracts, link.*, quality.*) as
long as they still hold its load; a record of a past snapshot, or one whose unit has loaded again since, is
traced through what its publication kept (published.record_history, published.snapshot_gates). The trail
carries no name, date of birth or ID: only the token, the unit's record id and lineage.
"""

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb

from orchestration.columns import canonical_column
from orchestration.ingest.landing import file_sha256
from orchestration.ingest.readers import ExtractReadError, read_extract
from orchestration.publish.history import (
    last_published,
    published_state,
    record_versions,
    resolve_as_of,
    versioned_columns,
)
from orchestration.resources import DBT_PROJECT_DIR

MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
# The chain a record goes through: from the source table of extract rows to the conformed record and its flags.
LINEAGE_SOURCE = ("raw", "extracts")
LINEAGE_TARGETS = (("marts", "fct_civil_servant_records"), ("quality", "record_flags"))
TOKEN_PATTERN = re.compile(r"[0-9a-f]{64}")
# Tables a trail reads that only exist in a warehouse this version of the pipeline has written.
REQUIRED_TABLES = ("published.record_history", "published.snapshot_gates", "published.snapshots")


@dataclass
class Snapshot:
    unit_code: str
    load_id: str
    source_file: str
    extract_date: date
    outcome: str
    rows_read: int
    rows_published: int
    rows_quarantined: int
    published_at: datetime
    published_rows_sha256: str | None  # as recorded in published.audit_log
    is_current: bool


@dataclass
class SourceRow:
    source_file: str
    file_sha256: str
    source_row: int
    extract_date: date
    load_id: str
    loaded_at: datetime | None
    rows_in_file: int | None
    file_on_disk: str  # "matches" (same SHA-256), "differs" or "missing"
    row_checked_in: str | None  # "raw.extracts" or "landing file": where the row's record id was read back
    row_ma_ho_so_matches: bool | None


@dataclass
class ModelStep:
    relation: str
    resource_type: str
    materialized: str | None
    code_sha256: str | None
    other_inputs: list[str]
    rows_for_record: int | None  # rows of this record in the relation now; None when it holds another load


@dataclass
class Evidence:
    comparison: str
    weight: float | None


@dataclass
class LinkDecision:
    decision: str | None
    stage: str | None
    match_status: str | None
    match_probability: float | None
    match_weight: float | None
    model_version: str | None
    read_from: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Flag:
    criterion: str
    rule: str
    severity: str
    detail: str | None


@dataclass
class Gate:
    criterion: str
    expectation: str
    column_name: str | None
    blocking: bool
    success: bool
    observed: str | None


@dataclass
class Version:
    change: str
    snapshot_load_id: str
    recorded_at: datetime
    changed_columns: list[str]
    in_effect: bool


@dataclass
class RecordTrail:
    unit_code: str
    ma_ho_so: str
    snapshot: Snapshot | None
    source: SourceRow
    models: list[ModelStep]
    link: LinkDecision | None
    flags_read_from: str
    flags: list[Flag]
    gates_read_from: str
    gates: list[Gate]
    versions: list[Version]


@dataclass
class Trail:
    person_token: str
    as_of: datetime | None
    basis: str  # "current snapshot", "history" or "not found"
    dbt_manifest: dict
    records: list[RecordTrail]


def is_token(value: str) -> bool:
    return bool(TOKEN_PATTERN.fullmatch(value))


def missing_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    present = {f"{schema}.{name}" for schema, name in con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = current_database()"
    ).fetchall()}
    return [table for table in REQUIRED_TABLES if table not in present]


def build_trail(
    con: duckdb.DuckDBPyConnection, person_token: str, as_of: str | None, data_dir: Path,
    manifest_path: Path = MANIFEST_PATH,
) -> Trail:
    """The trail of every record published under the token: now, or as of a load id or timestamp."""
    if not is_token(person_token):
        raise ValueError("a person token is 64 lower-case hexadecimal characters")
    at, basis, rows = _published_rows(con, person_token, as_of)
    manifest = _read_manifest(manifest_path)
    steps = dbt_lineage(manifest) if manifest else []
    records = [_record_trail(con, row, data_dir, steps) for row in rows]
    return Trail(person_token, at, basis, _manifest_summary(manifest, manifest_path), records)


def _published_rows(con: duckdb.DuckDBPyConnection, token: str, as_of: str | None
                    ) -> tuple[datetime | None, str, list[dict]]:
    """The token's published rows: current ones, or those of the snapshot in effect at the as-of time.

    Without an as-of time, a token no longer published is traced in the last snapshot that held it.
    """
    if as_of is None:
        current = _rows(con, "select * from published.civil_servants where person_token = ? "
                             "order by unit_code, source_row", [token])
        if current:
            return None, "current snapshot", current
        at = last_published(con, token)
        if at is None:
            return None, "not found", []
    else:
        at = resolve_as_of(con, as_of)
    return at, "history", published_state(con, at, person_token=token).to_pylist()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[dict]:
    cursor = con.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _record_trail(con: duckdb.DuckDBPyConnection, row: dict, data_dir: Path, steps: list[dict]) -> RecordTrail:
    versions = record_versions(con, row["unit_code"], row["ma_ho_so"])
    in_effect = _version_in_effect(versions, row["published_at"])
    loaded_now = _working_tables_hold(con, row)
    flags_from, flags = _flags(con, row, in_effect, loaded_now)
    gates_from, gates = _gates(con, row)
    return RecordTrail(
        unit_code=row["unit_code"],
        ma_ho_so=row["ma_ho_so"],
        snapshot=_snapshot(con, row),
        source=_source_row(con, row, data_dir, loaded_now),
        models=[_model_step(con, step, row, loaded_now) for step in steps],
        link=_link(con, row, in_effect),
        flags_read_from=flags_from,
        flags=flags,
        gates_read_from=gates_from,
        gates=gates,
        versions=_versions(con, versions, in_effect),
    )


def _version_in_effect(versions: list[dict], published_at: datetime) -> dict | None:
    """The history row the published row was rebuilt from: the last recorded at or before its publication."""
    applicable = [v for v in versions if v["recorded_at"] <= published_at and v["change"] != "removed"]
    return applicable[-1] if applicable else None


def _working_tables_hold(con: duckdb.DuckDBPyConnection, row: dict) -> bool:
    """Whether raw.extracts (and so the models, links and flags built from it) still holds the row's load."""
    return con.execute(
        "select count(*) from raw.extracts where source_file = ? and source_row = ? and load_id = ?",
        [row["source_file"], row["source_row"], row["load_id"]],
    ).fetchall()[0][0] > 0


def _snapshot(con: duckdb.DuckDBPyConnection, row: dict) -> Snapshot | None:
    found = _rows(con, """
        select s.unit_code, s.load_id, s.source_file, s.extract_date, s.outcome, s.rows_read, s.rows_published,
            s.rows_quarantined, s.decided_at as published_at,
            (select any_value(a.sha256) from published.audit_log a
             where a.kind = 'publish' and a.unit_code = s.unit_code and a.recorded_at = s.decided_at)
                as published_rows_sha256,
            s.decided_at = (select max(decided_at) from published.snapshots
                            where unit_code = s.unit_code and outcome = 'published') as is_current
        from published.snapshots s
        where s.unit_code = ? and s.load_id = ? and s.decided_at = ? and s.outcome = 'published'
    """, [row["unit_code"], row["load_id"], row["published_at"]])
    return Snapshot(**found[0]) if found else None


def _source_row(con: duckdb.DuckDBPyConnection, row: dict, data_dir: Path, loaded_now: bool) -> SourceRow:
    load = con.execute(
        "select any_value(loaded_at), any_value(row_count) from raw.extract_loads "
        "where load_id = ? and unit_code = ? and source_file = ?",
        [row["load_id"], row["unit_code"], row["source_file"]],
    ).fetchall()[0]
    path = data_dir / row["source_file"]
    on_disk = "missing" if not path.is_file() else (
        "matches" if file_sha256(path) == row["file_sha256"] else "differs")
    checked_in, matches = None, None
    if loaded_now:
        checked_in, matches = "raw.extracts", _raw_row_ma_ho_so(con, row) == row["ma_ho_so"]
    elif on_disk == "matches":
        value = _file_row_ma_ho_so(path, row["source_row"])
        if value is not None:
            checked_in, matches = "landing file", value == row["ma_ho_so"]
    return SourceRow(row["source_file"], row["file_sha256"], row["source_row"], row["extract_date"], row["load_id"],
                     load[0], load[1], on_disk, checked_in, matches)


def _raw_row_ma_ho_so(con: duckdb.DuckDBPyConnection, row: dict) -> str | None:
    return con.execute(
        "select any_value(ma_ho_so) from raw.extracts where source_file = ? and source_row = ? and load_id = ?",
        [row["source_file"], row["source_row"], row["load_id"]],
    ).fetchall()[0][0]


def _file_row_ma_ho_so(path: Path, source_row: int) -> str | None:
    """The record id in a row of a landing file, read again with the ingest readers (rows count from 1)."""
    try:
        extract = read_extract(path)
    except ExtractReadError:
        return None
    position = next((i for i, header in enumerate(extract.headers)
                     if header and canonical_column(header) == "ma_ho_so"), None)
    if position is None or not 1 <= source_row <= len(extract.rows):
        return None
    cells = extract.rows[source_row - 1]
    value = cells[position] if position < len(cells) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


# ---------------------------------------------------------------- dbt lineage


def _read_manifest(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _manifest_summary(manifest: dict | None, path: Path) -> dict:
    if manifest is None:
        return {"path": str(path), "found": False}
    metadata = manifest.get("metadata", {})
    return {"path": str(path), "found": True, "generated_at": metadata.get("generated_at"),
            "dbt_version": metadata.get("dbt_version")}


def _relation(node: dict) -> tuple[str, str]:
    if node["resource_type"] == "source":
        return node["schema"], node.get("identifier") or node["name"]
    return node["schema"], node.get("alias") or node["name"]


def dbt_lineage(manifest: dict) -> list[dict]:
    """The dbt nodes on every path from the extract rows' source to the conformed record and its flags,
    in build order, each with its other inputs (reference seeds, the registry, links)."""
    nodes = {**manifest["nodes"], **manifest["sources"]}
    by_relation = {_relation(node): uid for uid, node in nodes.items() if node["resource_type"] in ("model", "source")}
    source = by_relation[LINEAGE_SOURCE]
    targets = [by_relation[relation] for relation in LINEAGE_TARGETS]
    chain = _reachable(targets, manifest["parent_map"]) & _reachable([source], manifest["child_map"])
    depth = _depths(chain, manifest["parent_map"])
    steps = []
    for uid in sorted(chain, key=lambda u: (depth[u], _relation(nodes[u]))):
        node = nodes[uid]
        others = [p for p in manifest["parent_map"].get(uid, []) if p not in chain and p in nodes]
        steps.append({
            "relation": ".".join(_relation(node)),
            "resource_type": node["resource_type"],
            "materialized": node.get("config", {}).get("materialized") if node["resource_type"] == "model" else None,
            "code_sha256": node.get("checksum", {}).get("checksum") if node["resource_type"] == "model" else None,
            "other_inputs": sorted(".".join(_relation(nodes[p])) for p in others),
        })
    return steps


def _reachable(start: list[str], edges: dict[str, list[str]]) -> set[str]:
    seen, pending = set(start), list(start)
    while pending:
        for neighbour in edges.get(pending.pop(), []):
            if neighbour not in seen:
                seen.add(neighbour)
                pending.append(neighbour)
    return seen


def _depths(chain: set[str], parent_map: dict[str, list[str]]) -> dict[str, int]:
    """Longest distance from the chain's start: an order in which dbt builds the chain."""
    depth: dict[str, int] = {}

    def of(uid: str) -> int:
        if uid not in depth:
            parents = [p for p in parent_map.get(uid, []) if p in chain]
            depth[uid] = 1 + max((of(p) for p in parents), default=-1)
        return depth[uid]

    for uid in chain:
        of(uid)
    return depth


def _model_step(con: duckdb.DuckDBPyConnection, step: dict, row: dict, loaded_now: bool) -> ModelStep:
    return ModelStep(**step, rows_for_record=_rows_for_record(con, step["relation"], row) if loaded_now else None)


def _rows_for_record(con: duckdb.DuckDBPyConnection, relation: str, row: dict) -> int | None:
    """How many rows of the relation are this record's (the flags model: one per rule that fired)."""
    schema, name = relation.split(".", 1)
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns "
        "where table_catalog = current_database() and table_schema = ? and table_name = ?", [schema, name],
    ).fetchall()}
    if not {"source_file", "source_row"} <= columns:
        return None
    return con.execute(
        f'select count(*) from "{schema}"."{name}" where source_file = ? and source_row = ?',
        [row["source_file"], row["source_row"]],
    ).fetchall()[0][0]


# ---------------------------------------------------------------- link, checks, versions


def _link(con: duckdb.DuckDBPyConnection, row: dict, version: dict | None) -> LinkDecision | None:
    keys = [row["source_file"], row["source_row"], row["load_id"]]
    live = _rows(con, """
        select decision, stage, match_status, match_probability, match_weight, model_version
        from link.record_links where source_file = ? and source_row = ? and load_id = ?
    """, keys)
    if live:
        evidence = con.execute(
            "select comparison, weight from link.link_evidence "
            "where source_file = ? and source_row = ? and load_id = ? order by comparison", keys,
        ).fetchall()
        return LinkDecision(**live[0], read_from="link.record_links, link.link_evidence",
                            evidence=[Evidence(c, w) for c, w in evidence])
    if version is None:
        return None
    return LinkDecision(
        version["link_decision"], version["link_stage"], version["match_status"], version["match_probability"],
        version["match_weight"], version["model_version"], read_from="published.record_history",
        evidence=[Evidence(e["comparison"], e["weight"]) for e in version["link_evidence"] or []],
    )


def _flags(con: duckdb.DuckDBPyConnection, row: dict, version: dict | None, loaded_now: bool
           ) -> tuple[str, list[Flag]]:
    """Record rules that fired on the record (a published record has warnings only)."""
    if loaded_now:
        flags = con.execute(
            "select criterion, rule, severity, detail from quality.record_flags "
            "where source_file = ? and source_row = ? order by criterion, rule",
            [row["source_file"], row["source_row"]],
        ).fetchall()
        return "quality.record_flags", [Flag(*flag) for flag in flags]
    warnings = (version or {}).get("warnings") or []
    return "published.record_history", [Flag(w["criterion"], w["rule"], "warning", None) for w in warnings]


_GATE_COLUMNS = "criterion, expectation, column_name, blocking, success, observed"


def _gates(con: duckdb.DuckDBPyConnection, row: dict) -> tuple[str, list[Gate]]:
    """The unit's quality gates for the record's load; kept with its publication once the unit reloads."""
    live = con.execute(
        f"select {_GATE_COLUMNS} from quality.gate_results where unit_code = ? and load_id = ? "
        "order by criterion, expectation, column_name", [row["unit_code"], row["load_id"]],
    ).fetchall()
    if live:
        return "quality.gate_results", [Gate(*gate) for gate in live]
    kept = con.execute(
        f"select {_GATE_COLUMNS} from published.snapshot_gates where unit_code = ? and load_id = ? "
        "and decided_at = ? order by criterion, expectation, column_name",
        [row["unit_code"], row["load_id"], row["published_at"]],
    ).fetchall()
    return "published.snapshot_gates", [Gate(*gate) for gate in kept]


def _versions(con: duckdb.DuckDBPyConnection, versions: list[dict], in_effect: dict | None) -> list[Version]:
    """Each history row of the record, with the columns (names only) it changed from the one before."""
    compared = versioned_columns(con)
    trail, previous = [], None
    for version in versions:
        changed = [] if previous is None or version["change"] == "removed" else [
            column for column in compared if version[column] != previous[column]]
        trail.append(Version(version["change"], version["snapshot_load_id"], version["recorded_at"], changed,
                             version is in_effect))
        previous = version
    return trail


# ---------------------------------------------------------------- rendering


def to_json(trail: Trail) -> str:
    return json.dumps(asdict(trail), indent=2, ensure_ascii=False, default=str)


def to_markdown(trail: Trail) -> str:
    lines = [f"# Audit trail of person token `{trail.person_token}`", ""]
    when = "now" if trail.as_of is None else f"as of {trail.as_of.isoformat(sep=' ')}"
    lines += [f"- Published records: {len(trail.records)} ({trail.basis}, {when})", ""]
    if not trail.records:
        lines.append("No published record carries this token at that time.")
    for record in trail.records:
        lines += _record_markdown(record, trail.dbt_manifest)
    return "\n".join(lines) + "\n"


def _record_markdown(record: RecordTrail, manifest: dict) -> list[str]:
    lines = [f"## {record.unit_code}, record id `{record.ma_ho_so}`", ""]
    lines += _snapshot_markdown(record.snapshot)
    lines += _source_markdown(record.source)
    lines += _models_markdown(record.models, manifest)
    lines += _link_markdown(record.link)
    lines += _checks_markdown(record)
    lines += _versions_markdown(record.versions)
    return lines


def _snapshot_markdown(snapshot: Snapshot | None) -> list[str]:
    if snapshot is None:
        return ["### Publication snapshot", "", "No publication decision matches this row.", ""]
    state = "current" if snapshot.is_current else "past"
    return [
        "### Publication snapshot", "",
        f"- {state} snapshot of {snapshot.unit_code}, published {snapshot.published_at.isoformat(sep=' ')}",
        f"- load `{snapshot.load_id}`, extract `{snapshot.source_file}` dated {snapshot.extract_date}",
        f"- rows read {snapshot.rows_read}, published {snapshot.rows_published}, "
        f"quarantined {snapshot.rows_quarantined}",
        f"- SHA-256 of the published rows (audit log): `{snapshot.published_rows_sha256}`", "",
    ]


def _source_markdown(source: SourceRow) -> list[str]:
    checked = "not read back" if source.row_checked_in is None else (
        f"read back from {source.row_checked_in}: record id "
        f"{'matches' if source.row_ma_ho_so_matches else 'DOES NOT match'}")
    return [
        "### Source row", "",
        f"- file `{source.source_file}`, row {source.source_row} (data rows counted from 1), dated "
        f"{source.extract_date}",
        f"- SHA-256 `{source.file_sha256}`; the file on disk {source.file_on_disk}",
        f"- loaded by run `{source.load_id}` at {source.loaded_at}, {source.rows_in_file} rows in the file",
        f"- row {checked}", "",
    ]


def _models_markdown(models: list[ModelStep], manifest: dict) -> list[str]:
    if not manifest.get("found"):
        return ["### dbt models", "", f"No dbt manifest at `{manifest['path']}`.", ""]
    lines = ["### dbt models", "", f"From the manifest generated {manifest['generated_at']} "
             f"(dbt {manifest['dbt_version']}), in build order:", ""]
    for step in models:
        kind = step.materialized or step.resource_type
        held = "" if step.rows_for_record is None else f"; rows of this record now: {step.rows_for_record}"
        inputs = f"; also reads {', '.join(step.other_inputs)}" if step.other_inputs else ""
        code = f"; code SHA-256 `{step.code_sha256[:12]}…`" if step.code_sha256 else ""
        lines.append(f"1. `{step.relation}` ({kind}){code}{inputs}{held}")
    return [*lines, ""]


def _link_markdown(link: LinkDecision | None) -> list[str]:
    if link is None:
        return ["### Link to the population registry", "", "No link decision was kept for this row.", ""]
    lines = [
        "### Link to the population registry", "",
        f"- decision {link.decision} by stage {link.stage} (status {link.match_status}), "
        f"match probability {link.match_probability}, match weight {link.match_weight}",
        f"- model version `{link.model_version}`; read from {link.read_from}",
    ]
    if link.evidence:
        lines += ["", "| comparison | match weight |", "| --- | --- |"]
        lines += [f"| {e.comparison} | {e.weight} |" for e in link.evidence]
    else:
        lines.append("- no per-comparison weights: a deterministic stage decided the link")
    return [*lines, ""]


def _checks_markdown(record: RecordTrail) -> list[str]:
    lines = ["### Checks", "", f"Record rules (from {record.flags_read_from}): no blocking rule fired"]
    lines += [f"- warning {f.criterion}.{f.rule}" + (f": {f.detail}" if f.detail else "") for f in record.flags]
    passed = sum(1 for gate in record.gates if gate.success)
    lines += ["", f"Unit gates (from {record.gates_read_from}): {passed} of {len(record.gates)} expectations passed",
              "", "| criterion | expectation | column | blocking | passed | observed |",
              "| --- | --- | --- | --- | --- | --- |"]
    lines += [f"| {g.criterion} | {g.expectation} | {g.column_name or ''} | {g.blocking} | {g.success} | "
              f"{g.observed or ''} |" for g in record.gates]
    return [*lines, ""]


def _versions_markdown(versions: list[Version]) -> list[str]:
    lines = ["### Versions in history", "", "| recorded | change | snapshot load | changed columns | shown |",
             "| --- | --- | --- | --- | --- |"]
    lines += [f"| {v.recorded_at.isoformat(sep=' ')} | {v.change} | `{v.snapshot_load_id}` | "
              f"{', '.join(v.changed_columns)} | {'yes' if v.in_effect else ''} |" for v in versions]
    return [*lines, ""]
