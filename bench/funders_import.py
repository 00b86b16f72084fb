"""Memory benchmark: reading a 360Giving JSON package stays flat whatever its size.

Setup: a package of ``--grants`` records (default 50,000; about 130 MB) written to a
temporary file, each a copy of the first real GrantNav sample record with its own id and a
description of ~500 characters (constructed; the shape is real).

Measured: the peak Python allocation (``tracemalloc``) while ``sources.threesixty.read_grants``
reads and checks every record, and the same for a file a tenth of the size: streaming means
the two peaks are about equal. Target: the large file's peak at most 8 MB
(``peak_ratio_to_target`` <= 1).

    .venv/bin/python bench/funders_import.py [--grants 50000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import tracemalloc
from pathlib import Path

from sources.threesixty import read_grants

SAMPLE = (
    Path(__file__).parents[1] / "tests/fixtures/threesixty/360giving-grantnav-sample-package.json"
)
TARGET_BYTES = 8 * 1024 * 1024


def write_package(path: Path, count: int) -> None:
    record = json.loads(SAMPLE.read_text(encoding="utf-8"))["grants"][0]
    record["description"] = (record["description"] + " ") * 4
    with path.open("w", encoding="utf-8") as out:
        out.write('{"grants": [')
        for n in range(count):
            out.write(("," if n else "") + json.dumps({**record, "id": f"360G-bench-{n}"}))
        out.write('], "license": "https://creativecommons.org/licenses/by/4.0/"}')


def peak_reading(path: Path) -> tuple[int, int]:
    tracemalloc.start()
    read = sum(1 for _ in read_grants(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return read, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grants", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        small, large = Path(folder, "small.json"), Path(folder, "large.json")
        write_package(small, max(args.grants // 10, 1))
        write_package(large, args.grants)
        _, small_peak = peak_reading(small)
        read, large_peak = peak_reading(large)
        print(
            json.dumps(
                {
                    "benchmark": "funders_import",
                    "grants": read,
                    "file_bytes": large.stat().st_size,
                    "peak_bytes": large_peak,
                    "peak_bytes_tenth_file": small_peak,
                    "peak_ratio_to_target": round(large_peak / TARGET_BYTES, 3),
                }
            )
        )


if __name__ == "__main__":
    main()
