"""Build Event Information / Event Reply datasets from what users type.

Inputs, applied in order: ``--data`` (a file or stdin) holding the DICOM JSON
model (PS3.18 F.2), plain ``{"Keyword": value}`` JSON (lists of objects are
sequences) or a DICOM Part 10 file (told by its ``DICM`` preamble); then
``KEY=VALUE`` arguments on top.

Keys: keywords (``PatientID``); tags ``(gggg,eeee)``, ``gggg,eeee`` or
``ggggeeee``; a tag with an explicit VR, ``(gggg,eeee,VR)``, which private and
unknown elements need (private creators ``(gggg,00xx)`` are LO without one);
sequence paths ``ReferencedSOPSequence[0].ReferencedSOPInstanceUID``, items
created as needed; the same forms as pynetdicom's keyword pathing plus the VR.

Values: typed and checked by VR (numbers for US/UL/SS/SL/UV/SV/FL/FD, IS/DS/
DA/TM/DT/UI/AE/CS/AS checked, lengths and character repertoires as pydicom
validates them); ``\\`` separates multiple values (not in LT/ST/UT); an empty
value makes an empty element; ``@FILE`` reads the value from a file (bytes for
OB/OW/UN and the other binary VRs, else UTF-8 text without its final line
break) and ``@@`` starts a value with a literal ``@``.

Every problem is an :class:`InputError` whose message starts with the
offending argument, so the CLI exits 2 with a line the user can act on.
"""

from __future__ import annotations

import difflib
import functools
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydicom import Dataset, config, dcmread
from pydicom.datadict import dictionary_VR, keyword_dict, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.multival import MultiValue
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag
from pydicom.uid import UID
from pydicom.valuerep import VR, validate_value

from dcmreport import speedups
from dcmreport.errors import InputError

_COMMA_TAG = re.compile(r"^([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})(?:,([A-Za-z]{2}))?$")
_HEX_TAG = re.compile(r"^([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})()$")
_PATH_PART = re.compile(r"^(?P<key>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")
_DICOM_JSON_KEY = re.compile(r"^[0-9A-Fa-f]{8}$")
_INT_RANGES = {
    "US": (0, 2**16 - 1),
    "SS": (-(2**15), 2**15 - 1),
    "UL": (0, 2**32 - 1),
    "SL": (-(2**31), 2**31 - 1),
    "UV": (0, 2**64 - 1),
    "SV": (-(2**63), 2**63 - 1),
}
_FLOAT_VRS = {"FL", "FD"}
_BINARY_VRS = {"OB", "OD", "OF", "OL", "OV", "OW", "UN"}
_SINGLE_TEXT_VRS = {"LT", "ST", "UT"}  # a backslash is text there, not a separator
_KNOWN_VRS = {vr.value for vr in VR}
# What a valid value looks like, for the VRs whose rules are not just a length.
_VR_FORMS = {
    "AE": "at most 16 characters, no \\ or control characters",
    "AS": "an age: nnnD, nnnW, nnnM or nnnY",
    "CS": "at most 16 upper-case letters, digits, spaces or _",
    "DA": "a date YYYYMMDD",
    "DS": "a decimal number of at most 16 characters",
    "DT": "a date-time YYYYMMDDHHMMSS.FFFFFF&ZZXX",
    "IS": "an integer of at most 12 characters",
    "TM": "a time HHMMSS.FFFFFF",
    "UI": "a UID: digits and dots, no leading zeros, at most 64 characters",
}


@dataclass(frozen=True)
class Key:
    """A resolved key: the element's tag and the VR its value is typed by."""

    tag: BaseTag
    vr: str


def _context(where: str, text: str) -> str:
    """The prefix naming where a key appeared, when that says more than the key itself."""
    return "" if where == text else f"{where}: "


def _malformed(text: str, where: str) -> InputError:
    return InputError(
        f"{_context(where, text)}malformed tag {text!r}",
        "a tag is (gggg,eeee), ggggeeee or (gggg,eeee,VR) with hexadecimal digits",
    )


def _tag_parts(text: str) -> tuple[str, str, str] | None:
    """(group, element, VR or '') of ``(gggg,eeee[,VR])``, ``gggg,eeee[,VR]`` or ``ggggeeee``."""
    if text.startswith("(") and text.endswith(")"):
        match = _COMMA_TAG.match(text[1:-1])
    else:
        match = _COMMA_TAG.match(text) or _HEX_TAG.match(text)
    return (match[1], match[2], match[3] or "") if match else None


def _tag_key(group: str, element: str, explicit_vr: str, text: str, where: str) -> Key:
    tag = Tag(int(group, 16), int(element, 16))
    if tag.group in (0x0000, 0x0002):
        raise InputError(
            f"{_context(where, text)}{text} is a command or file meta element, "
            "not Event Information"
        )
    if explicit_vr:
        vr = explicit_vr.upper()
        if vr not in _KNOWN_VRS:
            raise InputError(f"{_context(where, text)}{explicit_vr!r} in {text} is not a DICOM VR")
        return Key(tag, vr)
    if tag.is_private_creator:
        return Key(tag, "LO")
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        label = f"({tag.group:04X},{tag.element:04X})"
        raise InputError(
            f"{_context(where, text)}{label} is not in the DICOM dictionary, so its VR is unknown",
            f"give the VR with the tag, e.g. ({tag.group:04X},{tag.element:04X},LO)",
        ) from None
    # Ambiguous dictionary VRs ("US or SS", "OB or OW"): take the first.
    return Key(tag, vr.split(" or ")[0])


def parse_key(text: str, where: str | None = None) -> Key:
    """Resolve a keyword or a tag (with an optional VR); suggest near keywords for typos."""
    where = where or text
    parts = _tag_parts(text)
    if parts:
        return _tag_key(*parts, text, where)
    if text[:1] in "(0123456789" or "," in text or ")" in text:
        raise _malformed(text, where)
    tag = tag_for_keyword(text)
    if tag is None:
        near = difflib.get_close_matches(text, keyword_dict.keys(), n=3, cutoff=0.75)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise InputError(
            f"{_context(where, text)}unknown keyword {text!r}{hint}",
            "use a DICOM keyword or a (gggg,eeee) tag",
        )
    return Key(Tag(tag), dictionary_VR(tag).split(" or ")[0])


def _invalid(vr: str, text: object, where: str, why: str) -> InputError:
    return InputError(f"{where}: {text!r} is not a valid {vr} value ({why})")


def _number(vr: str, text: str, where: str) -> int | float:
    """A value of a binary number VR, from decimal or 0x hexadecimal text."""
    if vr in _FLOAT_VRS:
        try:
            return float(text)
        except ValueError:
            raise _invalid(vr, text, where, "a number") from None
    low, high = _INT_RANGES[vr]
    try:
        value = int(text, 0)
    except ValueError:
        raise _invalid(vr, text, where, f"an integer {low} to {high}") from None
    if not low <= value <= high:
        raise _invalid(vr, text, where, f"an integer {low} to {high}")
    return value


def value_problem(vr: str, value: object) -> str | None:
    """Why ``value`` is not valid for ``vr`` as pydicom validates it, or None if it is.

    A valid UID is let through by :func:`is_valid_uid` while the trick ``uid-check``
    is on; anything else, and everything with it off, goes to pydicom's validator.
    """
    uid = vr == "UI" and isinstance(value, str)
    if uid and speedups.enabled("uid-check") and is_valid_uid(value):  # type: ignore[arg-type]
        return None
    try:
        validate_value(vr, value, 2)
    except (ValueError, TypeError) as exc:  # TypeError: a value of the wrong type for the VR
        return _VR_FORMS.get(vr) or str(exc).split(" Please see")[0].rstrip(".")
    return None


@functools.cache
def _uid_rule() -> tuple[re.Pattern[str], int]:
    """pydicom's own rule for a valid UI value: its regex and maximum length, read from
    ``pydicom.valuerep``'s tables, which are not its public API (hence the trick)."""
    from pydicom.valuerep import MAX_VALUE_LEN, STR_VR_REGEXES

    return re.compile(STR_VR_REGEXES["UI"]), MAX_VALUE_LEN["UI"]


def is_valid_uid(value: str) -> bool:
    """Whether pydicom's validator accepts ``value`` as a UI value: its test, in its order,
    the length, then its regex (whose ``$`` also matches before a final line break, which
    pydicom refuses separately).

    The trick ``uid-check``: a report carries a UID or two per referenced
    instance, and pydicom's validator makes several calls and a cache lookup
    for each, where this is one match. Callers ask ``speedups.enabled("uid-check")``.
    """
    pattern, length = _uid_rule()
    return len(value) <= length and bool(pattern.match(value)) and value[-1:] != "\n"


def _string(vr: str, text: str, where: str) -> str | int:
    """A value of a string VR, checked as pydicom validates it (AT: a tag, as an int)."""
    if vr == "AT":
        try:
            return int(parse_key(text, where).tag)
        except InputError:
            raise _invalid(vr, text, where, "a tag or keyword") from None
    problem = value_problem(vr, text)
    if problem:
        raise _invalid(vr, text, where, problem)
    return text


def _typed(vr: str, text: str, where: str) -> Any:
    """Convert one textual value to what pydicom expects for ``vr``."""
    if vr in _INT_RANGES or vr in _FLOAT_VRS:
        return _number(vr, text, where)
    return _string(vr, text, where)


def _element(key: Key, parts: list[str], where: str) -> DataElement:
    """An element from one or more textual values, typed and checked by the key's VR."""
    if key.vr == "SQ":
        raise InputError(
            f"{where}: a sequence takes items, not a value: set the items' elements, "
            "e.g. Sequence[0].Keyword=value"
        )
    if key.vr in _BINARY_VRS:
        raise InputError(
            f"{where}: {key.vr} is a binary VR: give the value as @FILE",
            "or as InlineBinary in a DICOM JSON model file",
        )
    values = [_typed(key.vr, part, where) for part in parts]
    return DataElement(key.tag, key.vr, values[0] if len(values) == 1 else values)


def _empty(key: Key) -> DataElement:
    return DataElement(key.tag, key.vr, Sequence() if key.vr == "SQ" else None)


def make_element(key: Key, text: str, where: str) -> DataElement:
    """Build an element from ``KEY=VALUE`` text: ``\\`` splits values, '' is empty, @FILE reads."""
    if text.startswith("@@"):
        return _from_text(key, text[1:], where)
    if text.startswith("@"):
        return _element_from_file(key, text[1:], f"{where}=@{text[1:]}")
    return _from_text(key, text, where)


def _from_text(key: Key, text: str, where: str) -> DataElement:
    if text == "":
        return _empty(key)
    parts = [text] if key.vr in _SINGLE_TEXT_VRS else text.split("\\")
    return _element(key, parts, where)


def _element_from_file(key: Key, path: str, where: str) -> DataElement:
    """A value read from a file: bytes for binary VRs, else text without its final line break."""
    data = _read_bytes(path, where)
    if key.vr in _BINARY_VRS:
        return DataElement(key.tag, key.vr, data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where}: {path} is not UTF-8 text, which {key.vr} needs") from None
    return _from_text(key, text.rstrip("\r\n"), where)


def _read_bytes(path: str, where: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise InputError(f"{where}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{where}: a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read: {exc.strerror or exc}") from None


def _walk(ds: Dataset, parts: list[str], where: str) -> Dataset:
    """Follow ``Seq[i].`` path parts, creating items as needed; return the innermost dataset."""
    for part in parts:
        match = _PATH_PART.match(part)
        if not match or match["index"] is None:
            raise InputError(f"{where}: {part!r} must be a sequence with an index, e.g. {part}[0]")
        key = parse_key(match["key"], where)
        if key.vr != "SQ":
            raise InputError(f"{where}: {match['key']} is not a sequence")
        if key.tag not in ds or ds[key.tag].VR != "SQ":
            ds[key.tag] = DataElement(key.tag, "SQ", Sequence())
        items = ds[key.tag].value
        index = int(match["index"])
        if index > len(items):
            raise InputError(f"{where}: item [{index}] skips item [{len(items)}]")
        if index == len(items):
            items.append(Dataset())
        ds = items[index]
    return ds


def apply_assignment(ds: Dataset, assignment: str) -> None:
    """Apply one ``KEY=VALUE`` argument to ``ds`` (in place); errors start with its KEY."""
    key_text, sep, text = assignment.partition("=")
    key_text = key_text.strip()
    if not sep or not key_text:
        shown = assignment if len(assignment) <= 40 else assignment[:37] + "..."
        raise InputError(f"{shown!r} is not KEY=VALUE", "e.g. PatientID=12345 or (0010,0020)=12345")
    *path, leaf = key_text.split(".")
    target = _walk(ds, path, key_text)
    key = parse_key(leaf, key_text)
    target[key.tag] = make_element(key, text, key_text)


def apply_assignments(ds: Dataset, assignments: Iterable[str]) -> Dataset:
    for assignment in assignments:
        apply_assignment(ds, assignment)
    return ds


# --- JSON and Part 10 ---------------------------------------------------------------------


def is_dicom_json_model(doc: dict[str, Any]) -> bool:
    """True when every key is an 8-hex-digit tag whose value is an object with a VR."""
    return bool(doc) and all(
        _DICOM_JSON_KEY.match(k) and isinstance(v, dict) and "vr" in v for k, v in doc.items()
    )


def _json_scalar(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InputError(f"{where}: {json.dumps(value)} is not a value: give a string or number")
    return value if isinstance(value, str) else str(value)


def _plain_value(ds: Dataset, key_text: str, value: Any, where: str) -> None:
    where = f"{where}: {key_text}"
    key = parse_key(key_text, where)
    if key.vr == "SQ" and value is not None:
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            raise InputError(f"{where} is a sequence: give a list of objects")
        items = [from_plain_json(item, f"{where}[{n}]") for n, item in enumerate(value)]
        ds[key.tag] = DataElement(key.tag, "SQ", Sequence(items))
    elif value is None or value == []:
        ds[key.tag] = _empty(key)
    else:
        values = value if isinstance(value, list) else [value]
        ds[key.tag] = _element(key, [_json_scalar(v, where) for v in values], where)


def from_plain_json(doc: dict[str, Any], where: str = "JSON") -> Dataset:
    """Build a dataset from ``{"Keyword": value}`` JSON; lists of objects are sequences."""
    ds = Dataset()
    for key, value in doc.items():
        _plain_value(ds, key, value, where)
    return ds


def from_json_text(text: str, source: str) -> Dataset:
    """Parse JSON text in either the DICOM JSON model or plain keyword form."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    return from_json_object(doc, source)


def from_json_object(doc: dict[str, Any], source: str) -> Dataset:
    """A parsed JSON object in either the DICOM JSON model or plain keyword form."""
    if is_dicom_json_model(doc):
        try:
            return _from_model(doc)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise InputError(f"{source}: not a valid DICOM JSON model dataset: {exc}") from None
    return from_plain_json(doc, source)


# VRs whose DICOM JSON values are the strings pydicom keeps as they are (PS3.18 F.2.3-1).
_JSON_TEXT_VRS = {
    "AE", "AS", "CS", "DA", "DT", "LO", "LT", "SH", "ST", "TM", "UC", "UI", "UR", "UT",
}  # fmt: skip


def _from_model(doc: dict[str, Any]) -> Dataset:
    """``Dataset.from_json`` of a DICOM JSON model, built directly where that is plain.

    The trick ``json-model``: pydicom's ``from_json`` makes a converter object
    for every element and checks values it then only warns about, which
    dominates the loading of a report with many items. Text and sequence
    elements, nearly all of a report, are built here with the same values; any
    other element (numbers, PN, AT, binary, anything unusual) is left to
    pydicom, so its rules and errors stay pydicom's. Values are not checked
    here: :mod:`dcmreport.dicom.validate` checks them before sending, with
    findings rather than pydicom's warnings. With the trick off, pydicom's
    ``Dataset.from_json`` builds it all.
    """
    if not speedups.enabled("json-model"):
        return Dataset.from_json(doc)
    ds = Dataset()
    for key, mapping in doc.items():
        elem = _plain_model_element(key, mapping)
        if elem is None:
            elem = Dataset.from_json({key: mapping})[int(key, 16)]
        ds.add(elem)
    return ds


_DATE_TIME_VRS = {"DA", "DT", "TM"}  # pydicom makes objects of them with datetime_conversion


def _plain_model_element(key: str, mapping: Any) -> DataElement | None:
    """The element of one plain text or sequence attribute object, None for any other."""
    if not isinstance(mapping, dict) or mapping.keys() != {"vr", "Value"}:
        return None
    vr, values = mapping["vr"], mapping["Value"]
    if not _DICOM_JSON_KEY.match(key) or not isinstance(values, list) or not values:
        return None
    if vr == "SQ":
        items = [_plain_model_item(item) for item in values]
        plain = [item for item in items if item is not None]
        return DataElement(int(key, 16), vr, Sequence(plain)) if len(plain) == len(items) else None
    if vr not in _JSON_TEXT_VRS or not all(isinstance(v, str) for v in values):
        return None
    if len(values) == 1 and not (vr in _DATE_TIME_VRS and config.datetime_conversion):
        # The value as pydicom's own conversion makes it (a UID for UI, else the text),
        # built directly, without the conversion's calls.
        value = UID(values[0], config.IGNORE) if vr == "UI" else values[0]
        return DataElement(
            BaseTag(int(key, 16)), vr, value, validation_mode=config.IGNORE, already_converted=True
        )
    value = values[0] if len(values) == 1 else values
    return DataElement(int(key, 16), vr, value, validation_mode=config.IGNORE)


def _plain_model_item(item: Any) -> Dataset | None:
    """A sequence item whose elements are all plain, None otherwise (built from its
    elements at once, as pydicom's reader builds one)."""
    if not isinstance(item, dict):
        return None
    elements: dict[BaseTag, Any] = {}
    for key, mapping in item.items():
        elem = _plain_model_element(key, mapping)
        if elem is None:
            return None
        elements[elem.tag] = elem
    return Dataset(elements)


def is_part10(data: bytes) -> bool:
    """A DICOM Part 10 file: a 128-byte preamble, then ``DICM`` (PS3.10 7.1)."""
    return data[128:132] == b"DICM"


def from_part10(data: bytes, source: str) -> Dataset:
    """The data set of a Part 10 file, without its File Meta Information."""
    try:
        read = dcmread(io.BytesIO(data))
        elements = list(read)  # decodes every element now, so errors surface here
    except Exception as exc:  # pydicom raises many kinds on malformed input (zlib, struct, ...)
        raise InputError(f"{source}: not a readable DICOM file: {exc}") from None
    ds = Dataset()
    for elem in elements:
        ds.add(elem)
    return ds


def from_bytes(data: bytes, source: str) -> Dataset:
    """A Part 10 file if it has the preamble, else UTF-8 JSON."""
    if is_part10(data):
        return from_part10(data, source)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(
            f"{source}: neither a DICOM Part 10 file nor UTF-8 JSON",
            "Part 10 files start with a 128-byte preamble and DICM",
        ) from None
    return from_json_text(text, source)


def load_data(source: str, stdin: bytes | str | None = None, option: str = "--data") -> Dataset:
    """Load ``FILE`` or ``-`` (stdin, given as ``stdin``): JSON or a Part 10 file.

    ``option`` names the option in errors (``listen --reply`` reads the same inputs).
    """
    return load_source(source, stdin, option)[0]


def load_source(
    source: str, stdin: bytes | str | None = None, option: str = "--data"
) -> tuple[Dataset, bool]:
    """:func:`load_data`, and whether the input was a Part 10 file: a whole instance, which
    ``send-report`` trims of its pixels and summarises rather than lists."""
    if source == "-":
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin or b""
        where = "stdin"
    else:
        where = f"{option} {source}"
        data = _read_bytes(source, where)
    return from_bytes(data, where), is_part10(data)


# The bulk pixel elements of an image (PS3.3 C.7.6.3, C.9.2): Pixel Data, Float and Double
# Float Pixel Data, and each overlay plane's Overlay Data (60xx,3000), a bitmap over those
# pixels. An image file given as Event Information brings them along; no report wants them.
_PIXEL_TAGS = {
    0x7FE00010: "Pixel Data",
    0x7FE00008: "Float Pixel Data",
    0x7FE00009: "Double Float Pixel Data",
}


def _pixel_name(tag: BaseTag) -> str | None:
    """The name of a bulk pixel element, None for any other tag."""
    if tag.group & 0xFF01 == 0x6000 and tag.element == 0x3000:  # 6000-601E, even groups
        return "Overlay Data"
    return _PIXEL_TAGS.get(int(tag))


def leave_out_pixels(ds: Dataset) -> list[tuple[str, int]]:
    """Delete the top-level bulk pixel elements of ``ds``: each one's ``Name (gggg,eeee)``
    and its length in bytes. Items of sequences (an Icon Image Sequence's thumbnail) stay."""
    left_out = []
    for tag in [elem.tag for elem in ds if _pixel_name(elem.tag)]:
        value = ds[tag].value
        size = len(value) if isinstance(value, bytes | bytearray) else 0
        left_out.append((f"{_pixel_name(tag)} {tag}", size))
        del ds[tag]
    return left_out


# A binary value (OB, OW, UN ...) of this many bytes or more is not copied into a received
# data set's JSON model: base64 would hold it a third larger, several times over while the
# record is built and written. It is referred to in the kept Part 10 file instead, or omitted.
BULK_DATA_MIN = 1024 * 1024
# pydicom refers to a value of more than (threshold // 4) * 3 bytes (its threshold counts
# base64 characters): this threshold makes that BULK_DATA_MIN - 1.
_PYDICOM_THRESHOLD = BULK_DATA_MIN // 3 * 4
_OMITTED = "\0omitted"  # what a value not referred to is called until its element is rewritten


@dataclass(frozen=True)
class BulkData:
    """Where a received data set's bytes are kept, so that its JSON model can refer to its
    large binary values (PS3.18 F.2.7, BulkDataURI) rather than hold a copy of each.

    ``path`` is the Part 10 file that holds ``encoded`` from ``offset`` on (None: not kept,
    and a large value is omitted, its length said). A value is referred to only where its
    bytes are found as they are in the file: a value byte-swapped from Explicit VR Big
    Endian (``association.common.word_order``) is not, and is omitted.
    """

    encoded: bytes = b""
    path: str | None = None
    offset: int = 0

    def uri(self, elem: DataElement) -> str:
        """``file:///DIR/NAME.dcm?offset=N&length=M`` (dcm4che's form of a byte range), or
        a mark for :func:`_omit` when the value is not in the file as it is in ``elem``."""
        value, tell = elem.value, elem.file_tell
        if self.path is not None and tell is not None and self.encoded.startswith(value, tell):
            where = Path(self.path).absolute().as_uri()
            return f"{where}?offset={self.offset + tell}&length={len(value)}"
        return _OMITTED


def omitted_value(vr: str, length: int) -> dict[str, Any]:
    """A large binary value's element when it is not kept: its VR and length, no value."""
    return {
        "vr": vr,
        "length": length,
        "omitted": f"a value of {length:,} bytes; listen --output-dir refers to it in the "
        "kept Part 10 file, --inline-binary includes it",
    }


def to_json_model(ds: Dataset | None, bulk: BulkData | None = None) -> dict[str, Any] | None:
    """The DICOM JSON model (PS3.18 F.2) of ``ds``, None for no dataset.

    With ``bulk``, binary values of :data:`BULK_DATA_MIN` bytes or more are referred to
    (:class:`BulkData`) or omitted (:func:`omitted_value`), never copied into the model;
    without it every value is whole (InlineBinary).
    A received value that is not valid for its VR (DS ``"abc"``) has no JSON
    form; it is kept as the string the peer sent rather than lost or fatal.
    """
    if ds is None:
        return None
    omitted: dict[int, DataElement] = {}
    handler, threshold = None, 2**31
    if bulk is not None:
        threshold = _PYDICOM_THRESHOLD

        def handler(elem: DataElement) -> str:
            uri = bulk.uri(elem)
            if uri == _OMITTED:
                omitted[id(elem)] = elem
                return f"{_OMITTED}{id(elem)}"
            return uri

    try:
        model = ds.to_json_dict(threshold, handler)
    except (ValueError, TypeError, OverflowError):
        model = _tolerant_json_model(ds, handler, threshold)
    if omitted:
        _omit(model, omitted)
    return model


def _omit(model: dict[str, Any], omitted: dict[int, DataElement]) -> None:
    """Rewrite each element :class:`BulkData` marked as omitted (only called when one was)."""
    for key, element in model.items():
        uri = element.get("BulkDataURI")
        if isinstance(uri, str) and uri.startswith(_OMITTED):
            elem = omitted[int(uri.removeprefix(_OMITTED))]
            model[key] = omitted_value(element["vr"], len(elem.value))
        elif element.get("vr") == "SQ":
            for item in element.get("Value", []):
                _omit(item, omitted)


def _tolerant_json_model(ds: Dataset, handler: Any, threshold: int) -> dict[str, Any]:
    model: dict[str, Any] = {}
    for elem in ds:
        key = f"{elem.tag:08X}"
        if elem.VR == "SQ":
            items = [_tolerant_json_model(i, handler, threshold) for i in elem.value]
            model[key] = {"vr": "SQ", "Value": items}
            continue
        try:
            model[key] = elem.to_json_dict(handler, threshold)
        except (ValueError, TypeError, OverflowError):
            values = elem.value if isinstance(elem.value, list | MultiValue) else [elem.value]
            model[key] = {"vr": elem.VR, "Value": [str(v) for v in values]}
    return model
