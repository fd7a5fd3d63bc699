"""Where every benchmark's JSON result goes, written and echoed the same way."""

import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_result(result: dict, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=2, default=str)
    out.write_text(text + "\n", encoding="utf-8")
    print(text)
