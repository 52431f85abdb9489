"""DICOM over TLS with DCMTK (built with OpenSSL), both directions.

``echoscu +tls KEY CERT`` (or ``+tla``, anonymous) against ``dcmreport listen --tls``,
and ``dcmreport echo --tls`` / ``send-report --tls`` against ``storescp +tls``, with
and without client certificates, and the refusals each side must explain. DCMTK
checks the peer's certificate against ``+cf`` (``-rc``, its default, also makes
storescp require a client certificate; ``-ic`` does not ask for one).
"""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from certs import Certs, Pair
from helpers import dcmreport

from interop.support import Dcmtk

pytestmark = pytest.mark.interop


def dcmtk_identity(pair: Pair) -> tuple[str, ...]:
    """DCMTK takes the key first: ``+tls KEY CERT``."""
    return ("+tls", str(pair.key), str(pair.cert))


def dcmreport_identity(pair: Pair) -> tuple[str, ...]:
    return ("--tls-cert", str(pair.cert), "--tls-key", str(pair.key))


def echoscu(dcmtk: Dcmtk, port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [dcmtk.echoscu, "-v", *args, "127.0.0.1", str(port)],
        capture_output=True,
        text=True,
        timeout=60,
    )


# --- echoscu -> dcmreport listen --tls ------------------------------------------------------

# After a refused handshake DCMTK reports the abort or the reset, whichever it sees first.
REFUSED = "F: Association Request Failed: 0006:03"


@pytest.mark.parametrize(
    ("client_cert", "listen_ca", "listener_sees"),
    [
        pytest.param(
            True, True, "peer certificate: O=dcmreport tests, CN=dcmreport-client", id="client-cert"
        ),
        pytest.param(False, False, "no client certificate", id="anonymous"),
    ],
)
def test_echoscu_tls_to_listen(
    dcmtk: Dcmtk,
    listen: Any,
    tls_certs: Certs,
    client_cert: bool,
    listen_ca: bool,
    listener_sees: str,
) -> None:
    ca = ("--tls-ca", str(tls_certs.ca), "--tls-require-client-cert") if listen_ca else ()
    listener = listen(
        "--tls", *dcmreport_identity(tls_certs.server), *ca, "--aet", "LISTENER", "-v"
    )
    tls = dcmtk_identity(tls_certs.client) if client_cert else ("+tla",)
    run = echoscu(dcmtk, listener.port, *tls, "+cf", str(tls_certs.ca), "-aec", "LISTENER")
    log = run.stdout + run.stderr
    assert run.returncode == 0, log
    assert "I: Received Echo Response (Success)" in log
    assert listener.finish() == 0
    side = "".join(listener.stderr)
    assert re.search(rf"I: TLS with 127\.0\.0\.1:\d+: TLSv1\.[23] \S+, {listener_sees}", side), side
    assert "Association ECHOSCU -> LISTENER" in side
    assert "W:" not in side


@pytest.mark.parametrize(
    ("echoscu_args", "dcmtk_says", "listener_says"),
    [
        pytest.param(
            ("+tla", "+cf", "CA"),
            REFUSED,
            "the client sent no certificate (--tls-require-client-cert)",
            id="no-client-cert",
        ),
        pytest.param(
            ("STRANGER", "+cf", "CA"),
            REFUSED,
            "the client's certificate is not signed by a CA we trust",
            id="client-cert-other-ca",
        ),
        pytest.param(
            ("+tla",),
            "TLS error: certificate verify failed",
            "the peer does not trust the CA that signed our certificate",
            id="dcmtk-does-not-trust-us",
        ),
        pytest.param((), REFUSED, "the peer does not speak TLS", id="plain-echoscu"),
    ],
)
def test_echoscu_refused_by_listen(
    dcmtk: Dcmtk,
    listen: Any,
    tls_certs: Certs,
    echoscu_args: tuple[str, ...],
    dcmtk_says: str,
    listener_says: str,
) -> None:
    """Each refusal is one warning line on the listener, which then serves DCMTK again."""
    listener = listen(
        "--tls",
        *dcmreport_identity(tls_certs.server),
        "--tls-ca",
        str(tls_certs.ca),
        "--tls-require-client-cert",
    )
    words = {"CA": (str(tls_certs.ca),), "STRANGER": dcmtk_identity(tls_certs.stranger)}
    args = [word for arg in echoscu_args for word in words.get(arg, (arg,))]
    run = echoscu(dcmtk, listener.port, *args)
    assert run.returncode != 0, run.stdout + run.stderr
    assert dcmtk_says in run.stdout + run.stderr
    listener.wait_for(
        re.compile(rf"^W: TLS handshake with 127\.0\.0\.1:\d+ failed: {re.escape(listener_says)}")
    )
    good = echoscu(
        dcmtk, listener.port, *dcmtk_identity(tls_certs.client), "+cf", str(tls_certs.ca)
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert listener.finish() == 0
    assert not any("Traceback" in line for line in listener.stderr)


# --- dcmreport --tls -> storescp +tls ----------------------------------------------------------


def storescp_tls(tls_certs: Certs, *more: str) -> tuple[str, ...]:
    return ("-d", *dcmtk_identity(tls_certs.server), "+cf", str(tls_certs.ca), *more)


@pytest.mark.parametrize(
    ("peer_cert", "client_cert", "dcmreport_sees"),
    [
        pytest.param(("-rc",), True, "CN=localhost", id="client-cert-required"),
        pytest.param(("-ic",), False, "CN=localhost", id="no-client-cert"),
    ],
)
def test_dcmreport_echo_tls_to_storescp(
    storescp: Any,
    tls_certs: Certs,
    peer_cert: tuple[str, ...],
    client_cert: bool,
    dcmreport_sees: str,
) -> None:
    scp = storescp(*storescp_tls(tls_certs, *peer_cert, "--aetitle", "STORESCP"))
    identity = dcmreport_identity(tls_certs.client) if client_cert else ()
    run = dcmreport(
        "echo",
        f"STORESCP@127.0.0.1:{scp.port}",
        "--tls",
        "--tls-ca",
        str(tls_certs.ca),
        *identity,
        "-v",
        "--format",
        "json",
    )
    log = scp.stop()
    assert run.returncode == 0, run.stderr + log
    assert json.loads(run.stdout)["status"] == 0
    assert re.search(
        rf"I: TLS with 127\.0\.0\.1:{scp.port}: TLSv1\.[23] \S+, peer certificate: .*"
        rf"{dcmreport_sees} \(issuer O=dcmreport tests, CN=dcmreport test CA",
        run.stderr,
    ), run.stderr
    assert "I: Received Echo Request" in log
    assert "I: Association Release" in log
    assert re.search(r"Their Implementation Version Name:\s+DCMREPORT_", log), log


def test_send_report_tls_reaches_storescp(storescp: Any, tls_certs: Certs) -> None:
    """storescp is no N-EVENT-REPORT SCP: it decodes our report's command inside TLS and aborts."""
    scp = storescp(*storescp_tls(tls_certs))
    run = dcmreport(
        "send-report",
        f"127.0.0.1:{scp.port}",
        "--tls",
        "--tls-ca",
        str(tls_certs.ca),
        *dcmreport_identity(tls_certs.client),
        "--event",
        "1",
        "--instance",
        "1.2.3.4",
        "PatientID=TLS",
    )
    log = scp.stop()
    assert run.returncode == 3, run.stderr + log
    assert "aborted the association instead of answering the N-EVENT-REPORT" in run.stderr
    assert "received DIMSE command 0x0100" in log  # N-EVENT-REPORT-RQ, decrypted by DCMTK


@pytest.mark.parametrize(
    ("storescp_args", "dcmreport_args", "message", "dcmtk_says"),
    [
        pytest.param(
            "TLS",
            ("--tls", "--tls-ca", "CA"),
            "failed: the peer requires a client certificate",
            "TLS error: peer did not return a certificate",
            id="client-cert-required",
        ),
        pytest.param(
            "TLS",
            ("--tls", "--tls-ca", "OTHER_CA", "CLIENT"),
            "failed: the peer's certificate is not signed by a CA we trust",
            "TLS error",
            id="untrusted-storescp",
        ),
        pytest.param(
            "TLS",
            ("--tls", "--tls-ca", "CA", "STRANGER"),
            "failed: the peer does not trust the CA that signed our certificate",
            "TLS error",
            id="storescp-does-not-trust-us",
        ),
        pytest.param(
            "TLS",
            (),
            "aborted the association during negotiation",
            "TLS error: wrong version number",
            id="plain-to-storescp-tls",
        ),
        pytest.param(
            "PLAIN",
            ("--tls", "--tls-ca", "CA"),
            "failed: the connection ended (Connection reset by peer)",
            "",
            id="tls-to-plain-storescp",
        ),
    ],
)
def test_dcmreport_refused_by_storescp(
    storescp: Any,
    tls_certs: Certs,
    storescp_args: str,
    dcmreport_args: tuple[str, ...],
    message: str,
    dcmtk_says: str,
) -> None:
    scp = storescp(*(storescp_tls(tls_certs) if storescp_args == "TLS" else ("-d",)))
    words = {
        "CA": (str(tls_certs.ca),),
        "OTHER_CA": (str(tls_certs.other_ca),),
        "CLIENT": dcmreport_identity(tls_certs.client),
        "STRANGER": dcmreport_identity(tls_certs.stranger),
    }
    args = [word for arg in dcmreport_args for word in words.get(arg, (arg,))]
    run = dcmreport("echo", f"127.0.0.1:{scp.port}", *args)
    log = scp.stop()
    assert run.returncode == 3, run.stderr + log
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert dcmtk_says in log
    assert "Received Echo Request" not in log
    if storescp_args == "PLAIN":  # storescp resets the connection: we cannot tell why
        assert "hint: does the peer speak DICOM over TLS on this port?" in run.stderr
