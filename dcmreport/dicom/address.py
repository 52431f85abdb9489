"""The peer address ``[AET@]HOST[:PORT]`` and AE title rules.

A peer is written the way dicom-rs and dcm4che write it (``PACS@10.0.0.5:104``)
so that one argument says where to connect and whom to call. ``str(peer)``
gives back a string that parses to the same peer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_CALLED_AET = "ANY-SCP"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 11112
DEFAULT_PEER = f"{DEFAULT_CALLED_AET}@{DEFAULT_HOST}:{DEFAULT_PORT}"

_HOST_PORT = re.compile(
    r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]@\s]+))(?::(?P<port>\d+))?$"
)


def check_ae_title(value: str, what: str = "AE title") -> str:
    """Return ``value`` if it is a valid AE title (PS3.5 6.2: AE VR), else raise ValueError.

    An AE title is 1-16 characters of the default repertoire, no backslash, no
    control characters, and not only spaces; leading and trailing spaces are
    not significant.
    """
    stripped = value.strip(" ")
    if not stripped:
        raise ValueError(f"{what} must not be empty")
    if len(value) > 16:
        raise ValueError(f"{what} {value!r} is longer than 16 characters")
    if "\\" in value or any(ord(c) < 0x20 or ord(c) > 0x7E for c in value):
        raise ValueError(f"{what} {value!r} may only hold printable ASCII characters, no backslash")
    return stripped


def check_port(port: int) -> int:
    """Return ``port`` if it is a TCP port number, else raise ValueError."""
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 0-65535")
    return port


@dataclass(frozen=True)
class Peer:
    """Where to connect and which AE title to call."""

    ae_title: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Peer:
        """Parse ``[AET@]HOST[:PORT]``; missing parts take the defaults (ANY-SCP, 11112).

        >>> Peer.parse("PACS@10.0.0.5:104")
        Peer(ae_title='PACS', host='10.0.0.5', port=104)
        >>> str(Peer.parse("[::1]"))
        'ANY-SCP@[::1]:11112'
        """
        aet, sep, address = text.rpartition("@")
        ae_title = check_ae_title(aet, "called AE title") if sep else DEFAULT_CALLED_AET
        match = _HOST_PORT.match(address.strip())
        if not match:
            raise ValueError(
                f"peer {text!r} is not of the form [AET@]HOST[:PORT], e.g. PACS@10.0.0.5:104"
            )
        host = match["v6"] or match["host"]
        port = check_port(int(match["port"])) if match["port"] else DEFAULT_PORT
        return cls(ae_title, host, port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.ae_title}@{host}:{self.port}"
