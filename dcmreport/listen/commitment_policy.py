"""``listen --commitment POLICY``: how the PACS side decides a storage commitment result.

``all`` commits every requested instance, ``none[:REASON]`` fails each,
``dir:DIR`` commits what is stored under DIR (what a storescp received,
say), and ``exec`` leaves it to the ``--exec`` program, whose output
:func:`program_decision` reads and checks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from dcmreport.dicom import catalog, commitment
from dcmreport.errors import InputError


class PolicyKind(str, Enum):
    ALL = "all"
    NONE = "none"
    DIR = "dir"
    EXEC = "exec"


CLASS_INSTANCE_CONFLICT = 0x0119
NO_SUCH_OBJECT_INSTANCE = 0x0112


@dataclass(frozen=True)
class Policy:
    """How ``listen --commitment`` decides: ``all``, ``none[:REASON]``, ``dir:DIR`` or ``exec``.

    ``exec`` is decided by the ``--exec`` program (:mod:`dcmreport.listen.handler`), its
    output read by :func:`program_decision`; the others here.
    """

    kind: PolicyKind
    reason: int = commitment.DEFAULT_FAILURE_REASON  # with none
    directory: Path | None = None  # with dir

    def decide(
        self, requested: list[commitment.Instance]
    ) -> tuple[list[commitment.Instance], list[tuple[commitment.Instance, int]]]:
        """(committed, failed with their Failure Reason) for the requested instances.

        ``dir:DIR`` commits an instance stored under DIR (what a storescp
        received, say) with the same SOP Class; another class is 0x0119
        Class/Instance conflict, absence 0x0112 No such object instance.
        """
        if self.kind is PolicyKind.ALL:
            return list(requested), []
        if self.kind is PolicyKind.NONE:
            return [], [(i, self.reason) for i in requested]
        if self.directory is None:
            raise ValueError(f"the {self.kind} policy is decided by its program")
        stored = _stored(self.directory)
        committed, failed = [], []
        for instance in requested:
            found = stored.get(instance.sop_instance_uid)
            if found == instance.sop_class_uid:
                committed.append(instance)
            else:
                reason = NO_SUCH_OBJECT_INSTANCE if found is None else CLASS_INSTANCE_CONFLICT
                failed.append((instance, reason))
        return committed, failed


def parse_policy(text: str) -> Policy:
    """``all``, ``none``, ``none:no-such-object-instance``, ``dir:/srv/incoming``."""
    kind, _, rest = text.partition(":")
    if kind == "all" and not rest:
        return Policy(PolicyKind.ALL)
    if kind == "none":
        return Policy(
            PolicyKind.NONE,
            catalog.resolve_failure_reason(rest) if rest else commitment.DEFAULT_FAILURE_REASON,
        )
    if kind == "dir" and rest:
        directory = Path(rest)
        if not directory.is_dir():
            raise ValueError(f"dir:{rest}: no such directory")
        return Policy(PolicyKind.DIR, directory=directory)
    if kind == "exec" and not rest:
        return Policy(PolicyKind.EXEC)
    raise ValueError(f"unknown policy {text!r}: use all, none[:REASON], dir:DIR or exec")


def program_decision(
    text: str, requested: list[commitment.Instance]
) -> tuple[list[commitment.Instance], list[tuple[commitment.Instance, int]]]:
    """What the ``exec`` policy's program printed: ``{"committed": [UID, ...],
    "failed": {UID: REASON, ...}}``, REASON a name, hex or decimal Failure Reason.

    Every requested instance must be decided exactly once and nothing else
    named: a PACS commits nothing by omission or by accident. The classes are
    the request's. Anything else raises ValueError, saying what is wrong.
    """
    try:
        decided = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None
    if not isinstance(decided, dict) or set(decided) - {"committed", "failed"}:
        raise ValueError('not an object with "committed" and "failed" only')
    committed_uids, failed_reasons = decided.get("committed", []), decided.get("failed", {})
    if not isinstance(committed_uids, list) or not isinstance(failed_reasons, dict):
        raise ValueError('"committed" must be a list of UIDs, "failed" an object UID: REASON')
    by_uid = {i.sop_instance_uid: i for i in requested}
    named = [*committed_uids, *failed_reasons]
    if sorted(map(str, named)) != sorted(by_uid):
        raise ValueError("it must name every requested SOP Instance UID once, and no other")
    failed = []
    for uid, reason in failed_reasons.items():
        try:
            failed.append((by_uid[uid], catalog.resolve_failure_reason(str(reason))))
        except ValueError as exc:
            raise ValueError(f"{uid}: {exc}") from None
    return [by_uid[uid] for uid in committed_uids], failed


def _stored(directory: Path) -> dict[str, str]:
    """SOP Instance UID -> SOP Class UID of every DICOM file under ``directory``, read now."""
    stored = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        try:
            instance = commitment.read_instance(path, "--commitment dir")
        except InputError:
            continue  # not a DICOM file: not a stored instance
        stored[instance.sop_instance_uid] = instance.sop_class_uid
    return stored
