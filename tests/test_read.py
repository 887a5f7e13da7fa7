"""etl.read: delivery rules of the site export contract ("Delivery": folder or zip, file names,
encodings, RFC 4180 CSV, row numbers with header = row 1, data cut)."""
from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

from etl.read import read_export
from tests.conftest import PROJECT_ROOT, edit_csv


def texts(problems) -> list[str]:
    return [str(p) for p in problems]


def copy(valid_site01: Path, tmp_path: Path, name: str = "site01") -> Path:
    return Path(shutil.copytree(valid_site01, tmp_path / name))


def test_valid_folder_reads_every_domain_with_sha256_and_export_json_cut(valid_site01, tmp_path):
    export, problems = read_export(valid_site01, tmp_path / "work")
    assert problems == []
    assert sorted(export.files) == sorted(["dm", "ds", "ie", "ex", "cm", "vs", "lb", "qs", "ae"])
    dm = export.files["dm"]
    assert dm.sha256 == hashlib.sha256((valid_site01 / "dm.csv").read_bytes()).hexdigest()
    assert dm.encoding == "utf-8" and dm.rows == 2
    assert export.siteid == "01"
    # export.json says {"siteid": "01", "data_cut": "2024-03-01"}
    assert (export.data_cut, export.data_cut_source) == (dt.date(2024, 3, 1), "export.json")
    # every column is a string; an empty field is null: dm row 3 (subject 002) has no RFSTDTC
    assert set(dm.frame.dtypes) == {__import__("polars").String}
    assert dm.frame.get_column("RFSTDTC").to_list() == ["2024-01-15", None]


def test_data_cut_from_rows_counts_a_partial_date_by_its_earliest_day(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    (folder / "export.json").unlink()
    export, problems = read_export(folder, tmp_path / "work")
    assert problems == []
    # latest full date in the rows: ex.csv EXSTDTC 2024-02-12T10:30 -> 2024-02-12
    assert (export.data_cut, export.data_cut_source) == (dt.date(2024, 2, 12), "rows")

    def onset_march(header, rows):  # ae row 3 (AESEQ 2): partial onset 2024-02 -> 2024-03
        rows[1][header.index("AESTDTC")] = "2024-03"
    edit_csv(folder / "ae.csv", onset_march)
    export, _ = read_export(folder, tmp_path / "work")
    # "2024-03" stands for 2024-03-01 .. 2024-03-31; its earliest day 2024-03-01 > 2024-02-12
    assert export.data_cut == dt.date(2024, 3, 1)


def test_quoted_comma_and_line_break_keep_the_record_number(valid_site01, tmp_path):
    export, _ = read_export(valid_site01, tmp_path / "work")
    cm = export.files["cm"].frame
    # cm.csv: header = row 1, rows 2-3 prednisolone, row 4 = "Plaquenil, 200 mg\n(...)"
    # (a record over two file lines): frame index 2 = row 4
    assert cm.get_column("CMTRT")[2] == "Plaquenil, 200 mg\n(hydroxychloroquine)"
    assert cm.get_column("CMSEQ")[2] == "3"
    assert cm.get_column("CMTRT")[0] == "プレドニン錠5mg"


def test_zip_holding_one_folder_is_read(valid_site01, tmp_path):
    z = tmp_path / "site01.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(valid_site01.iterdir()):
            zf.write(f, f"site01_2024-03-01/{f.name}")
    export, problems = read_export(z, tmp_path / "work")
    assert problems == []
    assert len(export.files) == 9 and export.siteid == "01"
    assert export.folder.name == "site01_2024-03-01"
    assert (tmp_path / "work") in export.folder.parents


def test_zip_with_csv_files_at_its_root_is_read(valid_site01, tmp_path):
    z = tmp_path / "site01.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in sorted(valid_site01.iterdir()):
            zf.write(f, f.name)
    export, problems = read_export(z, tmp_path / "work")
    assert problems == [] and len(export.files) == 9


def test_zip_slip_member_refuses_the_whole_zip(valid_site01, tmp_path):
    z = tmp_path / "evil.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(valid_site01 / "dm.csv", "site01/dm.csv")
        zf.writestr("site01/../../escaped.csv", "x\n")
    export, problems = read_export(z, tmp_path / "work")
    assert texts(problems) == ["evil.zip: zip refused: member site01/../../escaped.csv would leave "
                               "the extraction folder (absolute path, '..' or symbolic link)"]
    assert export.files == {}
    assert not (tmp_path / "escaped.csv").exists() and not (tmp_path / "work").exists()


def test_zip_absolute_member_and_symlink_are_refused(valid_site01, tmp_path):
    z = tmp_path / "abs.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("/tmp/dm.csv", "x\n")
    _, problems = read_export(z, tmp_path / "work")
    assert texts(problems) == ["abs.zip: zip refused: member /tmp/dm.csv would leave the extraction "
                               "folder (absolute path, '..' or symbolic link)"]
    z = tmp_path / "link.zip"
    with zipfile.ZipFile(z, "w") as zf:
        info = zipfile.ZipInfo("site01/dm.csv")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    _, problems = read_export(z, tmp_path / "work")
    assert texts(problems) == ["link.zip: zip refused: member site01/dm.csv would leave the "
                               "extraction folder (absolute path, '..' or symbolic link)"]


def test_cp932_file_is_read_intact_and_noted(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    text = (folder / "ae.csv").read_text(encoding="utf-8")
    (folder / "ae.csv").write_bytes(text.replace("頭痛", "頭痛（軽度）").encode("cp932"))
    export, problems = read_export(folder, tmp_path / "work")
    assert problems == []
    assert export.files["ae"].encoding == "cp932"
    assert export.files["ae"].frame.get_column("AETERM")[0] == "頭痛（軽度）"
    assert export.notes == ["ae.csv read as Shift_JIS (CP932)"]


def test_utf8_bom_is_read_and_not_part_of_the_first_column(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    (folder / "dm.csv").write_bytes(b"\xef\xbb\xbf" + (folder / "dm.csv").read_bytes())
    export, problems = read_export(folder, tmp_path / "work")
    assert problems == [] and export.notes == []
    assert export.files["dm"].encoding == "utf-8-sig"
    assert export.files["dm"].frame.columns[0] == "STUDYID"


def test_file_neither_utf8_nor_cp932_is_refused(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    # 0x81 0x20: a CP932 lead byte followed by a byte that cannot trail it; invalid UTF-8 too
    (folder / "ae.csv").write_bytes((folder / "ae.csv").read_bytes() + b"\x81\x20\n")
    export, problems = read_export(folder, tmp_path / "work")
    assert texts(problems) == ["ae.csv: not UTF-8 and not Shift_JIS (CP932) text: save the file as UTF-8"]
    assert "ae" not in export.files


def test_unknown_file_refused_by_name_and_dm_required(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    (folder / "notes.txt").write_text("hello", encoding="utf-8")
    (folder / "dm.csv").rename(folder / "DM.csv")
    _, problems = read_export(folder, tmp_path / "work")
    allowed = ("dm.csv, ds.csv, ie.csv, ex.csv, cm.csv, vs.csv, lb.csv, qs.csv, ae.csv, "
               "export.json are allowed")
    assert texts(problems) == [
        f"DM.csv: file not in the export contract: only {allowed} (file names are lower case)",
        f"notes.txt: file not in the export contract: only {allowed}",
        "dm.csv: required file missing",
    ]


def test_ragged_csv_is_refused(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    with open(folder / "vs.csv", "a", encoding="utf-8") as f:
        f.write("a,b,c,d,e,f,g,h,i,j,k,l,m,n\n")  # 14 fields under a 12-column header
    _, problems = read_export(folder, tmp_path / "work")
    assert len(problems) == 1 and str(problems[0]).startswith("vs.csv: not a valid CSV file (")


def test_reading_and_importing_the_validator_do_not_import_great_expectations():
    code = ("import sys, etl.read, etl.contract, etl.rules, etl.suites, etl.validate; "
            "print('great_expectations' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "False"


def test_malformed_export_json_is_refused_and_the_cut_falls_back_to_the_rows(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    (folder / "export.json").write_text('{"siteid": "1", "data_cut": "01/03/2024"}', encoding="utf-8")
    export, problems = read_export(folder, tmp_path / "work")
    assert texts(problems) == [
        "export.json: siteid=1: siteid must be two digits",
        "export.json: data_cut=01/03/2024: data_cut must be a full ISO 8601 date YYYY-MM-DD"]
    # siteid from the rows (every dm row says 01); cut = latest row date 2024-02-12 (ex.csv)
    assert (export.siteid, export.data_cut, export.data_cut_source) == ("01", dt.date(2024, 2, 12), "rows")


def test_trailing_blank_lines_are_not_records(valid_site01, tmp_path):
    folder = copy(valid_site01, tmp_path)
    with open(folder / "vs.csv", "a", encoding="utf-8") as f:
        f.write("\n\n,,,,,,,,,,,\n")   # two blank lines and a record of empty fields
    export, problems = read_export(folder, tmp_path / "work")
    assert problems == [] and export.files["vs"].rows == 3  # WEIGHT, HEIGHT, TEMP
