"""Hostile imports (issue 11, findings 1, 6 and 8): YAML alias bombs, oversized fields,
damaged zips, impossible dates, numbers beyond the database's integer, NUL bytes,
non-UTF-8 text, ../ paths, zip bombs and thousands of files each give a clear
ImportProblem (400 on the page, exit 2 on the command line) naming the file and the
limit, and store nothing. Property-based tests check the same for any input."""

from __future__ import annotations

import io
import string
import zipfile

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decisions.models import Decision, DecisionStatus
from decisions.records.imports.images import ImageProblem, checked_image
from decisions.records.imports.parse import (
    MAX_FIELD_CHARS,
    MAX_TITLE_CHARS,
    ParsedAdr,
    ParseError,
    parse_adr,
)
from decisions.records.imports.service import (
    MAX_FILES,
    ImportProblem,
    ImportSource,
    files_from_zip,
    import_adrs,
)

GOOD = (
    "---\nstatus: accepted\ndate: 2024-01-02\n---\n\n# Use a queue\n\n"
    "## Context and Problem Statement\n\nText.\n"
)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def zip_of(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def alias_bomb(levels: int) -> str:
    """The 276-byte shape from the report: each level lists the one before ten times."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 10) + "]")
    lines.append(f"decision-makers: *a{levels}")
    return "---\n" + "\n".join(lines) + "\nstatus: accepted\n---\n# Bomb\n"


# --- finding 1: YAML aliases, every field capped ------------------------------------------------


@pytest.mark.parametrize("levels", [1, 7, 8])
def test_yaml_aliases_are_refused_before_they_are_expanded(acme, levels):
    data = zip_of({"0001-bomb.md": alias_bomb(levels).encode()})
    assert len(data) < 1000
    with pytest.raises(ImportProblem, match="0001-bomb.md: the YAML front matter uses aliases"):
        import_adrs(team=acme, files=files_from_zip(data), by=None)
    assert not Decision.objects.exists()


def test_deeply_nested_front_matter_is_refused():
    text = "---\ndecision-makers: " + "[" * 5000 + "]" * 5000 + "\n---\n# T\n"
    with pytest.raises(ParseError, match="nested more than 8 levels|the limit is 20000"):
        parse_adr(text, "0001-x.md")
    text = "---\ndecision-makers: " + "[" * 20 + "]" * 20 + "\n---\n# T\n"
    with pytest.raises(ParseError, match="0001-x.md: the YAML front matter is nested more than 8"):
        parse_adr(text, "0001-x.md")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"# {'t' * (MAX_TITLE_CHARS + 1)}\n",
            f"the title is {MAX_TITLE_CHARS + 1} characters; the limit is {MAX_TITLE_CHARS}",
        ),
        (
            f"# T\n\n## Context\n\n{'c' * (MAX_FIELD_CHARS + 1)}\n",
            f"the context is {MAX_FIELD_CHARS + 1} characters; the limit is {MAX_FIELD_CHARS}",
        ),
        (
            f'# T\n\n## Decision Outcome\n\nChosen option: "{"o" * 201}", because x\n',
            "the chosen option is 201 characters; the limit is 200",
        ),
        (
            "---\ndecision-makers: [" + ", ".join(f"p{i}" for i in range(300)) + "]\n---\n# T\n",
            "the list of decision-makers has more than 200 names",
        ),
        (
            "---\nconsulted: " + "x" * 30_000 + "\n---\n# T\n",
            "the YAML front matter is 30011 characters; the limit is 20000",
        ),
    ],
)
def test_every_imported_field_is_capped_with_the_limit_named(text, message):
    with pytest.raises(ParseError, match=f"0001-x.md: {message}"):
        parse_adr(text, "0001-x.md")


# --- finding 6: a member's import stores proposals ---------------------------------------------


def test_a_member_cannot_create_accepted_records_by_importing(member_client, acme):
    data = zip_of({"0001-a.md": GOOD.encode()})
    response = member_client.post(
        "/t/acme/decisions/import/",
        {"archive": io.BytesIO(data), "missing_status": "accepted"},
    )
    token = response.context["confirm"]["token"].value()
    member_client.post(
        "/t/acme/decisions/import/",
        {"token": token, "missing_status": "accepted", "action": "import"},
    )
    assert Decision.objects.get(team=acme).status == DecisionStatus.PROPOSED


# --- finding 8: damaged zips and bad files ------------------------------------------------------


def _stored_zip_with_bad_crc() -> bytes:
    data = bytearray(zip_of({"0001-a.md": GOOD.encode()}, method=zipfile.ZIP_STORED))
    at = data.index(b"# Use a queue")
    data[at + 2] ^= 0x20  # change one letter: the CRC no longer matches
    return bytes(data)


def _deflated_zip_with_corrupt_data() -> bytes:
    data = bytearray(zip_of({"0001-a.md": (GOOD * 20).encode()}))
    start = 30 + len("0001-a.md")
    data[start : start + 20] = b"\xff" * 20
    return bytes(data)


def _zip_with_unknown_method() -> bytes:
    data = bytearray(zip_of({"0001-a.md": GOOD.encode()}))
    data[8:10] = (99).to_bytes(2, "little")  # local header
    central = data.index(b"PK\x01\x02")
    data[central + 10 : central + 12] = (99).to_bytes(2, "little")
    return bytes(data)


def _zip_with_a_nameless_entry() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo(""), b"x")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_stored_zip_with_bad_crc(), "0001-a.md: damaged in the zip"),
        (_deflated_zip_with_corrupt_data(), "0001-a.md: damaged in the zip"),
        (_zip_with_unknown_method(), "0001-a.md: compressed with a method Archway cannot read"),
        (b"PK\x03\x04" + b"\x00" * 40, "not a zip file"),
        (_zip_with_a_nameless_entry(), "an entry without a name"),
        (zip_of({"0001-a.md": GOOD.encode()})[:-30], "not a zip file"),
    ],
)
def test_damaged_zips_are_refused_naming_the_file(acme, member_client, data, message):
    with pytest.raises(ImportProblem, match=message):
        files_from_zip(data)
    response = member_client.post(
        "/t/acme/decisions/import/", {"archive": io.BytesIO(data), "missing_status": "accepted"}
    )
    assert response.status_code == 400
    assert message.split(":")[-1].strip() in response.content.decode()
    assert not Decision.objects.exists()


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"0001-a.md": GOOD.replace("2024-01-02", "2024-02-30").encode()},
            "0001-a.md: the date '2024-02-30' is not a real date",
        ),
        (
            {"0001-a.md": b"# A\n\n* Status: accepted\n* Date: 2023-13-45\n"},
            "0001-a.md: the date '2023-13-45' is not a real date",
        ),
        (
            {"99999999999999999999-a.md": GOOD.encode()},
            "99999999999999999999-a.md: the number 99999999999999999999 is beyond the largest",
        ),
        ({"123456-a.md": GOOD.encode()}, "the number 123456 is beyond the largest, 99999"),
        ({"0001-a.md": GOOD.replace("Text.", "Te\x00xt.").encode()}, "0001-a.md: holds a NUL"),
        ({"0001-a.md": "# Caf\xe9\n".encode("latin-1")}, "0001-a.md: not UTF-8 text"),
        ({"../0001-a.md": GOOD.encode()}, "../0001-a.md: a path outside the zip's folder"),
        ({"docs/../../0001-a.md": GOOD.encode()}, "a path outside the zip's folder"),
        ({"/etc/0001-a.md": GOOD.encode()}, "a path outside the zip's folder"),
        ({"0001-a.md": b"\x00" * 3_000_000}, "0001-a.md: larger than the limit of 1 MB"),
        (
            {"0001-a.md": GOOD.encode() + b" " * 900_000},
            "0001-a.md: compressed more than 200 to 1; refused as a zip bomb",
        ),
    ],
)
def test_bad_files_give_a_clear_problem_and_store_nothing(acme, entries, message):
    with pytest.raises(ImportProblem, match=message.replace("(", r"\(").replace(")", r"\)")):
        import_adrs(team=acme, files=files_from_zip(zip_of(entries)), by=None)
    assert not Decision.objects.exists()


def test_thousands_of_files_are_refused_with_the_limit_named():
    data = zip_of({f"{i:04d}-r.md": b"# R\n" for i in range(MAX_FILES + 1)})
    with pytest.raises(ImportProblem, match=f"holds {MAX_FILES + 1} entries; the limit is 2000"):
        files_from_zip(data)


def test_the_command_exits_2_on_a_damaged_zip(acme, tmp_path):
    path = tmp_path / "log.zip"
    path.write_bytes(_zip_with_unknown_method())
    with pytest.raises(CommandError, match="0001-a.md: compressed with a method") as caught:
        call_command("import_adrs", "--team", "acme", str(path))
    assert caught.value.returncode == 2


# --- property-based: any input gives ParsedAdr/ParseError, ImportProblem or a clean 400 --------

LINES = st.sampled_from(
    [
        "---", "# Title", "# 3. Title", "## Status", "## Context", "## Decision Outcome",
        "## Links", "## More Information", "## Pros and Cons of the Options", "### Option",
        "status: accepted", "status: [a, b]", "status: {x: 1}", "date: 2024-02-30",
        "date: 2024-01-01", "date: 99999-99-99", "decision-makers: &a [x]", "consulted: *a",
        "deciders: !!python/object:os.system x", "* Status: superseded by [ADR-0002](0002-b.md)",
        "* Date: 2020-01-01", "Supersedes [ADR-0099](0099-x.md).", "Amends [ADR-0001](0001-a.md).",
        "- Relates to [x](x.md)", 'Chosen option: "A", because', "* Good, because fast",
        "```", "| a | b |", "![i](img/x.png)", '<img src="../up.svg">', "\x00", "\ufeff",
        "# 99999999999999999999. Big", "line with two spaces  ", "", "<!-- c -->", "[", "&",
    ]
)  # fmt: skip
TEXTS = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(LINES, st.text(max_size=30)), max_size=30).map("\n".join),
)
NAMES = st.one_of(
    st.sampled_from(["0001-a.md", "0000-z.md", "20200101-d.md", "12345678901-x.md", "x.md"]),
    st.text(alphabet=string.ascii_letters + string.digits + "-./", min_size=1, max_size=20),
)


@settings(max_examples=400, deadline=None)
@given(text=TEXTS, name=NAMES)
def test_the_parser_answers_any_text_with_a_record_or_a_parse_error(text, name):
    try:
        adr = parse_adr(text, name)
    except ParseError as exc:
        assert str(exc).startswith(name)
        return
    assert isinstance(adr, ParsedAdr)
    assert 0 < len(adr.title) <= MAX_TITLE_CHARS and "\x00" not in adr.title
    assert adr.status in {"", *DecisionStatus.values}
    assert adr.number is None or 0 <= adr.number <= 99_999
    assert all(
        len(value) <= MAX_FIELD_CHARS for value in adr.fields.values() if isinstance(value, str)
    )


def _valid_zip_bytes() -> bytes:
    return zip_of({"docs/0001-a.md": GOOD.encode(), "docs/0002-b.md": (GOOD * 3).encode()})


@settings(max_examples=300, deadline=None)
@given(
    data=st.one_of(
        st.binary(max_size=600),
        st.lists(
            st.tuples(st.integers(0, len(_valid_zip_bytes()) - 1), st.integers(0, 255)),
            min_size=1,
            max_size=8,
        ).map(lambda flips: _flipped(_valid_zip_bytes(), flips)),
    )
)
def test_reading_any_bytes_as_a_zip_gives_files_or_an_import_problem(data):
    try:
        source = files_from_zip(data)
    except ImportProblem as exc:
        assert str(exc)
        return
    assert isinstance(source, ImportSource)
    assert all("\x00" not in text for text in source.texts.values())


def _flipped(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    changed = bytearray(data)
    for at, value in flips:
        changed[at] = value
    return bytes(changed)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(files=st.dictionaries(NAMES.map(lambda n: f"docs/{n}"), TEXTS, min_size=1, max_size=4))
def test_any_files_import_whole_and_valid_or_not_at_all(acme, files):
    before = Decision.objects.count()
    try:
        result = import_adrs(team=acme, files=ImportSource(texts=files), by=None)
    except ImportProblem as exc:
        assert str(exc)
        assert Decision.objects.count() == before
        return
    for decision in result.created:
        decision.refresh_from_db()
        assert decision.title and len(decision.title) <= MAX_TITLE_CHARS
        assert decision.status in DecisionStatus.values
        assert "\x00" not in decision.context
    Decision.objects.filter(team=acme).delete()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(entries=st.dictionaries(NAMES, TEXTS.map(str.encode), min_size=1, max_size=3))
def test_the_import_page_answers_any_zip_with_a_preview_or_a_400(member_client, acme, entries):
    data = zip_of(entries)
    response = member_client.post(
        "/t/acme/decisions/import/", {"archive": io.BytesIO(data), "missing_status": "accepted"}
    )
    assert response.status_code in (200, 400)
    assert not Decision.objects.filter(team=acme).exists()


SVG_PARTS = st.sampled_from(
    [
        '<svg xmlns="http://www.w3.org/2000/svg">', "</svg>", "<script>alert(1)</script>",
        '<rect onload="x()" width="1"/>', '<use href="https://evil.example/#a"/>',
        '<image href="data:x"/>', "<!DOCTYPE svg>", '<!ENTITY a "b">', "&a;", "<g>", "</g>",
        '<text style="fill:url(https://evil.example/x)">t</text>', "<", ">", "&", "\x00",
        '<foreignObject><div xmlns="http://www.w3.org/1999/xhtml"/></foreignObject>',
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    name=st.sampled_from(["a.svg", "a.png", "a.jpg", "a.gif", "a.webp", "a.txt"]),
    data=st.one_of(
        st.binary(max_size=200), st.lists(SVG_PARTS, max_size=12).map("".join).map(str.encode)
    ),
)
def test_any_image_bytes_are_kept_checked_or_refused_with_a_reason(name, data):
    try:
        stored, content_type = checked_image(name, data)
    except ImageProblem as exc:
        assert str(exc)
        return
    if content_type == "image/svg+xml":
        for hostile in (b"script", b"onload", b"evil.example", b"foreignObject", b"ENTITY"):
            assert hostile not in stored
    else:
        assert stored == data
