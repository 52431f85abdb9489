"""DICOM over TLS between dcmreport processes: what works, and every way it fails.

Certificates are made for the run (tests/certs.py). The caller checks the
listener's certificate and host name; a listener with ``--tls-ca`` checks the
client's. Each failure is one message and exit 3 on the caller's side, one
warning line on the listener's, which goes on serving; a bad local file is
exit 2 before any connection.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from certs import Certs
from helpers import Listener, dcmreport, unused_port


def tls_ca(certs: Certs) -> tuple[str, ...]:
    return ("--tls", "--tls-ca", str(certs.ca))


def identity(pair: Any) -> tuple[str, ...]:
    return ("--tls-cert", str(pair.cert), "--tls-key", str(pair.key))


def server_args(certs: Certs, *more: str) -> tuple[str, ...]:
    return ("--tls", *identity(certs.server), "-v", *more)


@pytest.fixture(scope="module")
def tls_listener(tls_certs: Certs) -> Iterator[Listener]:
    """A TLS listener that asks clients for a certificate signed by the test CA and requires one."""
    listener = Listener(
        *server_args(tls_certs, "--tls-ca", str(tls_certs.ca), "--tls-require-client-cert")
    )
    yield listener
    listener.proc.kill()
    listener.proc.wait()


def echo(port: int, *args: str, host: str = "127.0.0.1") -> subprocess.CompletedProcess[str]:
    return dcmreport("echo", f"{host}:{port}", "--format", "json", *args, timeout=60)


def test_echo_over_tls_shows_both_certificates(listen: Any, tls_certs: Certs) -> None:
    listener = listen(*server_args(tls_certs))
    run = echo(listener.port, *tls_ca(tls_certs), "-v")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == 0
    assert re.search(
        rf"I: TLS with 127\.0\.0\.1:{listener.port}: TLSv1\.[23] \S+, peer certificate: "
        r"O=dcmreport tests, CN=localhost \(issuer O=dcmreport tests, CN=dcmreport test CA",
        run.stderr,
    ), run.stderr
    # without --tls-ca the listener asks for no client certificate
    listener.wait_for(re.compile(r"I: TLS with 127\.0\.0\.1:\d+: TLSv1\.[23] \S+, no client cert"))


def test_send_report_with_client_certificate(tls_listener: Listener, tls_certs: Certs) -> None:
    run = dcmreport(
        "send-report",
        f"127.0.0.1:{tls_listener.port}",
        *tls_ca(tls_certs),
        *identity(tls_certs.client),
        "--event",
        "1",
        "--instance",
        "1.2.3.4",
        "PatientID=TLS1",
        "--format",
        "json",
    )
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["status"] == 0
    tls_listener.wait_for(re.compile(r'"sop_instance_uid": "1\.2\.3\.4"'), "stdout")
    tls_listener.wait_for(
        re.compile(
            r"I: TLS with 127\.0\.0\.1:\d+: \S+ \S+, peer certificate: .*CN=dcmreport-client"
        )
    )


@pytest.mark.parametrize(
    ("args", "message", "listener_line"),
    [
        pytest.param(
            ("--tls",),
            "the peer's certificate is not signed by a CA we trust",
            "the peer does not trust the CA that signed our certificate",
            id="unknown-ca",
        ),
        pytest.param(
            ("--tls", "--tls-ca", "OTHER_CA"),
            "the peer's certificate is not signed by a CA we trust",
            "the peer does not trust the CA that signed our certificate",
            id="other-ca",
        ),
        pytest.param(
            ("--tls", "--tls-ca", "CA"),
            "the peer requires a client certificate",
            "the client sent no certificate (--tls-require-client-cert)",
            id="no-client-cert",
        ),
        pytest.param(
            ("--tls", "--tls-ca", "CA", "STRANGER"),
            "the peer does not trust the CA that signed our certificate",
            "the client's certificate is not signed by a CA we trust",
            id="client-cert-other-ca",
        ),
        pytest.param(
            ("--tls", "--tls-ca", "CA", "EXPIRED"),
            "the peer refused our certificate as expired",
            "the client's certificate has expired",
            id="client-cert-expired",
        ),
        pytest.param(
            (),
            "aborted the association during negotiation",
            "the peer does not speak TLS",
            id="plain-to-tls-port",
        ),
    ],
)
def test_refused_by_the_tls_listener(
    tls_listener: Listener,
    tls_certs: Certs,
    args: tuple[str, ...],
    message: str,
    listener_line: str,
) -> None:
    """Each failure: one clear message, exit 3; one warning line on the listener, which goes on."""
    words = {
        "CA": (str(tls_certs.ca),),
        "OTHER_CA": (str(tls_certs.other_ca),),
        "STRANGER": identity(tls_certs.stranger),
        "EXPIRED": identity(tls_certs.expired),
    }
    run = echo(tls_listener.port, *(w for arg in args for w in words.get(arg, (arg,))))
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr
    if args:
        error = f"TLS handshake with 127.0.0.1:{tls_listener.port} failed: {message}"
        assert f"dcmreport: error: {error}" in run.stderr
    else:
        assert f"dcmreport: error: ANY-SCP@127.0.0.1:{tls_listener.port} {message}" in run.stderr
        assert "if it expects DICOM over TLS (port 2762 by convention), add --tls" in run.stderr
    tls_listener.wait_for(
        re.compile(rf"W: TLS handshake with 127\.0\.0\.1:\d+ failed: {re.escape(listener_line)}")
    )
    good = echo(tls_listener.port, *tls_ca(tls_certs), *identity(tls_certs.client))
    assert good.returncode == 0, good.stderr


@pytest.mark.parametrize(
    ("server", "host", "message", "hint"),
    [
        pytest.param(
            "expired", "127.0.0.1", "the peer's certificate has expired", None, id="expired"
        ),
        pytest.param(
            "wrong_host",
            "127.0.0.1",
            "the peer's certificate is not for this host (IP address mismatch",
            "call the peer by a host name or address its certificate lists",
            id="wrong-host",
        ),
    ],
)
def test_server_certificate_refused(
    listen: Any, tls_certs: Certs, server: str, host: str, message: str, hint: str | None
) -> None:
    listener = listen("--tls", *identity(getattr(tls_certs, server)))
    run = echo(listener.port, *tls_ca(tls_certs), host=host)
    assert run.returncode == 3, run.stderr
    assert message in run.stderr
    assert hint is None or f"hint: {hint}" in run.stderr
    listener.wait_for(re.compile(r"W: TLS handshake with .* failed: the peer refused our cert"))


def test_localhost_matches_its_dns_name(listen: Any, tls_certs: Certs) -> None:
    """The host name is checked against the certificate's names: localhost is one of them."""
    listener = listen(*server_args(tls_certs))
    run = echo(listener.port, *tls_ca(tls_certs), host="localhost")
    assert run.returncode == 0, run.stderr


def test_tls_to_a_plain_port(listen: Any, tls_certs: Certs) -> None:
    listener = listen()
    run = echo(listener.port, *tls_ca(tls_certs))
    assert run.returncode == 3, run.stderr
    assert "failed: the peer does not speak TLS" in run.stderr
    assert "Drop --tls, or call its DICOM over TLS port (2762 by convention)" in run.stderr


def test_no_verify_warns_and_connects(listen: Any, tls_certs: Certs) -> None:
    listener = listen("--tls", *identity(tls_certs.stranger))
    run = echo(listener.port, "--tls", "--tls-no-verify", "-v")
    assert run.returncode == 0, run.stderr
    assert "W: --tls-no-verify: the peer's certificate is not checked" in run.stderr
    assert "no server certificate (not checked: --tls-no-verify)" in run.stderr


def test_listener_survives_a_silent_peer_and_a_failed_handshake(
    listen: Any, tls_certs: Certs
) -> None:
    """A peer that connects and says nothing holds up no one; a failed handshake is one line."""
    listener = listen(*server_args(tls_certs), "--acse-timeout", "2")
    with socket.create_connection(("127.0.0.1", listener.port)) as silent:
        failed = echo(listener.port, "--tls")  # does not trust the test CA
        assert failed.returncode == 3
        good = echo(listener.port, *tls_ca(tls_certs))
        assert good.returncode == 0, good.stderr
        listener.wait_for(re.compile(r"failed: no answer in time \(--acse-timeout\)"), timeout=10)
        assert silent.recv(1) == b""  # closed by the listener
    warnings = [line for line in listener.stderr if line.startswith("W:")]
    assert len(warnings) == 2, warnings
    assert not any("Traceback" in line for line in listener.stderr)


def test_silent_peers_are_closed_at_the_first_pdu_deadline_in_one_line(
    listen: Any, tls_certs: Certs
) -> None:
    """--first-pdu-timeout covers the handshake: three silent peers are closed by it, and said
    in one warning for their address, not a failed handshake each."""
    listener = listen(*server_args(tls_certs), "--first-pdu-timeout", "1")
    silent = [socket.create_connection(("127.0.0.1", listener.port)) for _ in range(3)]
    try:
        for sock in silent:
            sock.settimeout(30)
            assert sock.recv(1) == b""  # closed by the listener
    finally:
        for sock in silent:
            sock.close()
    listener.wait_for(re.compile(r"closed a connection from 127\.0\.0\.1"), timeout=10)
    good = echo(listener.port, *tls_ca(tls_certs))
    assert good.returncode == 0, good.stderr
    warnings = [line for line in listener.stderr if line.startswith("W:")]
    assert len(warnings) == 1 and "--first-pdu-timeout" in warnings[0], warnings


def test_a_plain_listener_is_unaffected_by_tls_options_absent(listen: Any) -> None:
    """Without --tls nothing changes: plain DICOM as before."""
    listener = listen()
    assert echo(listener.port).returncode == 0


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [
        ("echo", ("--tls-ca", "CA"), "--tls-ca goes with --tls"),
        ("echo", ("--tls", "--tls-ca", "MISSING"), "No such file or directory"),
        ("echo", ("--tls", "--tls-ca", "CLIENT_KEY"), "no PEM certificate in it"),
        ("echo", ("--tls", "--tls-ca", "CA", "--tls-no-verify"), "--tls-no-verify contradicts"),
        ("echo", ("--tls", "--tls-cert", "CLIENT_CERT"), "no PEM private key in --tls-cert"),
        (
            "echo",
            ("--tls", "--tls-cert", "CLIENT_CERT", "--tls-key", "SERVER_KEY"),
            "the private key does not belong to the certificate",
        ),
        (
            "echo",
            ("--tls", "--tls-cert", "CLIENT_CERT", "--tls-key", "ENCRYPTED_KEY"),
            "the private key is encrypted",
        ),
        ("listen", ("--tls",), "listen --tls needs --tls-cert"),
        (
            "listen",
            (
                "--tls",
                "--tls-cert",
                "SERVER_CERT",
                "--tls-key",
                "SERVER_KEY",
                "--tls-require-client-cert",
            ),
            "--tls-require-client-cert needs --tls-ca",
        ),
        ("listen", ("--tls", "--tls-cert", "MISSING"), "--tls-cert"),
    ],
)
def test_bad_local_files_and_combinations(
    tls_certs: Certs, tmp_path: Any, command: str, args: tuple[str, ...], message: str
) -> None:
    """A file or combination the user gave that cannot work: exit 2 before any connection."""
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_text(
        "-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n"
    )
    words = {
        "CA": tls_certs.ca,
        "MISSING": tmp_path / "missing.pem",
        "CLIENT_KEY": tls_certs.client.key,
        "CLIENT_CERT": tls_certs.client.cert,
        "SERVER_CERT": tls_certs.server.cert,
        "SERVER_KEY": tls_certs.server.key,
        "ENCRYPTED_KEY": encrypted,
    }
    target = ("--port", "0") if command == "listen" else (f"127.0.0.1:{unused_port()}",)
    run = dcmreport(command, *target, *(str(words.get(arg, arg)) for arg in args))
    assert run.returncode == 2, run.stderr
    assert message in run.stderr
    assert "Traceback" not in run.stderr
