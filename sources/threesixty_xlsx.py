"""360Giving spreadsheets (XLSX with the standard's flattened column names), read row by row.

An XLSX file is a zip, and a zip can claim a small size while expanding to gigabytes (a
"zip bomb"). Before openpyxl opens anything, the sizes in the zip's central directory are
checked: the total uncompressed size, and how much each member expands. openpyxl's
read-only mode then streams rows instead of loading the sheet.

openpyxl is imported only here and only when an XLSX file is given; it is not yet in the
locked requirements (see the report of issue 17), so without it the error says so.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

__all__ = ["MAX_RATIO", "MAX_UNCOMPRESSED", "XlsxError", "check_zip", "iter_xlsx_rows"]

MAX_UNCOMPRESSED = 512 * 1024 * 1024  # bytes, all members together
MAX_RATIO = 200  # a sheet's XML compresses ~10-30x; far more is a bomb
_RATIO_FLOOR = 1024 * 1024  # tiny members may compress well without harm


class XlsxError(ValueError):
    """A spreadsheet that cannot or must not be read."""


def check_zip(path: Path, *, max_total: int = MAX_UNCOMPRESSED, max_ratio: int = MAX_RATIO) -> None:
    """Refuse a file that is not a zip, or whose directory promises too much data."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise XlsxError(f"{path.name}: not an XLSX file (not a zip archive)") from None
    total = 0
    for member in members:
        total += member.file_size
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size > _RATIO_FLOOR and ratio > max_ratio:
            raise XlsxError(
                f"{path.name}: {member.filename} would expand {ratio:,.0f} times; "
                "refusing it as a possible zip bomb"
            )
    if total > max_total:
        raise XlsxError(
            f"{path.name}: would expand to {total:,} bytes (limit {max_total:,}); refusing it"
        )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def iter_xlsx_rows(path: Path) -> Iterator[dict[str | None, str]]:
    """Each data row of the grants sheet (the sheet named "grants", else the first) as
    ``{column name: text}``, like ``csv.DictReader``; empty rows are skipped."""
    check_zip(path)
    try:
        import openpyxl
    except ImportError:
        raise XlsxError("reading XLSX needs openpyxl (pip install 'openpyxl>=3.1,<4')") from None
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise XlsxError(
            f"{path.name}: not a readable XLSX file ({exc.__class__.__name__})"
        ) from None
    try:
        sheets = {sheet.title.casefold(): sheet for sheet in book.worksheets}
        sheet = sheets.get("grants") or book.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = [_cell(value).strip() for value in next(rows, ())]
        if "Identifier" not in header:
            raise XlsxError(f"{path.name}: the sheet has no Identifier column")
        for values in rows:
            cells = [_cell(value) for value in values]
            if not any(cell.strip() for cell in cells):
                continue
            row: dict[str | None, str] = dict(zip(header, cells, strict=False))
            if len(cells) > len(header) and any(cell for cell in cells[len(header) :]):
                row[None] = "extra"
            yield row
    finally:
        book.close()
