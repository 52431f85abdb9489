"""Durable capture: ``listen --output-dir`` reports/s from concurrent senders.

SENDERS plain pynetdicom senders (tests/peers/flood.py, TCP_NODELAY), each
sending its reports on one association, to three listeners in turn:
``dcmreport listen --output-dir`` (nothing answered Success before it is on
disk), the plain pynetdicom SCP writing and fsyncing one file and its
directory entry per report before answering (plain.py scp --fsync), and
``dcmreport listen`` keeping nothing (what durability costs dcmreport).
"""

from __future__ import annotations

from harness import Row, Servers, compare, flood, interleaved

SENDERS = 8


def rate(servers: Servers, each: int, plain_fsync: bool = False, *listen: str) -> dict[str, float]:
    total = SENDERS * each
    if plain_fsync:
        server, port = servers.plain_scp(
            "--count", str(total), "--fsync", str(servers.scratch("plain-"))
        )
    else:
        server, port = servers.dcmreport_listen("--count", str(total), *listen)
    elapsed = flood(port, SENDERS, each, "5")
    server.finish()
    return {"per_s": total / elapsed}


def rows(quick: bool) -> list[Row]:
    each, runs = (20, 1) if quick else (100, 3)
    with Servers() as servers:
        per_s = interleaved(
            {
                "output-dir": lambda: rate(
                    servers, each, False, "--output-dir", str(servers.scratch("kept-"))
                ),
                "plain fsync": lambda: rate(servers, each, True),
                "listen": lambda: rate(servers, each),
            },
            runs,
        )
    kept = per_s["output-dir"]["per_s"]
    figure = f"listen --output-dir ({SENDERS} x {each} reports)"
    return [
        compare(figure, kept, per_s["plain fsync"]["per_s"], "plain fsync SCP", "/s", at_least=1.0),
        compare(
            figure, kept, per_s["listen"]["per_s"], "listen, keeping nothing", "/s", at_least=0.8
        ),
    ]
