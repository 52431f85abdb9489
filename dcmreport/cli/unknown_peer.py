"""A PEER word that names nothing: no host of that name, no peer of the settings file.

A bare word on the command line is a host or a named peer. When no host resolves
by it, two mistakes are common and both read as a DNS error: a mistyped peer
name (``echo pcas``, the file names ``pacs``), and a DICOM keyword whose
``=VALUE`` was left out (``send-report --event 1 PatientID``, the peer from
$DCMREPORT_PEER or the default), which ``send-report`` takes as its PEER
because it comes first. Either is said here, before any association; a word
that is neither goes on to the association layer's own "cannot resolve host".
The name is looked up only for such words, so a good host costs nothing more.
"""

from __future__ import annotations

import difflib
import socket
from pathlib import Path

from dcmreport.dicom.address import Peer
from dcmreport.errors import AssociationError, InputError


def check(word: str, peer: Peer, config_path: Path | None) -> None:
    """Raise the error that says what ``word`` (PEER as typed, ``peer`` as parsed) was meant as."""
    if word != peer.host:  # AE@ or :PORT: meant as an address, whatever else it resembles
        return
    keyword = _is_keyword(word)
    near = _near_peer_names(word, config_path)
    if not (keyword or near) or _resolves(word):
        return
    if keyword:
        raise InputError(
            f"'{word}' looks like a DICOM keyword without a value, not a peer",
            f"{word}=VALUE",
        )
    raise AssociationError(
        f"cannot resolve host '{word}', and no peer of the settings file is named so",
        f"did you mean {' or '.join(near)}?",
    )


def _is_keyword(word: str) -> bool:
    from pydicom.datadict import tag_for_keyword

    return tag_for_keyword(word) is not None


def _near_peer_names(word: str, config_path: Path | None) -> list[str]:
    from dcmreport.cli.settings_file import load

    return difflib.get_close_matches(word, load(config_path).peers, n=3)


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return False
    return True
