"""Joining PDFs without holding them: each source is read, copied into the output and
dropped before the next one is opened, so memory stays at one source's size however many
there are.

pypdf's ``PdfWriter`` keeps every page and every object of every source until it writes
the whole file; at a 1,000-record log (about 5,000 pages) that alone took hundreds of MB.
``pdf_join`` uses pypdf only to read: it walks what each page needs (contents, resources,
fonts, images, annotations), gives each object a new number and writes it straight to
the output, then keeps only what the end of the file needs: one number per page, the
bookmarks (title, target, children) and the named destinations. At the end it writes one
page tree, one outline (every source's bookmarks in order), one name tree of destinations
(a name two sources share keeps the first one's target), the catalog, the document
information of the first source and the cross-reference table.

``number_pages=True`` stamps "Page N" at the foot of every page, N running over the whole
output: the sources can then be made without knowing where they will start (the log PDF's
parts render in parallel, see ``log_pdf``). The stamp is drawn after the page's own
content in a saved and restored graphics state, in Helvetica (one of the PDF base fonts,
so nothing is embedded), at the place of WeasyPrint's bottom-right page margin box of
``static/css/adr-print.css`` (A4, 18 mm right margin, 20 mm bottom margin, 8 pt).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO

from pypdf import PageObject, PdfReader
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NullObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

# The stamp: where WeasyPrint puts the bottom-right margin box's text in adr-print.css.
MM = 72 / 25.4
STAMP_RIGHT = 18 * MM
# Where WeasyPrint sets the baseline of 8 pt text centred in the 20 mm bottom margin
# (read back from one of its pages), in points above the page's bottom edge.
STAMP_BASELINE = 25.6
STAMP_SIZE = 8
STAMP_COLOUR = b"0.365 0.4 0.471 rg"  # #5d6678, as the stylesheet's footer
STAMP_FONT = NameObject("/ArchwayPageNumber")
# Helvetica's advance widths (thousandths of the size) for the stamp's characters.
HELVETICA_WIDTHS = {"P": 667, "a": 556, "g": 556, "e": 556, " ": 278} | dict.fromkeys(
    "0123456789", 556
)
# Name tree and page tree nodes are walked with a bound, so a malformed source cannot loop.
MAX_DEPTH = 64

Ref = Callable[[IndirectObject], IndirectObject]


class PdfJoinError(Exception):
    """A source is not a PDF this joiner can copy; the message says which and why."""


@dataclass
class _Bookmark:
    title: PdfObject
    target: dict[NameObject, PdfObject]
    is_open: bool
    children: list[_Bookmark] = field(default_factory=list)


class _Output:
    """Objects written as they come; their offsets kept for the cross-reference table."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.offsets: list[int] = [0]
        self.position = 0
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    def _write(self, data: bytes) -> None:
        self.out.write(data)
        self.position += len(data)

    def reserve(self) -> int:
        self.offsets.append(-1)
        return len(self.offsets) - 1

    def put(self, number: int, obj: PdfObject) -> IndirectObject:
        buffer = io.BytesIO()
        buffer.write(b"%d 0 obj\n" % number)
        obj.write_to_stream(buffer)
        buffer.write(b"\nendobj\n")
        self.offsets[number] = self.position
        self._write(buffer.getvalue())
        return IndirectObject(number, 0, None)

    def add(self, obj: PdfObject) -> IndirectObject:
        return self.put(self.reserve(), obj)

    def close(self, root: IndirectObject, info: IndirectObject | None) -> None:
        missing = [n for n, offset in enumerate(self.offsets) if offset < 0]
        if missing:  # a bug here, never the sources' fault
            raise AssertionError(f"objects reserved but never written: {missing[:5]}")
        start = self.position
        lines = [b"xref\n0 %d\n" % len(self.offsets), b"0000000000 65535 f \n"]
        lines.extend(b"%010d 00000 n \n" % offset for offset in self.offsets[1:])
        trailer = DictionaryObject(
            {NameObject("/Size"): NumberObject(len(self.offsets)), NameObject("/Root"): root}
        )
        if info is not None:
            trailer[NameObject("/Info")] = info
        buffer = io.BytesIO()
        trailer.write_to_stream(buffer)
        self._write(b"".join(lines) + b"trailer\n" + buffer.getvalue())
        self._write(b"\nstartxref\n%d\n%%%%EOF\n" % start)


def _copy(obj: Any, ref: Ref) -> Any:
    """``obj`` with every indirect reference renumbered by ``ref`` (which queues the
    object it points to for copying). Streams keep their encoded bytes as they are."""
    if isinstance(obj, IndirectObject):
        return ref(obj)
    if isinstance(obj, StreamObject):
        stream = StreamObject()
        for key, value in obj.items():
            if key != "/Length":  # written again from the data's length
                stream[key] = _copy(value, ref)
        stream.set_data(obj._data)  # the encoded bytes: nothing is decoded or re-encoded
        return stream
    if isinstance(obj, DictionaryObject):
        return DictionaryObject({key: _copy(value, ref) for key, value in obj.items()})
    if isinstance(obj, ArrayObject):
        return ArrayObject(_copy(value, ref) for value in obj)
    return obj


def _copy_dict(
    obj: DictionaryObject, ref: Ref, *, leave_out: set[str] | frozenset[str] = frozenset()
) -> DictionaryObject:
    return DictionaryObject(
        {key: _copy(value, ref) for key, value in obj.items() if key not in leave_out}
    )


def _stamp(number: int, right: float, bottom: float) -> bytes:
    text = f"Page {number}"
    width = sum(HELVETICA_WIDTHS[c] for c in text) * STAMP_SIZE / 1000
    x = right - STAMP_RIGHT - width
    y = bottom + STAMP_BASELINE
    return b"Q\nq %s BT %s %d Tf %.2f %.2f Td (%s) Tj ET Q\n" % (
        STAMP_COLOUR,
        STAMP_FONT.encode(),
        STAMP_SIZE,
        x,
        y,
        text.encode(),
    )


class _Join:
    def __init__(self, out: BinaryIO, *, number_pages: bool) -> None:
        self.output = _Output(out)
        self.catalog = self.output.reserve()
        self.page_tree = self.output.reserve()
        self.pages: list[int] = []
        self.bookmarks: list[_Bookmark] = []
        self.names: dict[bytes, tuple[PdfObject, PdfObject]] = {}
        self.info: IndirectObject | None = None
        self.lang: PdfObject | None = None
        self.number_pages = number_pages
        if number_pages:
            # Every page's own content runs inside q ... Q, so the stamp after it starts
            # from the page's default coordinates and colours whatever the content left.
            self.save_state = self.output.add(_content(b"q\n"))
            self.font = self.output.add(
                DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Font"),
                        NameObject("/Subtype"): NameObject("/Type1"),
                        NameObject("/BaseFont"): NameObject("/Helvetica"),
                        NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
                    }
                )
            )

    def add_source(self, source: IO[bytes], label: str) -> None:
        try:
            reader = PdfReader(source)
            catalog = _dict(reader.trailer.raw_get("/Root"))
        except Exception as exc:  # noqa: BLE001 - pypdf raises many kinds; the message says it
            raise PdfJoinError(f"{label} is not a readable PDF: {exc}") from exc
        numbers: dict[tuple[int, int], int] = {}
        pending: list[IndirectObject] = []

        def ref(old: IndirectObject) -> IndirectObject:
            key = (old.idnum, old.generation)
            number = numbers.get(key)
            if number is None:
                number = numbers[key] = self.output.reserve()
                pending.append(old)
            return IndirectObject(number, 0, None)

        # The source's catalog and page tree stand for the output's, should anything
        # point at them; its pages get their numbers first, so bookmarks can name them.
        for own, number in (
            (reader.trailer.raw_get("/Root"), self.catalog),
            (catalog.raw_get("/Pages"), self.page_tree),
        ):
            if isinstance(own, IndirectObject):
                numbers[(own.idnum, own.generation)] = number
        pages = []
        for page in reader.pages:
            own = page.indirect_reference
            if own is None:
                raise PdfJoinError(f"{label} has a page that is not an indirect object.")
            number = numbers[(own.idnum, own.generation)] = self.output.reserve()
            pages.append((number, page))

        if self.info is None:
            info = reader.trailer.get("/Info")
            self.info = ref(info) if isinstance(info, IndirectObject) else None
            lang = catalog.get("/Lang")
            self.lang = _copy(lang, ref) if lang is not None else None
        self.bookmarks.extend(_bookmarks(_dict(catalog.get("/Outlines")).get("/First"), ref))
        for name, target in _named_destinations(catalog):
            self.names.setdefault(_name_key(name), (name, _copy(target, ref)))

        stamped: dict[tuple[int, int], IndirectObject] = {}
        for number, page in pages:
            self._put_page(number, page, ref, stamped)
        while pending:
            old = pending.pop()
            found = old.get_object()  # None for a reference to a missing object: null
            copied = _copy(found, ref) if found is not None else NullObject()
            self.output.put(numbers[(old.idnum, old.generation)], copied)

    def _put_page(
        self,
        number: int,
        page: PageObject,
        ref: Ref,
        stamped: dict[tuple[int, int], IndirectObject],
    ) -> None:
        """Write the page; with numbers, its content gets the stamp and its resources the
        stamp's font. ``stamped``: the source's shared resources, already written so."""
        self.pages.append(number)
        replaced = {"/Parent"} | ({"/Contents", "/Resources"} if self.number_pages else set())
        copy = _copy_dict(page, ref, leave_out=replaced)
        copy[NameObject("/Parent")] = IndirectObject(self.page_tree, 0, None)
        if self.number_pages:
            contents = page.raw_get("/Contents") if "/Contents" in page else None
            resolved = contents.get_object() if contents is not None else None
            streams = list(resolved) if isinstance(resolved, ArrayObject) else [contents]
            box = page.mediabox
            stamp = self.output.add(_content(_stamp(len(self.pages), box.right, box.bottom)))
            copy[NameObject("/Contents")] = ArrayObject(
                [self.save_state, *(_copy(s, ref) for s in streams if s is not None), stamp]
            )
            resources = page.raw_get("/Resources") if "/Resources" in page else None
            if isinstance(resources, IndirectObject):
                # WeasyPrint gives all pages of a document one resources object (all its
                # fonts and images): written once with the stamp's font, not once a page.
                key = (resources.idnum, resources.generation)
                if key not in stamped:
                    stamped[key] = self.output.add(self._stamped_resources(resources, ref))
                copy[NameObject("/Resources")] = stamped[key]
            else:
                copy[NameObject("/Resources")] = self._stamped_resources(resources, ref)
        self.output.put(number, copy)

    def _stamped_resources(self, resources: Any, ref: Ref) -> DictionaryObject:
        """A copy of ``resources`` with the stamp's font added; the fonts, images and other
        objects it names stay shared."""
        found = _dict(resources)
        fonts = _copy_dict(_dict(found.get("/Font")), ref)
        fonts[STAMP_FONT] = self.font
        own = _copy_dict(found, ref, leave_out={"/Font"})
        own[NameObject("/Font")] = fonts
        return own

    def close(self) -> int:
        output = self.output
        kids = ArrayObject(IndirectObject(n, 0, None) for n in self.pages)
        output.put(
            self.page_tree,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Pages"),
                    NameObject("/Kids"): kids,
                    NameObject("/Count"): NumberObject(len(self.pages)),
                }
            ),
        )
        catalog = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Catalog"),
                NameObject("/Pages"): IndirectObject(self.page_tree, 0, None),
            }
        )
        if self.lang is not None:
            catalog[NameObject("/Lang")] = self.lang
        if self.bookmarks:
            root = output.reserve()
            first, last, count = _put_bookmarks(output, self.bookmarks, root)
            catalog[NameObject("/Outlines")] = output.put(
                root,
                DictionaryObject(
                    {
                        NameObject("/Type"): NameObject("/Outlines"),
                        NameObject("/First"): first,
                        NameObject("/Last"): last,
                        NameObject("/Count"): NumberObject(count),
                    }
                ),
            )
        if self.names:
            flat = ArrayObject()
            for key in sorted(self.names):
                flat.extend(self.names[key])
            tree = output.add(DictionaryObject({NameObject("/Names"): flat}))
            catalog[NameObject("/Names")] = DictionaryObject({NameObject("/Dests"): tree})
        output.put(self.catalog, catalog)
        output.close(IndirectObject(self.catalog, 0, None), self.info)
        return len(self.pages)


def _dict(obj: Any) -> DictionaryObject:
    """``obj`` resolved if it is a dictionary (or a reference to one), else an empty one."""
    found = obj.get_object() if isinstance(obj, PdfObject) else None
    return found if isinstance(found, DictionaryObject) else DictionaryObject()


def _array(obj: Any) -> ArrayObject:
    found = obj.get_object() if isinstance(obj, PdfObject) else None
    return found if isinstance(found, ArrayObject) else ArrayObject()


def _content(data: bytes) -> StreamObject:
    stream = StreamObject()
    stream.set_data(data)
    return stream


def _name_key(name: PdfObject) -> bytes:
    """How the name tree sorts a name: by its bytes."""
    if isinstance(name, TextStringObject):
        return name.original_bytes
    if isinstance(name, bytes):
        return bytes(name)
    return str(name).encode()


def _named_destinations(catalog: DictionaryObject) -> Iterable[tuple[PdfObject, PdfObject]]:
    """(name, target) for the name tree under /Names /Dests and the older /Dests dict."""
    yield from _name_tree(_dict(_dict(catalog.get("/Names")).get("/Dests")), 0)
    for key, value in _dict(catalog.get("/Dests")).items():
        yield TextStringObject(key[1:]), value


def _name_tree(node: DictionaryObject, depth: int) -> Iterable[tuple[PdfObject, PdfObject]]:
    if depth > MAX_DEPTH:
        raise PdfJoinError("The destinations' name tree is nested too deep.")
    flat = _array(node.get("/Names"))
    for i in range(0, len(flat) - 1, 2):
        yield flat[i], flat[i + 1]
    for kid in _array(node.get("/Kids")):
        yield from _name_tree(_dict(kid), depth + 1)


def _bookmarks(first: Any, ref: Ref, depth: int = 0) -> list[_Bookmark]:
    """A level of the source's outline, from its first item along /Next."""
    if depth > MAX_DEPTH:
        raise PdfJoinError("The bookmarks are nested too deep.")
    found: list[_Bookmark] = []
    seen: set[int] = set()
    node = first
    while isinstance(node, IndirectObject) and node.idnum not in seen:
        seen.add(node.idnum)
        item = _dict(node)
        target = {
            NameObject(key): _copy(item.raw_get(key), ref) for key in ("/Dest", "/A") if key in item
        }
        found.append(
            _Bookmark(
                title=_copy(item.get("/Title", TextStringObject("")), ref),
                target=target,
                is_open=int(item.get("/Count", NumberObject(0)).get_object()) > 0,
                children=_bookmarks(item.raw_get("/First"), ref, depth + 1)
                if "/First" in item
                else [],
            )
        )
        node = item.raw_get("/Next") if "/Next" in item else None
    return found


def _put_bookmarks(
    output: _Output, items: list[_Bookmark], parent: int
) -> tuple[IndirectObject, IndirectObject, int]:
    """Write one level of the outline; its first and last item and how many are visible."""
    numbers = [output.reserve() for _ in items]
    visible = len(items)
    for i, item in enumerate(items):
        entry = DictionaryObject(
            {
                NameObject("/Title"): item.title,
                NameObject("/Parent"): IndirectObject(parent, 0, None),
                **item.target,
            }
        )
        if i:
            entry[NameObject("/Prev")] = IndirectObject(numbers[i - 1], 0, None)
        if i + 1 < len(items):
            entry[NameObject("/Next")] = IndirectObject(numbers[i + 1], 0, None)
        if item.children:
            first, last, count = _put_bookmarks(output, item.children, numbers[i])
            entry[NameObject("/First")], entry[NameObject("/Last")] = first, last
            entry[NameObject("/Count")] = NumberObject(count if item.is_open else -count)
            if item.is_open:
                visible += count
        output.put(numbers[i], entry)
    return (
        IndirectObject(numbers[0], 0, None),
        IndirectObject(numbers[-1], 0, None),
        visible,
    )


def pdf_join(sources: Iterable[IO[bytes]], out: BinaryIO, *, number_pages: bool = False) -> int:
    """Write the ``sources`` (PDF files opened for reading, each closed once copied) one
    after another into ``out`` as one PDF; returns its page count. ``number_pages``
    stamps "Page N" on every page (see the module doc)."""
    join = _Join(out, number_pages=number_pages)
    for i, source in enumerate(sources):
        with source:
            join.add_source(source, f"Part {i + 1}")
    return join.close()
