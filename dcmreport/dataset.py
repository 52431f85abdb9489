"""Build Event Information / Event Reply datasets from what users type.

Three inputs, applied in order: a JSON document (the DICOM JSON model of
PS3.18 F.2, or plain ``{"Keyword": value}`` JSON), then ``KEY=VALUE``
assignments on top. Keys are keywords (``PatientName``), tags
(``(0010,0010)`` or ``00100010``), or sequence paths
(``ReferencedSOPSequence[0].ReferencedSOPInstanceUID``). Values are typed by
the element's VR; ``\\`` separates multiple values and an empty value makes an
empty element. Every problem is an :class:`InputError` naming the argument.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydicom import Dataset
from pydicom.datadict import dictionary_VR, keyword_dict, tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.sequence import Sequence
from pydicom.tag import BaseTag, Tag

from dcmreport.errors import InputError

_TAG_FORMS = (
    re.compile(r"^\(?([0-9A-Fa-f]{4}),([0-9A-Fa-f]{4})\)?$"),
    re.compile(r"^([0-9A-Fa-f]{4})([0-9A-Fa-f]{4})$"),
)
_PATH_PART = re.compile(r"^(?P<key>[^\[\]]+)(?:\[(?P<index>\d+)\])?$")
_INT_VRS = {"US", "UL", "SS", "SL", "UV", "SV"}
_FLOAT_VRS = {"FL", "FD"}
_DICOM_JSON_KEY = re.compile(r"^[0-9A-Fa-f]{8}$")


def parse_tag(key: str) -> BaseTag:
    """Resolve a keyword or a ``(gggg,eeee)``/``gggggeeee`` tag; suggest near keywords."""
    for form in _TAG_FORMS:
        match = form.match(key)
        if match:
            return Tag(int(match[1], 16), int(match[2], 16))
    tag = tag_for_keyword(key)
    if tag is None:
        near = difflib.get_close_matches(key, keyword_dict.keys(), n=3, cutoff=0.75)
        hint = f" (did you mean {', '.join(near)}?)" if near else ""
        raise InputError(
            f"unknown keyword {key!r}{hint}", "use a DICOM keyword or a (gggg,eeee) tag"
        )
    return Tag(tag)


def _vr_of(tag: BaseTag, key: str) -> str:
    try:
        vr = dictionary_VR(tag)
    except KeyError:
        raise InputError(
            f"{key}: tag {tag} is not in the DICOM dictionary, so its VR is unknown",
            "give the element in a DICOM JSON model file, which carries the VR",
        ) from None
    # Ambiguous dictionary VRs ("US or SS", "OB or OW"): take the first.
    return vr.split(" or ")[0]


def _typed(vr: str, text: str, key: str) -> Any:
    """Convert one textual value to what pydicom expects for ``vr``."""
    try:
        if vr in _INT_VRS:
            return int(text, 0)
        if vr in _FLOAT_VRS:
            return float(text)
    except ValueError:
        raise InputError(f"{key}: {text!r} is not a valid {vr} value (a number)") from None
    if vr == "SQ":
        raise InputError(
            f"{key} is a sequence: set its items' elements, e.g. {key}[0].Keyword=value"
        )
    return text


def make_element(tag: BaseTag, text: str, key: str) -> DataElement:
    """Build an element from ``KEY=VALUE`` text: typed by VR, ``\\`` splits values, '' is empty."""
    vr = _vr_of(tag, key)
    if text == "":
        return DataElement(tag, vr, None if vr != "SQ" else Sequence())
    parts = (
        [_typed(vr, part, key) for part in text.split("\\")]
        if vr not in ("LT", "ST", "UT")
        else [text]
    )
    value: Any = parts[0] if len(parts) == 1 else parts
    try:
        elem = DataElement(tag, vr, value, validation_mode=2)
    except ValueError as exc:
        raise InputError(f"{key}: {exc}") from None
    return elem


def _walk(ds: Dataset, parts: list[str], assignment: str) -> tuple[Dataset, str]:
    """Follow ``Seq[i].`` path parts, creating items as needed; return the innermost dataset."""
    for part in parts:
        match = _PATH_PART.match(part)
        if not match or match["index"] is None:
            raise InputError(
                f"{assignment!r}: {part!r} must be a sequence with an index, e.g. {part}[0]"
            )
        tag = parse_tag(match["key"])
        if _vr_of(tag, match["key"]) != "SQ":
            raise InputError(f"{assignment!r}: {match['key']} is not a sequence")
        if tag not in ds:
            ds[tag] = DataElement(tag, "SQ", Sequence())
        items = ds[tag].value
        index = int(match["index"])
        if index > len(items):
            raise InputError(f"{assignment!r}: item [{index}] skips item [{len(items)}]")
        if index == len(items):
            items.append(Dataset())
        ds = items[index]
    return ds, parts[-1] if parts else ""


def apply_assignment(ds: Dataset, assignment: str) -> None:
    """Apply one ``KEY=VALUE`` argument to ``ds`` (in place)."""
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise InputError(
            f"{assignment!r} is not KEY=VALUE", "e.g. PatientID=12345 or (0010,0020)=12345"
        )
    *path, leaf = key.strip().split(".")
    target, _ = _walk(ds, path, assignment)
    tag = parse_tag(leaf)
    target[tag] = make_element(tag, text, leaf)


def apply_assignments(ds: Dataset, assignments: Iterable[str]) -> Dataset:
    for assignment in assignments:
        apply_assignment(ds, assignment)
    return ds


def _json_error_message(exc: json.JSONDecodeError, source: str) -> str:
    return f"{source}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"


def is_dicom_json_model(doc: dict[str, Any]) -> bool:
    """True when every key is an 8-hex-digit tag whose value is an object with a VR."""
    return bool(doc) and all(
        _DICOM_JSON_KEY.match(k) and isinstance(v, dict) and "vr" in v for k, v in doc.items()
    )


def _plain_value(ds: Dataset, key: str, value: Any, where: str) -> None:
    tag = parse_tag(key)
    vr = _vr_of(tag, key)
    if vr == "SQ":
        if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
            raise InputError(f"{where}: {key} is a sequence; give a list of objects")
        ds[tag] = DataElement(
            tag, "SQ", Sequence([from_plain_json(i, f"{where}.{key}") for i in value])
        )
        return
    if value is None:
        ds[tag] = DataElement(tag, vr, None)
        return
    values = value if isinstance(value, list) else [value]
    text = "\\".join(str(v) for v in values)
    ds[tag] = make_element(tag, text, f"{where}: {key}")


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
        raise InputError(_json_error_message(exc, source)) from None
    if not isinstance(doc, dict):
        raise InputError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    if is_dicom_json_model(doc):
        try:
            return Dataset.from_json(doc)
        except (ValueError, TypeError, KeyError) as exc:
            raise InputError(f"{source}: not a valid DICOM JSON model dataset: {exc}") from None
    return from_plain_json(doc, source)


def load_data(source: str, stdin_text: str | None = None) -> Dataset:
    """Load ``--data FILE`` or ``-`` (stdin) as JSON."""
    if source == "-":
        return from_json_text(stdin_text or "", "stdin")
    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{source}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read: {exc}") from None
    return from_json_text(text, source)


def build(
    data: str | None, assignments: Iterable[str], stdin_text: str | None = None
) -> Dataset | None:
    """The dataset from ``--data`` and ``KEY=VALUE`` arguments, or None if neither was given."""
    assignments = list(assignments)
    if data is None and not assignments:
        return None
    ds = load_data(data, stdin_text) if data is not None else Dataset()
    return apply_assignments(ds, assignments)


def to_json_model(ds: Dataset | None) -> dict[str, Any] | None:
    """The DICOM JSON model (PS3.18 F.2) of ``ds``, None for no dataset."""
    if ds is None:
        return None
    return ds.to_json_dict(bulk_data_threshold=2**31)
