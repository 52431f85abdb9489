"""DICOM over TLS (PS3.15 Annex B): the contexts, the handshake, and what its failures mean.

Contexts follow BCP 195 (RFC 8996, RFC 9325) as PS3.15 B.9 asks: TLS 1.2 or
later, only forward-secret AEAD cipher suites for TLS 1.2 (TLS 1.3's are all
such), compression and renegotiation off; a requestor checks the peer's
certificate and host name unless ``--tls-no-verify`` says otherwise, loudly.

The handshake is not left to where the socket is wrapped. Wrapped sockets
(:class:`_DeferredHandshake`) wait for :func:`handshake`, which the
association layer calls once the TCP connection is open, in the
association's own thread, bounded by a timeout. So a listener is never held
up by one peer that connects and says nothing, a failed handshake is told
apart from a refused connection, and every failure keeps its exception,
which :func:`explain` turns into a sentence and a hint.

Pure :mod:`ssl`: nothing here imports pynetdicom.
"""

from __future__ import annotations

import logging
import socket
import ssl
from pathlib import Path
from typing import Any

from dcmreport.errors import InputError
from dcmreport.frozen import frozen

LOG = logging.getLogger("dcmreport")

DICOM_TLS_PORT = 2762  # PS3.15 B.1: the well-known port of DICOM over TLS
# RFC 9325 4.2: the TLS 1.2 suites recommended, forward secret and AEAD.
_TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL"
_PEM_CERTIFICATE = b"-----BEGIN CERTIFICATE-----"


class _DeferredHandshake(ssl.SSLContext):
    """An SSLContext whose sockets wait for :func:`handshake` instead of doing it when wrapped.

    pynetdicom wraps a listener's sockets in its accept loop, where a blocking
    handshake would stop every other connection, and a requestor's inside
    ``connect()``, where its failure reads as "cannot connect".
    """

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        kwargs["do_handshake_on_connect"] = False
        return super().wrap_socket(sock, *args, **kwargs)


def _context(purpose: ssl.Purpose) -> ssl.SSLContext:
    """BCP 195 defaults; the protocol follows from which side the context serves."""
    server = purpose is ssl.Purpose.CLIENT_AUTH
    context = _DeferredHandshake(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(_TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    if server:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    return context


def client_context(
    cert: Path | None, key: Path | None, ca: Path | None, verify: bool
) -> ssl.SSLContext:
    """A requestor's context: the peer's certificate and host name checked unless not ``verify``."""
    context = _context(ssl.Purpose.SERVER_AUTH)
    if verify:
        if ca is None:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            _load_ca(context, ca)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        LOG.warning(
            "--tls-no-verify: the peer's certificate is not checked; "
            "anyone between us and the peer can read and change what is sent"
        )
    if cert is not None:
        _load_identity(context, cert, key)
    return context


def server_context(
    cert: Path, key: Path | None, ca: Path | None, require_client_cert: bool
) -> ssl.SSLContext:
    """A listener's context: client certificates checked against ``ca`` when one is given.

    With ``ca`` a client certificate is asked for and, when presented, must
    be valid; with ``require_client_cert`` a client without one is refused.
    """
    context = _context(ssl.Purpose.CLIENT_AUTH)
    _load_identity(context, cert, key)
    if ca is not None:
        _load_ca(context, ca)
        context.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    return context


def _load_identity(context: ssl.SSLContext, cert: Path, key: Path | None) -> None:
    """Our certificate and key; a file that cannot be used is a usage error (exit 2)."""
    cert_text = _read("--tls-cert", cert)
    key_text = _read("--tls-key", key) if key is not None else cert_text
    where = f"--tls-cert {cert}" + (f" / --tls-key {key}" if key is not None else "")
    problem = _identity_problem(cert_text, key_text, key is not None)
    if problem is None:
        try:
            # A password callback that gives none: OpenSSL would otherwise prompt on the terminal.
            context.load_cert_chain(cert, key, password=lambda: b"")
            return
        except ssl.SSLError as exc:
            problem = (
                "the private key does not belong to the certificate"
                if exc.reason == "KEY_VALUES_MISMATCH"
                else f"cannot be used ({exc.reason or exc.strerror or exc})"
            )
    raise InputError(f"{where}: {problem}", "give a PEM certificate and its unencrypted PEM key")


def _identity_problem(cert_text: bytes, key_text: bytes, separate_key: bool) -> str | None:
    """What is visibly wrong with the files, before OpenSSL says "PEM lib"."""
    if _PEM_CERTIFICATE not in cert_text:
        return "no PEM certificate in --tls-cert"
    if b"PRIVATE KEY-----" not in key_text:
        return "no PEM private key in " + (
            "--tls-key" if separate_key else "--tls-cert: give the key with --tls-key"
        )
    if b"ENCRYPTED" in key_text:
        return "the private key is encrypted (dcmreport reads unencrypted keys only)"
    return None


def _read(option: str, path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{option} {path}: {exc.strerror or exc}") from None


def _load_ca(context: ssl.SSLContext, ca: Path) -> None:
    """CA certificates from a PEM file, or from every PEM file in a directory (no c_rehash)."""
    files = sorted(p for p in ca.iterdir() if p.is_file()) if ca.is_dir() else [ca]
    loaded = 0
    for path in files:
        data = _read("--tls-ca", path)
        if _PEM_CERTIFICATE not in data:
            if ca.is_dir():
                continue  # not a certificate file: a directory may hold others
            raise InputError(f"--tls-ca {path}: no PEM certificate in it")
        try:
            context.load_verify_locations(cadata=data.decode("ascii", "replace"))
        except (ssl.SSLError, ValueError):
            raise InputError(f"--tls-ca {path}: a PEM certificate in it cannot be read") from None
        loaded += 1
    if not loaded:
        raise InputError(f"--tls-ca {ca}: no PEM certificate in this directory")


# --- the handshake ------------------------------------------------------------------------


@frozen
class Handshake:
    """How one TLS handshake went: the session, or why it failed."""

    description: str = ""  # "TLSv1.3 TLS_AES_256_GCM_SHA384, peer certificate: CN=..."
    error: OSError | None = None


def handshake(sock: socket.socket, timeout: float | None) -> Handshake | None:
    """Run the handshake of a deferred TLS socket; None for a plain socket.

    On failure the socket is closed, so that the association ends without
    another byte; the caller says why, from ``error``.
    """
    if not isinstance(sock, ssl.SSLSocket):
        return None
    before = sock.gettimeout()
    try:
        sock.settimeout(timeout)
        sock.do_handshake()
        sock.settimeout(before)
    except (OSError, ValueError) as exc:  # ValueError: the socket was closed meanwhile
        sock.close()
        return Handshake(error=exc if isinstance(exc, OSError) else OSError(str(exc)))
    return Handshake(description=_describe(sock))


def _describe(sock: ssl.SSLSocket) -> str:
    cipher = sock.cipher()
    session = f"{sock.version()} {cipher[0] if cipher else '?'}"
    cert = sock.getpeercert()
    if not cert:
        who = "client" if sock.server_side else "server"
        checked = "" if sock.server_side else " (not checked: --tls-no-verify)"
        return f"{session}, no {who} certificate{checked}"
    return (
        f"{session}, peer certificate: {_name(cert.get('subject', ()))} "
        f"(issuer {_name(cert.get('issuer', ()))}, valid until {cert.get('notAfter', '?')})"
    )


def _name(rdns: Any) -> str:
    """``CN=host, O=Org`` from getpeercert()'s nested tuples."""
    parts = [f"{_SHORT.get(key, key)}={value}" for rdn in rdns for key, value in rdn]
    return ", ".join(parts) or "(empty)"


_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}


# --- what a failure means -------------------------------------------------------------------

_NOT_TLS = {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "HTTP_REQUEST", "RECORD_LAYER_FAILURE"}
_UNTRUSTED = {2, 18, 19, 20, 21}  # X509_V_ERR_: no issuer, self-signed, not trusted
_EXPIRED, _NOT_YET_VALID = 10, 9
_NAME_MISMATCH = {62, 64}  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
_PEER_REFUSED_US = {
    "TLSV1_ALERT_UNKNOWN_CA": "does not trust the CA that signed our certificate",
    "SSLV3_ALERT_BAD_CERTIFICATE": "refused our certificate",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "refused our certificate as expired",
    "TLSV13_ALERT_CERTIFICATE_REQUIRED": "requires a client certificate",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "found no TLS version or cipher suite in common with us",
    "TLSV1_ALERT_PROTOCOL_VERSION": "found no TLS version in common with us (we need 1.2+)",
}


def explain(error: OSError, peer: str, server_side: bool = False) -> tuple[str, str | None]:
    """A failed handshake as a sentence about ``peer`` and a hint, for either side."""
    prefix = f"TLS handshake with {peer} failed: "
    if isinstance(error, ssl.SSLCertVerificationError):
        return prefix + _verify_problem(error, server_side), _verify_hint(error, server_side)
    if isinstance(error, ssl.SSLError):
        reason = error.reason or ""
        if reason in _NOT_TLS:
            return (
                prefix + "the peer does not speak TLS",
                "it sent plain DICOM: listen or call without --tls on a plain port"
                if server_side
                else "is it a plain DICOM port? Drop --tls, or call its DICOM over TLS port "
                f"({DICOM_TLS_PORT} by convention)",
            )
        if reason == "PEER_DID_NOT_RETURN_A_CERTIFICATE":
            return prefix + "the client sent no certificate (--tls-require-client-cert)", None
        if reason in _PEER_REFUSED_US:
            about_our_certificate = "CERTIFICATE" in reason or "CA" in reason
            return prefix + f"the peer {_PEER_REFUSED_US[reason]}", (
                "give a certificate it trusts with --tls-cert and --tls-key"
                if about_our_certificate and not server_side
                else None
            )
        return prefix + (reason.replace("_", " ").lower() or str(error)), None
    if isinstance(error, TimeoutError | socket.timeout):
        return prefix + "no answer in time (--acse-timeout)", None
    what = error.strerror or str(error) or type(error).__name__
    return prefix + f"the connection ended ({what})", (
        None
        if server_side
        else "does the peer speak DICOM over TLS on this port? It may also have refused "
        "our certificate, or want one (--tls-cert, --tls-key)"
    )


def _verify_problem(error: ssl.SSLCertVerificationError, server_side: bool) -> str:
    whose = "the client's certificate" if server_side else "the peer's certificate"
    code = error.verify_code
    if code == _EXPIRED:
        return f"{whose} has expired"
    if code == _NOT_YET_VALID:
        return f"{whose} is not valid yet"
    if code in _UNTRUSTED:
        return f"{whose} is not signed by a CA we trust ({error.verify_message})"
    if code in _NAME_MISMATCH:
        return f"{whose} is not for this host ({error.verify_message})"
    return f"{whose} was refused ({error.verify_message})"


def _verify_hint(error: ssl.SSLCertVerificationError, server_side: bool) -> str | None:
    if server_side:
        return None
    if error.verify_code in _UNTRUSTED:
        return "give the CA certificate that signed it with --tls-ca FILE|DIR"
    if error.verify_code in _NAME_MISMATCH:
        return "call the peer by a host name or address its certificate lists"
    return None
