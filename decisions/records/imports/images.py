"""Images that imported records show: checked by content, SVGs rebuilt from an allow-list.

A raster image is kept only when its bytes start the way its type says (so a served file
is what its Content-Type claims). An SVG is parsed (a DOCTYPE, and so any entity, is
refused first) and rebuilt keeping only drawing elements and presentation attributes:
no scripts, no event handlers, no ``foreignObject``, no ``<style>`` sheets, and no
reference to anything outside the file (only ``#fragment`` links and ``url(#id)``).
Pure: bytes in, bytes out or ``ImageProblem``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import PurePosixPath

MAX_IMAGE_BYTES = 5_000_000
MAX_SVG_ELEMENTS = 20_000

SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
SVG_ELEMENTS = {
    "svg", "g", "defs", "title", "desc", "symbol", "use", "path", "rect", "circle",
    "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath", "marker",
    "linearGradient", "radialGradient", "stop", "clipPath", "mask", "pattern",
}  # fmt: skip
SVG_ATTRIBUTES = {
    "id", "class", "width", "height", "x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r",
    "rx", "ry", "d", "points", "viewBox", "preserveAspectRatio", "transform", "fill",
    "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-opacity",
    "stroke-dasharray", "stroke-dashoffset", "stroke-linecap", "stroke-linejoin",
    "stroke-miterlimit", "opacity", "font-family", "font-size", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "alignment-baseline", "letter-spacing", "dx", "dy",
    "offset", "stop-color", "stop-opacity", "gradientUnits", "gradientTransform", "fx",
    "fy", "markerWidth", "markerHeight", "refX", "refY", "orient", "markerUnits",
    "clip-path", "clipPathUnits", "mask", "maskUnits", "patternUnits", "patternTransform",
    "marker-start", "marker-mid", "marker-end", "visibility", "display", "style", "href",
    "version", "rotate", "textLength", "lengthAdjust", "startOffset", "spreadMethod",
}  # fmt: skip
# Inside attribute values and style: url(#local) only; no other url(), no imports.
_EXTERNAL = re.compile(r"url\s*\(\s*(?!['\"]?#)|@import|expression\s*\(|javascript:", re.I)


class ImageProblem(Exception):
    """The file is not an image Archway keeps; the message says why."""


def content_type_for(name: str) -> str | None:
    return TYPES.get(PurePosixPath(name).suffix.lower())


def checked_image(name: str, data: bytes) -> tuple[bytes, str]:
    """(bytes to store, content type) or ``ImageProblem``."""
    content_type = content_type_for(name)
    if content_type is None:
        raise ImageProblem("not a PNG, JPEG, GIF, WebP or SVG image")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageProblem(f"larger than the limit of {MAX_IMAGE_BYTES // 1_000_000} MB")
    if content_type == "image/svg+xml":
        return sanitised_svg(data), content_type
    if content_type == "image/webp":
        if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
            raise ImageProblem("its bytes are not a WebP image")
    elif not data.startswith(SIGNATURES[content_type]):
        raise ImageProblem(f"its bytes are not a {content_type.split('/')[1].upper()} image")
    return data, content_type


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def sanitised_svg(data: bytes) -> bytes:
    """The SVG rebuilt from the allow-list above, or ``ImageProblem``."""
    head = data[:4096].lower()
    if b"<!doctype" in head or b"<!entity" in data.lower():
        raise ImageProblem("SVG with a DOCTYPE or entities is not accepted")
    try:
        root = ET.fromstring(data)
    except (ET.ParseError, ValueError) as exc:
        raise ImageProblem(f"not a readable SVG ({exc})") from None
    if _local(root.tag) != (SVG_NS, "svg"):
        raise ImageProblem("not an SVG document")
    count = 0

    def clean(element: ET.Element) -> ET.Element:
        nonlocal count
        count += 1
        if count > MAX_SVG_ELEMENTS:
            raise ImageProblem(f"more than {MAX_SVG_ELEMENTS} SVG elements")
        _, local = _local(element.tag)
        copy = ET.Element(f"{{{SVG_NS}}}{local}")
        for key, value in element.attrib.items():
            namespace, attribute = _local(key)
            if namespace not in ("", XLINK_NS) or attribute not in SVG_ATTRIBUTES:
                continue
            if attribute == "href" and not value.strip().startswith("#"):
                continue
            if _EXTERNAL.search(value):
                continue
            copy.set(f"{{{XLINK_NS}}}href" if namespace == XLINK_NS else attribute, value)
        copy.text = element.text
        for child in element:
            namespace, child_local = _local(child.tag)
            if namespace == SVG_NS and child_local in SVG_ELEMENTS:
                kept = clean(child)
                kept.tail = child.tail
                copy.append(kept)
        return copy

    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    return ET.tostring(clean(root), encoding="utf-8", xml_declaration=True)
