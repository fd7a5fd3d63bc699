"""The `recordlinkage` toolkit on the same inputs as the pipeline's linkage (run in its own environment).

    python recordlinkage_baseline.py RECORDS.parquet REGISTRY.parquet OUT.parquet

Candidate pairs from the same kinds of blocks the pipeline uses (ID, full name and birth year, given name
and date of birth), compared on ID, name, date of birth and sex, classified by the toolkit's unsupervised
ECM (expectation-conditional maximisation) classifier; the best-scoring registry person per record wins.
Run by benchmarks/linkage_comparison.py, which owns the environment (recordlinkage needs pandas < 3).
"""

import resource
import sys
import time

import pandas as pd
import recordlinkage


def main(records_path: str, registry_path: str, out_path: str) -> None:
    started = time.perf_counter()
    records = pd.read_parquet(records_path).set_index("unique_id")
    registry = pd.read_parquet(registry_path).set_index("unique_id")
    indexer = recordlinkage.Index()
    indexer.block(left_on="so_dinh_danh", right_on="so_dinh_danh")
    indexer.block(left_on=["name_key", "birth_year"], right_on=["name_key", "birth_year"])
    indexer.block(left_on=["given_key", "ngay_sinh"], right_on=["given_key", "ngay_sinh"])
    pairs = indexer.index(records, registry)
    compare = recordlinkage.Compare()
    compare.exact("so_dinh_danh", "so_dinh_danh", label="id")
    compare.string("name_key", "name_key", method="jarowinkler", threshold=0.92, label="name")
    compare.exact("ngay_sinh", "ngay_sinh", label="dob")
    compare.exact("gioi_tinh", "gioi_tinh", label="sex")
    features = compare.compute(pairs, records, registry)
    classifier = recordlinkage.ECMClassifier(binarize=0.5)
    classifier.fit(features)
    probabilities = pd.Series(classifier.prob(features), index=features.index, name="p")
    best = probabilities.reset_index()
    best.columns = ["record_id", "registry_id", "p"]
    best = best.sort_values("p", ascending=False).drop_duplicates("record_id")
    best = best[best["p"] >= 0.5]
    best.to_parquet(out_path, index=False)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{seconds:.3f} {peak_mib:.1f} {len(pairs)}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
