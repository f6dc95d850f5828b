"""Read existing ADR files: adr-tools / Nygard, MADR 2, 3 and 4, log4brains.

One tolerant parser covers them all, because they share most of their shape:

* optional YAML front matter (MADR 3 ``deciders``, MADR 4 ``decision-makers``);
* an H1 title (adr-tools prefixes it with the number: ``# 3. Use Kafka``);
* metadata bullets before the first section (MADR 2 and log4brains:
  ``* Status: accepted``, ``- Date: 2020-09-23``, ``* Deciders: a, b``) or a
  ``Date:`` line (adr-tools);
* H2 sections, matched by name (``Context``/``Context and Problem Statement``,
  ``Decision``/``Decision Outcome``, ``Status``, ``Consequences``, ...). Only known
  names split a section, and never inside a fenced code block, so a ``## `` line in
  someone's context text stays text.

Supersede links come from the status (``superseded by [ADR-0005](0005-x.md)``, adr-tools'
``Superceded by``) and from ``Supersedes``/``Supercedes`` lines, in the Status section
(adr-tools), the Links section (MADR 2, log4brains) or at the top of More Information
(Archway's own MADR export). Typed links (amends / amended by, relates to, depends on /
needed by; adr-tools writes them with ``-l "5:Amends:Amended by"``) come from the same lines
when they point at a record. Images a record shows (``![..](images/x.png)``) are listed so
the importer can bring the files along.

Hostile input is refused before it costs anything: front matter with YAML aliases (the
"billion laughs" expansion), nesting deeper than ``MAX_YAML_DEPTH`` or longer than
``MAX_FRONT_MATTER_CHARS`` is refused before it is expanded, every field is capped with the
limit named, and a NUL byte (which PostgreSQL cannot store in text) is refused. A missing
status is not an error: ``ParsedAdr.status`` is then "" and the importer chooses one.
The parser is pure: text in, ``ParsedAdr`` out.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

STATUSES = {
    "proposed": "proposed",
    "draft": "proposed",
    "accepted": "accepted",
    "rejected": "rejected",
    "deprecated": "deprecated",
    "superseded": "superseded",
    "superceded": "superseded",
}

NUMBERED = re.compile(r"^(\d+)-(.+)\.md$", re.I)
DATED = re.compile(r"^(\d{8})-(.+)\.md$")  # log4brains: 20200923-use-log4brains.md
# ADR numbers have at most five digits (ADR-99999); larger ones are refused by name.
MAX_NUMBER = 99_999
MAX_FRONT_MATTER_CHARS = 20_000
MAX_YAML_DEPTH = 8
MAX_FIELD_CHARS = 100_000
MAX_TITLE_CHARS = 200
MAX_LIST_ITEMS = 200
MAX_LINKS = 200
IMAGE = re.compile(r"!\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)")
HTML_IMAGE = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)
# The phrases adr-tools, MADR and log4brains use for typed links: phrase -> (kind, direction).
# "out" means this record is the link's source (this amends that), "in" the target.
LINK_PHRASES = {
    "amends": ("amends", "out"),
    "amended by": ("amends", "in"),
    "relates to": ("relates-to", "out"),
    "related to": ("relates-to", "out"),
    "depends on": ("depends-on", "out"),
    "needed by": ("depends-on", "in"),
    "dependency of": ("depends-on", "in"),
}
TYPED_LINK = re.compile(
    r"^\s*[*-]?\s*(amends|amended by|relates to|related to|depends on|needed by|dependency of)"
    r"\b\s*:?\s*(.*?)\.?\s*$",
    re.I,
)
# Markdown that starts a block: a list item, table, fence, quote or heading.
BLOCK_START = re.compile(r"^\s*(?:[*+-]\s|\d+[.)]\s|\||```|~~~|>|#)")
LINK_TARGET = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
ADR_REF = re.compile(r"\bADR[- ]?0*(\d+)\b", re.I)
SUPERSEDED_BY = re.compile(r"^\s*[*-]?\s*supe[rs]?[sc]eded by\b\s*:?\s*(.*)$", re.I)
SUPERSEDES = re.compile(r"^\s*[*-]?\s*supe[rs]?[sc]edes\b\s*:?\s*(.*?)\.?\s*$", re.I)
# Archway's MADR export writes exactly these at the top of More Information.
OWN_LINK = re.compile(
    r"^(Supersedes|Amends|Amended by|Relates to|Depends on|Needed by) "
    r"\[ADR-(\d+)\]\(([^)]*)\)\.$"
)
META_LINE = re.compile(r"^\s*[*-]\s*([A-Za-z][A-Za-z -]*?)\s*:\s*(.*)$")
COMMENT = re.compile(r"<!--.*?-->", re.S)
FENCE = re.compile(r"^\s*(```|~~~)")
GOOD = re.compile(r"^[*-]\s+Good, because\s+(.*)$")
NEUTRAL = re.compile(r"^[*-]\s+Neutral, because\s+(.*)$")
BAD = re.compile(r"^[*-]\s+Bad, because\s+(.*)$")
CHOSEN = re.compile(r'^Chosen option:\s*"([^"]*)"(?:,[ \t]*because\b:?[ \t]*)?(.*)$', re.S)

H2_NAMES = {
    "status": "status",
    "context": "context",
    "context and problem statement": "context",
    "decision drivers": "drivers",
    "considered options": "options",
    "decision outcome": "outcome",
    "decision": "decision",
    "consequences": "consequences",
    "validation": "confirmation",
    "confirmation": "confirmation",
    "pros and cons of the options": "pros_cons",
    "more information": "more",
    "links": "links",
    # Archway's export writes the pattern diagram here; it is drawn again, never imported.
    "diagram": "diagram",
    # Likewise the assumptions and their last measurements: data of the living record.
    "assumptions": "assumptions",
}
H3_OUTCOME = {
    "consequences": "consequences",
    "positive consequences": "positive",
    "negative consequences": "negative",
    "confirmation": "confirmation",
    "validation": "confirmation",
}


class ParseError(Exception):
    """A file that cannot be read as an ADR; the message names the file and the problem."""


@dataclass
class ParsedAdr:
    filename: str
    number: int | None
    title: str
    status: str
    date: datetime.date | None
    fields: dict[str, Any] = field(default_factory=dict)
    superseded_by: list[str] = field(default_factory=list)  # raw link targets / references
    supersedes: list[str] = field(default_factory=list)
    # Typed links: (kind, "out" or "in", raw reference), see LINK_PHRASES.
    links: list[tuple[str, str, str]] = field(default_factory=list)
    images: list[str] = field(default_factory=list)  # image targets as written, relative
    format: str = ""


def tidy_markdown(text: str) -> str:
    """Trailing spaces go, except that a hard line break (two spaces before a line that
    continues the paragraph) becomes CommonMark's backslash break, which survives them."""
    lines = text.replace("\r\n", "\n").split("\n")
    out = []
    fenced = False
    for i, line in enumerate(lines):
        if FENCE.match(line):
            fenced = not fenced
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if (
            not fenced
            and line.endswith("  ")
            and line.strip()
            and following.strip()
            and not BLOCK_START.match(following)
        ):
            out.append(line.rstrip() + "\\")
        else:
            out.append(line.rstrip())
    return "\n".join(out).strip()


def _clean(text: str) -> str:
    return tidy_markdown(text)


class _FrontMatterLoader(yaml.SafeLoader):
    """Safe YAML, except that an impossible date (2024-02-30) stays text, so the importer
    says which date is wrong instead of failing inside the YAML library."""

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except (ValueError, OverflowError):
            return self.construct_scalar(node)


_FrontMatterLoader.add_constructor(
    "tag:yaml.org,2002:timestamp", _FrontMatterLoader.construct_yaml_timestamp
)


def _load_yaml(source: str, filename: str) -> Any:
    """Front matter as data; aliases and deep nesting refused before anything is built."""
    if len(source) > MAX_FRONT_MATTER_CHARS:
        raise ParseError(
            f"{filename}: the YAML front matter is {len(source)} characters; "
            f"the limit is {MAX_FRONT_MATTER_CHARS}."
        )
    depth = 0
    for event in yaml.parse(source, Loader=_FrontMatterLoader):
        if isinstance(event, yaml.AliasEvent):
            raise ParseError(
                f"{filename}: the YAML front matter uses aliases (*{event.anchor}); "
                "they are not accepted in ADR front matter."
            )
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise ParseError(
                    f"{filename}: the YAML front matter is nested more than "
                    f"{MAX_YAML_DEPTH} levels deep."
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return yaml.load(source, Loader=_FrontMatterLoader)  # noqa: S506 - a SafeLoader


def _split_front_matter(text: str, filename: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 4)
    if end < 0:
        end = text.find("\n---", 4)
        if end < 0 or text[end + 4 :].strip():
            raise ParseError(f"{filename}: the YAML front matter is not closed with ---.")
    try:
        data = _load_yaml(text[4:end], filename) or {}
    except yaml.YAMLError as exc:
        raise ParseError(f"{filename}: the YAML front matter cannot be read ({exc}).") from None
    except RecursionError:
        raise ParseError(f"{filename}: the YAML front matter is nested too deeply.") from None
    if not isinstance(data, dict):
        raise ParseError(f"{filename}: the YAML front matter must be a mapping.")
    return data, text[end + 5 :]


def _sections(
    body: str, level: str, names: dict[str, str] | None
) -> tuple[str, list[tuple[str, str]]]:
    """Split on known headings of one level (every heading if ``names`` is None).

    Returns (text before the first, [(key, text)]); the key is ``names[heading]`` or,
    without names, the heading itself.
    """
    before: list[str] = []
    found: list[tuple[str, list[str]]] = []
    fenced = False
    for line in body.split("\n"):
        if FENCE.match(line):
            fenced = not fenced
        if not fenced and line.startswith(level + " "):
            heading = COMMENT.sub("", line[len(level) + 1 :]).strip()
            name = heading.rstrip(":").casefold()
            if names is None or name in names:
                found.append((heading if names is None else names[name], []))
                continue
        (found[-1][1] if found else before).append(line)
    return "\n".join(before), [(key, "\n".join(lines)) for key, lines in found]


def _people(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        names = [str(v).strip() for v in value]
    else:
        text = COMMENT.sub("", str(value))
        if text.strip().startswith(("{", "[")) and text.strip().endswith(("}", "]")):
            return ""  # an unfilled template placeholder
        names = [part.strip() for part in re.split(r"[,;\n]", text)]
    return "\n".join(name for name in names if name)


def _date(value: Any, filename: str) -> datetime.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = COMMENT.sub("", str(value)).strip()
    match = re.search(r"\d{4}-\d{2}-\d{2}", text)
    if not match:
        if text.startswith(("{", "[")):
            return None
        raise ParseError(f"{filename}: the date {text!r} is not YYYY-MM-DD.")
    try:
        return datetime.date.fromisoformat(match.group())
    except ValueError:
        raise ParseError(f"{filename}: the date {text!r} is not a real date.") from None


def _status(value: str, filename: str, result: ParsedAdr) -> str:
    text = COMMENT.sub("", value).strip()
    by = SUPERSEDED_BY.match(text)
    if by:
        result.superseded_by.append(by.group(1))
        return "superseded"
    word = re.split(r"[\s,.;:]", text.lower(), maxsplit=1)[0] if text else ""
    if word not in STATUSES:
        raise ParseError(
            f"{filename}: unknown status {text[:80]!r}; expected one of "
            "proposed, accepted, rejected, deprecated, superseded."
        )
    return STATUSES[word]


def _points_at_a_record(reference: str) -> bool:
    return bool(LINK_TARGET.search(reference) or ADR_REF.search(reference))


def _links_from(text: str, result: ParsedAdr) -> str:
    """Take supersede and typed-link lines out of a block of text; return what is left."""
    kept = []
    for line in text.split("\n"):
        by = SUPERSEDED_BY.match(line)
        sup = SUPERSEDES.match(line) if not by else None
        typed = TYPED_LINK.match(line) if not (by or sup) else None
        if by:
            result.superseded_by.append(by.group(1))
        elif sup:
            result.supersedes.append(sup.group(1))
        elif typed and _points_at_a_record(typed.group(2)):
            kind, direction = LINK_PHRASES[" ".join(typed.group(1).lower().split())]
            result.links.append((kind, direction, typed.group(2)))
        else:
            kept.append(line)
    return "\n".join(kept)


def _options(text: str) -> list[str]:
    names = []
    for line in text.split("\n"):
        match = re.match(r"^\s*(?:[*-]|\d+\.)\s+(.*)$", line)
        if match:
            names.append(COMMENT.sub("", match.group(1)).strip())
    return [name for name in names if name]


def parse_pros_cons(text: str, names: list[str]) -> dict[str, dict[str, Any]]:
    """Every H3 under "Pros and Cons of the Options" is one option, listed or not."""
    by_name = {name.casefold(): name for name in names}
    _, parts = _sections(text, "###", None)
    result: dict[str, dict[str, Any]] = {}
    for heading, body in parts:
        name = by_name.get(heading.casefold(), heading)
        pros, neutral, cons, summary = [], [], [], []
        for line in body.split("\n"):
            if m := GOOD.match(line):
                pros.append(m.group(1).strip())
            elif m := NEUTRAL.match(line):
                neutral.append(m.group(1).strip())
            elif m := BAD.match(line):
                cons.append(m.group(1).strip())
            else:
                summary.append(line)
        option: dict[str, Any] = {"summary": _clean(COMMENT.sub("", "\n".join(summary)))}
        option.update(pros=pros, cons=cons)
        if neutral:
            option["neutral"] = neutral
        result[name] = option
    return result


def _outcome(text: str, fields: dict[str, Any]) -> None:
    main, subs = _sections(text, "###", H3_OUTCOME)
    main = _clean(COMMENT.sub("", main))
    match = CHOSEN.match(main)
    if match:
        fields["chosen_option"] = match.group(1).strip()
        justification = _clean(match.group(2))
        # A list or table after "because" is a block of its own and stays one. Otherwise
        # the exporter adds the sentence's full stop unless the text ends with one.
        if justification.endswith(".") and not BLOCK_START.match(justification):
            justification = justification[:-1]
        fields["justification"] = justification
    else:
        fields["justification"] = main
    good, bad = [], []
    for key, body in subs:
        body = _clean(COMMENT.sub("", body))
        if key == "positive":
            good.append(body)
        elif key == "negative":
            bad.append(body)
        else:
            fields[key] = body
    if good or bad:
        lines = [_prefix(b, "Good") for b in good] + [_prefix(b, "Bad") for b in bad]
        fields["consequences"] = "\n".join(line for line in lines if line)


def _prefix(block: str, kind: str) -> str:
    """MADR 2's Positive/Negative lists become MADR 4's "Good, because" / "Bad, because"."""
    out = []
    for line in block.split("\n"):
        m = re.match(r"^\s*[*-]\s+(.*)$", line)
        if m and not m.group(1).lower().startswith(("good, because", "bad, because")):
            out.append(f"* {kind}, because {m.group(1)}")
        elif line.strip():
            out.append(line)
    return "\n".join(out)


def number_from_filename(filename: str) -> int | None:
    """The number in ``0007-title.md``; None for a date id or a name without a number.
    Raises ``ParseError`` for a number beyond ``MAX_NUMBER``."""
    base = filename.rsplit("/", 1)[-1]
    if DATED.match(base):
        return None
    match = NUMBERED.match(base)
    if not match:
        return None
    return _checked_number(match.group(1), filename)


def _checked_number(digits: str, filename: str) -> int:
    if len(digits.lstrip("0")) > len(str(MAX_NUMBER)) or int(digits) > MAX_NUMBER:
        shown = digits if len(digits) <= 20 else digits[:20] + "…"
        raise ParseError(f"{filename}: the number {shown} is beyond the largest, {MAX_NUMBER}.")
    return int(digits)


def is_record_name(filename: str) -> bool:
    """A record's file is named by a number (``0007-x.md``) or a date id (``20200923-x.md``)."""
    base = filename.rsplit("/", 1)[-1]
    return bool(NUMBERED.match(base) or DATED.match(base))


def image_targets(text: str) -> list[str]:
    """Relative image targets in Markdown or HTML, as written (URLs and data: left out)."""
    found = [m.group(1) for m in IMAGE.finditer(text)] + [
        m.group(1) for m in HTML_IMAGE.finditer(text)
    ]
    relative = []
    for target in found:
        target = target.strip()
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith(("/", "\\", "#")):
            continue
        if target not in relative:
            relative.append(target)
    return relative


FIELD_LABELS = {
    "decision_makers": "list of decision-makers",
    "consulted": "list of people consulted",
    "informed": "list of people informed",
    "context": "context",
    "drivers": "decision drivers",
    "chosen_option": "chosen option",
    "justification": "decision outcome",
    "consequences": "consequences",
    "confirmation": "confirmation",
    "more_information": "more information",
}


def _check_limits(result: ParsedAdr) -> None:
    name = result.filename
    if len(result.title) > MAX_TITLE_CHARS:
        raise ParseError(
            f"{name}: the title is {len(result.title)} characters; the limit is {MAX_TITLE_CHARS}."
        )
    for key, label in FIELD_LABELS.items():
        value = result.fields.get(key, "")
        limit = MAX_TITLE_CHARS if key == "chosen_option" else MAX_FIELD_CHARS
        if len(value) > limit:
            raise ParseError(
                f"{name}: the {label} is {len(value)} characters; the limit is {limit}."
            )
        if key in {"decision_makers", "consulted", "informed"} and (
            value.count("\n") >= MAX_LIST_ITEMS
        ):
            raise ParseError(f"{name}: the {label} has more than {MAX_LIST_ITEMS} names.")
    options = result.fields.get("considered_options", [])
    if len(options) > MAX_LIST_ITEMS:
        raise ParseError(f"{name}: more than {MAX_LIST_ITEMS} considered options.")
    total = 0
    for option in options:
        if len(option["name"]) > MAX_TITLE_CHARS:
            raise ParseError(
                f"{name}: an option's name is longer than {MAX_TITLE_CHARS} characters."
            )
        points = [*option.get("pros", []), *option.get("cons", []), *option.get("neutral", [])]
        if len(points) > MAX_LIST_ITEMS:
            raise ParseError(f"{name}: an option has more than {MAX_LIST_ITEMS} pros and cons.")
        total += len(option.get("summary", "")) + sum(len(p) for p in points)
    if total > MAX_FIELD_CHARS:
        raise ParseError(
            f"{name}: the options' text is {total} characters; the limit is {MAX_FIELD_CHARS}."
        )
    if len(result.links) + len(result.superseded_by) + len(result.supersedes) > MAX_LINKS:
        raise ParseError(f"{name}: more than {MAX_LINKS} links to other records.")


def parse_adr(text: str, filename: str) -> ParsedAdr:
    """One ADR file. Raises ``ParseError`` naming the file when it cannot be read."""
    if "\x00" in text:
        raise ParseError(f"{filename}: holds a NUL byte (code 0), which is not text.")
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    meta, body = _split_front_matter(text, filename)
    number = number_from_filename(filename)
    result = ParsedAdr(filename=filename, number=number, title="", status="", date=None)
    fields: dict[str, Any] = {}

    head, sections = _sections(body, "##", H2_NAMES)
    title_lines = [line for line in head.split("\n") if line.startswith("# ")]
    if not title_lines:
        raise ParseError(f"{filename}: no title (a line starting with '# ').")
    title = title_lines[0][2:].strip()
    numbered_title = re.match(r"^(\d+)\.\s+(.*)$", title)
    if numbered_title and (
        number is None or numbered_title.group(1).lstrip("0") == str(number).lstrip("0")
    ):
        if number is None and not DATED.match(filename.rsplit("/", 1)[-1]):
            number = _checked_number(numbered_title.group(1), filename)
        title = numbered_title.group(2).strip()
        result.format = "nygard"
    if not title:
        raise ParseError(f"{filename}: the title line is empty.")
    result.number, result.title = number, title

    status_raw, date_raw = meta.get("status"), meta.get("date")
    makers = meta.get("decision-makers", meta.get("deciders"))
    fields["consulted"] = _people(meta.get("consulted"))
    fields["informed"] = _people(meta.get("informed"))
    if meta:
        result.format = "madr4" if "decision-makers" in meta else "madr3"
    for line in head.split("\n"):
        if m := META_LINE.match(line):
            key, value = m.group(1).strip().lower(), m.group(2)
            if key == "status":
                status_raw = value
            elif key == "date":
                date_raw = value
            elif key in {"deciders", "decision-makers"}:
                makers = value
            elif key in {"consulted", "informed"}:
                fields[key] = _people(value)
            elif key == "tags":
                result.format = "log4brains"
            result.format = result.format or "madr2"
        elif m := re.match(r"^Date:\s*(.*)$", line):
            date_raw = m.group(1)
    fields["decision_makers"] = _people(makers)

    more: list[str] = []
    for key, text_ in sections:
        text_ = COMMENT.sub("", text_) if key not in {"context", "more"} else text_
        if key == "status":
            rest = _links_from(_clean(text_), result)
            first = next((line for line in rest.split("\n") if line.strip()), "")
            if first:
                status_raw = first
            elif result.superseded_by:
                status_raw = "superseded"
        elif key in {"context", "drivers", "consequences", "confirmation"}:
            fields[key] = _clean(text_)
        elif key == "options":
            fields["_options"] = _options(text_)
        elif key == "outcome":
            _outcome(text_, fields)
        elif key == "decision":  # Nygard
            fields["justification"] = _clean(text_)
        elif key == "pros_cons":
            fields["_pros_cons"] = text_
        elif key == "links":
            left = _clean(_links_from(text_, result))
            if left:
                more.append(left)
        elif key == "more":
            lines = _clean(text_).split("\n")
            while lines and (m := OWN_LINK.match(lines[0])):
                phrase, reference = m.group(1).lower(), f"ADR-{m.group(2)}"
                if phrase == "supersedes":
                    result.supersedes.append(reference)
                else:
                    result.links.append((*LINK_PHRASES[phrase], reference))
                lines.pop(0)
            more.insert(0, _clean("\n".join(lines)))
    fields["more_information"] = "\n\n".join(part for part in more if part)

    # No status at all is common (MADR makes it optional): the importer chooses one.
    if status_raw is not None and COMMENT.sub("", str(status_raw)).strip():
        result.status = _status(str(status_raw), filename, result)
    result.date = _date(date_raw, filename)

    names = fields.pop("_options", [])
    pros_cons = parse_pros_cons(fields.pop("_pros_cons", ""), names)
    names += [name for name in pros_cons if name not in names]
    fields["considered_options"] = [
        {"name": name, **pros_cons.get(name, {"summary": "", "pros": [], "cons": []})}
        for name in names
    ]
    result.fields = fields
    result.format = result.format or "nygard"
    _check_limits(result)
    for key in ("context", "drivers", "justification", "consequences", "confirmation"):
        result.images += [t for t in image_targets(fields.get(key, "")) if t not in result.images]
    result.images += [
        t for t in image_targets(fields["more_information"]) if t not in result.images
    ]
    return result


def reference_key(reference: str) -> tuple[str, str]:
    """How a supersede link names its target: ("number", "5") or ("file", "0005-x.md")."""
    link = LINK_TARGET.search(reference)
    if link:
        target = link.group(2).rsplit("/", 1)[-1].split("#")[0]
        if target:
            if not target.endswith(".md"):
                target += ".md"
            return ("file", target)
        reference = link.group(1)
    ref = ADR_REF.search(reference)
    if ref:
        return ("number", str(int(ref.group(1))))
    digits = re.match(r"^\s*(\d+)\b", reference)
    if digits:
        return ("number", str(int(digits.group(1))))
    return ("file", reference.strip())
