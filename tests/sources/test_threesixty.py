"""360Giving files: the real samples through the JSON and CSV readers, refusals that name the
record and field, and places mapped to nation, region and local authority."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from sources.threesixty import ThreeSixtyError, read_grants
from sources.threesixty_json import JsonShapeError, iter_json_grants
from sources.threesixty_places import place_of

FIXTURES = Path(__file__).parents[1] / "fixtures" / "threesixty"
SAMPLE = FIXTURES / "360giving-grantnav-sample-package.json"


def sample_grants() -> list[dict]:
    return json.loads(SAMPLE.read_text(encoding="utf-8"))["grants"]


def flattened_csv(grants: list[dict], path: Path, extra: dict | None = None) -> Path:
    """The records as a 360Giving CSV with the standard's flattened column names
    (constructed here from the real JSON records)."""
    columns = [
        "Identifier",
        "Title",
        "Description",
        "Currency",
        "Amount Awarded",
        "Award Date",
        "Recipient Org:Identifier",
        "Recipient Org:Name",
        "Funding Org:Identifier",
        "Funding Org:Name",
        "Grant Programme:Title",
        "Beneficiary Location:Name",
        "Beneficiary Location:Geographic Code",
    ]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        for g in grants:
            place = (g.get("beneficiaryLocation") or [{}])[0]
            writer.writerow(
                [
                    g["id"],
                    g["title"],
                    g["description"],
                    g["currency"],
                    g["amountAwarded"],
                    g["awardDate"],
                    g["recipientOrganization"][0]["id"],
                    g["recipientOrganization"][0]["name"],
                    g["fundingOrganization"][0]["id"],
                    g["fundingOrganization"][0]["name"],
                    g["grantProgramme"][0]["title"],
                    place.get("name", ""),
                    place.get("geoCode", ""),
                ]
            )
    return path


def test_the_grantnav_sample_reads_as_five_checked_grants():
    grants = list(read_grants(SAMPLE))
    assert [g.grant_id for g in grants][:2] == ["360G-EFF-16-3315", "360G-EFF-16-3353"]
    first = grants[0]
    assert first.amount_pence == 116471 * 100
    assert first.award_date == date(2017, 11, 21)
    assert first.funder_name == "Esmée Fairbairn Foundation"
    assert first.recipient_name == "Effervescent"
    assert first.programme == "Main Grant"
    beneficiary, recipient = first.locations
    assert (beneficiary["nation"], beneficiary["region"], beneficiary["area"]) == (
        "England",
        "South West",
        "Plymouth",
    )
    assert (recipient["code"], recipient["area"], recipient["region"]) == (
        "E06000026",
        "City of Plymouth",
        "South West",
    )
    assert grants[2].locations[0]["nation"] == "UK"  # "UK Whole"


def test_csv_built_from_the_same_records_reads_the_same(tmp_path):
    from_json = list(read_grants(SAMPLE))
    from_csv = list(read_grants(flattened_csv(sample_grants(), tmp_path / "grants.csv")))
    fields = ("grant_id", "title", "description", "amount_pence", "award_date", "funder_id")
    assert [[getattr(g, f) for f in fields] for g in from_csv] == [
        [getattr(g, f) for f in fields] for g in from_json
    ]
    # The CSV has no GrantNav lookup: only the beneficiary places, mapped the same way.
    assert from_csv[0].locations == from_json[0].locations[:1]


def test_json_is_streamed_across_any_chunk_boundary():
    text = SAMPLE.read_text(encoding="utf-8")
    whole = [g for g, _ in iter_json_grants(io.StringIO(text), {})]
    for chunk in (1, 7, 100):
        assert [g for g, _ in iter_json_grants(io.StringIO(text), {}, chunk=chunk)] == whole


def test_package_licence_after_the_grants_is_still_found(tmp_path):
    package = {"grants": sample_grants()[:1], "license": "https://creativecommons.org/licenses/by/4.0/",
               "publisher": {"name": "Esmée Fairbairn Foundation"}}  # fmt: skip
    path = tmp_path / "package.json"
    path.write_text(json.dumps(package))
    meta: dict = {}
    assert len(list(read_grants(path, meta))) == 1
    assert meta["license"].endswith("by/4.0/")
    assert meta["publisher"]["name"] == "Esmée Fairbairn Foundation"


def test_the_api_envelope_is_unwrapped_and_a_missing_title_is_named():
    path = FIXTURES / "360giving-api-grants_received-changegrowlive-2records-excerpt.json"
    with pytest.raises(ThreeSixtyError, match=r"'360G-BarnwoodTrust-GF103354' \(#1\): field title"):
        list(read_grants(path))


def test_a_real_file_without_amounts_is_refused_naming_record_and_field():
    with pytest.raises(ThreeSixtyError) as caught:
        list(read_grants(FIXTURES / "360giving-wellcome-2grants.json"))
    assert "360G-wellcometrust-105177/Z/14/Z" in str(caught.value)
    assert "amountAwarded is missing" in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amountAwarded": "lots"}, "amountAwarded is not a number"),
        ({"amountAwarded": [1]}, "amountAwarded should be a number"),
        ({"amountAwarded": -5}, "amountAwarded is out of range"),
        ({"id": ""}, "#2: field id is missing"),
        ({"title": {"x": 1}}, "field title should be text"),
        ({"awardDate": "31/02/2017"}, "awardDate is not a date"),
        ({"description": "x" * 30_000}, "description is over 20,000 characters"),
        ({"fundingOrganization": []}, "fundingOrganization is missing"),
    ],
)
def test_wrong_types_missing_ids_and_huge_fields_name_the_record(tmp_path, change, message):
    grants = sample_grants()[:3]
    grants[1] = {**grants[1], **change}  # constructed: a real record broken on purpose
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"grants": grants}))
    with pytest.raises(ThreeSixtyError, match=message):
        list(read_grants(path))


def test_an_oversized_record_is_refused_without_buffering_it():
    huge = '{"grants": [{"id": "x", "title": "' + "a" * 5000 + '"}]}'
    with pytest.raises(JsonShapeError, match="larger than 1,000 characters"):
        list(iter_json_grants(io.StringIO(huge), {}, chunk=64, max_record=1000))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"grants": [{"id": "a"', "not valid JSON"),
        ('{"title": "no grants"}', 'no "grants" list'),
        ('"just a string"', "not a 360Giving JSON file"),
        ('{"grants": []} trailing', "more after the end"),
    ],
)
def test_broken_json_gives_a_clear_error(tmp_path, text, message):
    path = tmp_path / "broken.json"
    path.write_text(text)
    with pytest.raises(ThreeSixtyError, match=message):
        list(read_grants(path))


def test_a_csv_field_past_the_csv_limit_is_refused(tmp_path):
    grants = sample_grants()[:1]
    grants[0] = {**grants[0], "description": "x" * 200_000}
    with pytest.raises(ThreeSixtyError, match=r"record #1: field larger than field limit"):
        list(read_grants(flattened_csv(grants, tmp_path / "huge.csv")))


def test_a_csv_without_360giving_columns_is_refused(tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("name,amount\nx,1\n")
    with pytest.raises(ThreeSixtyError, match="no Identifier column"):
        list(read_grants(path))


@pytest.mark.parametrize(
    ("name", "code", "nation", "region", "area"),
    [
        ("Cardiff", "W06000015", "Wales", "", "Cardiff"),
        ("Glasgow City", "S12000049", "Scotland", "", "Glasgow City"),
        ("Belfast", "N09000003", "Northern Ireland", "", "Belfast"),
        ("North East", "E12000001", "England", "North East", ""),
        ("Leeds", "E08000035", "England", "", "Leeds"),
        ("Wales", "", "Wales", "", ""),
        (
            "England/Yorkshire and the Humber/Harrogate",
            "",
            "England",
            "Yorkshire and The Humber",
            "Harrogate",
        ),
        ("England/More than one English Region", "", "England", "", ""),
        ("UK Whole", "", "UK", "", ""),
        ("Somewhere", "not-a-code", "", "", ""),
    ],
)
def test_places_map_to_nation_region_and_local_authority(name, code, nation, region, area):
    place = place_of(name, code, kind="beneficiary")
    assert (place["nation"], place["region"], place["area"]) == (nation, region, area)
    assert place["name"] == name  # names as given


# ---------------------------------------------------------------------- XLSX
def flattened_xlsx(grants: list[dict], path: Path) -> Path:
    """The same flattened records as an XLSX "grants" sheet (constructed here)."""
    openpyxl = pytest.importorskip("openpyxl")
    rows = list(csv.reader(flattened_csv(grants, path.with_suffix(".csv")).open(encoding="utf-8")))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "grants"
    for row in rows:
        # Numbers as numbers, as a spreadsheet holds them.
        sheet.append([int(cell) if cell.isdigit() else cell for cell in row])
    book.save(path)
    return path


def test_xlsx_built_from_the_same_records_reads_the_same(tmp_path):
    from_json = list(read_grants(SAMPLE))
    from_xlsx = list(read_grants(flattened_xlsx(sample_grants(), tmp_path / "grants.xlsx")))
    fields = ("grant_id", "title", "amount_pence", "award_date", "funder_name", "programme")
    assert [[getattr(g, f) for f in fields] for g in from_xlsx] == [
        [getattr(g, f) for f in fields] for g in from_json
    ]
    assert from_xlsx[0].locations == from_json[0].locations[:1]


def test_a_bad_xlsx_record_names_its_row(tmp_path):
    grants = sample_grants()[:2]
    grants[1] = {**grants[1], "amountAwarded": "n/a"}
    with pytest.raises(ThreeSixtyError, match=r"'360G-EFF-16-3353' \(#2\): field amountAwarded"):
        list(read_grants(flattened_xlsx(grants, tmp_path / "bad.xlsx")))


def test_a_zip_bomb_xlsx_is_refused_from_its_directory_alone(tmp_path):
    import zipfile

    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (8 * 1024 * 1024))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(ThreeSixtyError, match="possible zip bomb"):
        list(read_grants(bomb))


def test_the_total_uncompressed_size_is_limited(tmp_path):
    import zipfile

    from sources.threesixty_xlsx import XlsxError, check_zip

    big = tmp_path / "big.xlsx"
    with zipfile.ZipFile(big, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("a.xml", b"x" * 5000)
    with pytest.raises(XlsxError, match="would expand to 5,000 bytes"):
        check_zip(big, max_total=4000)


def test_a_file_that_is_not_a_zip_is_not_an_xlsx(tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_text("Identifier,Title\n")
    with pytest.raises(ThreeSixtyError, match="not a zip archive"):
        list(read_grants(fake))


def test_a_grant_s_own_licence_wins_over_none_in_an_api_list(tmp_path):
    record = sample_grants()[0]
    del record["id"]
    licence = {"name": "Creative Commons Attribution 4.0 International"}
    envelope = [{"grant_id": "360G-EFF-16-3315", "data": record, "data_license": licence}]
    path = tmp_path / "api.json"
    path.write_text(json.dumps(envelope))
    (grant,) = read_grants(path)
    assert grant.grant_id == "360G-EFF-16-3315"
    assert grant.licence == "Creative Commons Attribution 4.0 International"
