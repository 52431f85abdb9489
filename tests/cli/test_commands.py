"""The command line as users run it: its exit codes, streams and messages.

Two halves. First real runs, each a subprocess (``helpers.dcmreport``) against
a real peer, where the process is the point: its exit code, what goes to
stdout and stderr, signals. Then what never reaches a peer, run in this
process (``helpers.invoke``, Typer's CliRunner): --help, usage errors and bad
input (exit 2), each case a row of a table; a new option's checks are a new row.
"""

from __future__ import annotations

import json
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import pytest
import typer
from helpers import cli_env, command_group, dcmreport, invoke, parse, unused_port

from dcmreport.cli.bundles.listen import AnswerFindingsChoice
from dcmreport.cli.expand import expand

REPORT = ["--event", "1", "--instance", "1.1.1.1.9999.2"]


def peer(port: int, aet: str = "ANY-SCP") -> str:
    return f"{aet}@127.0.0.1:{port}"


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[socket.socket] = []
    threading.Thread(target=lambda: accepted.append(server.accept()[0]), daemon=True).start()
    yield int(server.getsockname()[1])
    for conn in accepted:
        conn.close()
    server.close()


def test_help_does_not_import_pynetdicom_or_pydicom() -> None:
    for args in (
        ["--help"],
        ["send-report", "--help"],
        ["commit", "--help"],
        ["listen", "--help"],
        ["echo", "--help"],
    ):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "dcmreport", *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 0
        imported = {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
        assert not {m for m in imported if m.split(".")[0] in ("pynetdicom", "pydicom")}, args
        assert "Exit codes" in run.stdout


def test_echo(listen: Any) -> None:
    listener = listen()
    run = dcmreport("echo", peer(listener.port), "--format", "json")
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["status"] == 0
    assert result["round_trip_ms"] > 0
    assert result["association"]["called_aet"] == "ANY-SCP"


def test_peer_from_environment(listen: Any) -> None:
    listener = listen()
    env = {**cli_env(), "DCMREPORT_PEER": f"X@127.0.0.1:{listener.port}"}
    run = dcmreport("send-report", *REPORT, "--format", "json", env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["association"]["called_aet"] == "X"


def test_called_aet_option_overrides_peer(listen: Any) -> None:
    listener = listen("--require-called-aet", "--aet", "RIGHT")
    run = dcmreport("send-report", peer(listener.port, "WRONG"), "-aec", "RIGHT", *REPORT)
    assert run.returncode == 0, run.stderr


def test_text_output(listen: Any) -> None:
    listener = listen("--reply", "echo")
    run = dcmreport(
        "send-report", peer(listener.port), *REPORT, "PatientID=ABC", "--format", "text"
    )
    assert run.returncode == 0, run.stderr
    assert "0x0000 Success" in run.stdout
    assert "Secondary Capture Image Storage" in run.stdout
    assert "PatientID" in run.stdout and "ABC" in run.stdout


def test_report_without_event_information(listen: Any) -> None:
    listener = listen("--count", "1")
    run = dcmreport("send-report", peer(listener.port), *REPORT, "--format", "json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["event_reply"] is None
    assert listener.finish(sig=None) == 0
    assert listener.json_lines()[0]["dataset"] is None


def test_data_from_stdin_and_file(listen: Any, tmp_path: Any) -> None:
    listener = listen("--count", "2")
    stdin_run = dcmreport(
        "send-report",
        peer(listener.port),
        *REPORT,
        "--data",
        "-",
        "PatientSex=F",
        input='{"PatientID": "FROMSTDIN"}',
    )
    assert stdin_run.returncode == 0, stdin_run.stderr
    model = tmp_path / "model.json"
    model.write_text(json.dumps({"00100020": {"vr": "LO", "Value": ["FROMFILE"]}}))
    file_run = dcmreport("send-report", peer(listener.port), *REPORT, "--data", str(model))
    assert file_run.returncode == 0, file_run.stderr
    assert listener.finish(sig=None) == 0
    first, second = (r["dataset"] for r in listener.json_lines())
    assert first == {
        "00100020": {"vr": "LO", "Value": ["FROMSTDIN"]},
        "00100040": {"vr": "CS", "Value": ["F"]},
    }
    assert second == {"00100020": {"vr": "LO", "Value": ["FROMFILE"]}}


# --- exit codes of the error paths ---------------------------------------------------------


def test_nothing_listening_is_exit_3() -> None:
    run = dcmreport("send-report", peer(unused_port()), *REPORT)
    assert run.returncode == 3
    assert "cannot connect to 127.0.0.1" in run.stderr
    assert "Connection refused" in run.stderr
    assert "Traceback" not in run.stderr


def test_rejected_association_is_exit_3(listen: Any) -> None:
    listener = listen("--require-called-aet", "--aet", "LISTENER")
    run = dcmreport("send-report", peer(listener.port, "SOMEONE-ELSE"), *REPORT)
    assert run.returncode == 3
    assert "rejected the association permanently: called AE title not recognized" in run.stderr
    assert "(result 1, source 1" in run.stderr and "reason 7)" in run.stderr


def test_failure_status_is_exit_4(listen: Any) -> None:
    listener = listen("--status", "processing-failure")
    run = dcmreport("send-report", peer(listener.port), *REPORT, "--format", "json")
    assert run.returncode == 4, run.stderr
    result = json.loads(run.stdout)
    assert result["status"] == 0x0110
    assert result["status_category"] == "Failure"
    assert result["status_meaning"] == "Processing failure"


def test_failure_status_by_code(listen: Any) -> None:
    listener = listen("--status", "0x0113", "--reply", "echo")
    run = dcmreport("send-report", peer(listener.port), *REPORT, "PatientID=X", "--format", "json")
    assert run.returncode == 4
    result = json.loads(run.stdout)
    assert result["status"] == 0x0113
    assert result["event_reply"] is None  # an Event Reply only goes with Success
    assert result["findings"] == []  # dcmreport's own answers break nothing


def test_a_warning_n_event_report_does_not_define_is_exit_7(listen: Any) -> None:
    """0001H is a Warning elsewhere, not for N-EVENT-REPORT (PS3.7 10.1.1.1.8): it no longer
    passes as exit 0; --accept-findings exits by the status (a Warning: 0), still shown."""
    listener = listen("--status", "0x0001", "--force-status")
    for accept, code in (((), 7), (("--accept-findings",), 0)):
        run = dcmreport("send-report", peer(listener.port), *REPORT, "--format", "json", *accept)
        assert run.returncode == code, run.stderr
        [finding] = json.loads(run.stdout)["findings"]
        assert finding["kind"] == "undefined-status"
        assert f"warning: {finding['message']}" in run.stderr


def test_the_exit_code_order() -> None:
    """One report: 7 for findings whatever the status. A batch: 3, then 7, then 4."""
    from dcmreport.cli.app import batch_exit_code, report_exit_code
    from dcmreport.dicom.records import (
        AssociationInfo,
        Finding,
        ReportRequest,
        ReportResponse,
        ResponseStatus,
        Summary,
    )

    finding = (Finding("undefined-status", "Status", ""),)
    request = ReportRequest("1.2.3", "1.2.3.4", 1)
    info = AssociationInfo("A", "B", "127.0.0.1:104", 0, "1.2", None)

    def one(code: int, findings: tuple[Finding, ...], accept: bool = False) -> int:
        status = ResponseStatus(code)
        rsp = ReportResponse(request, info, status, 1, None, None, None, None, 0.0, findings)
        return report_exit_code(rsp, accept)

    assert (one(0, ()), one(0x0110, ()), one(0xB000, ())) == (0, 4, 0)
    assert (one(0, finding), one(0x0110, finding)) == (7, 7)
    assert (one(0xB000, finding, True), one(0x0110, finding, True)) == (0, 4)

    summary = Summary(with_findings=1)
    summary.failed[0x0110] = 1
    assert (batch_exit_code(summary, False), batch_exit_code(summary, True)) == (7, 4)
    summary.error = "stopped"
    assert batch_exit_code(summary, False) == 3


def test_association_timeout_is_exit_3(silent_server: int) -> None:
    run = dcmreport("send-report", peer(silent_server), *REPORT, "--acse-timeout", "1")
    assert run.returncode == 3
    assert "no answer to the association request" in run.stderr


def test_dimse_timeout_is_exit_3(pynetdicom_server: Any) -> None:
    _, port = pynetdicom_server("--route-reports", "--delay", "4")
    run = dcmreport(
        "send-report",
        peer(port),
        *REPORT,
        "--class",
        "1.2.840.10008.1.20.1",
        "--dimse-timeout",
        "1",
    )
    assert run.returncode == 3
    assert "no N-EVENT-REPORT response" in run.stderr
    assert "within 1 s (--dimse-timeout)" in run.stderr


def test_peer_aborting_instead_of_answering_is_exit_3(pynetdicom_server: Any) -> None:
    _, port = pynetdicom_server("--route-reports", "--abort")
    run = dcmreport("send-report", peer(port), *REPORT, "--class", "1.2.840.10008.1.20.1")
    assert run.returncode == 3
    assert "aborted the association instead of answering" in run.stderr


# --- listen's own exits --------------------------------------------------------------------


def test_listen_timeout_is_exit_5(listen: Any) -> None:
    listener = listen("--count", "1", "--timeout", "1")
    assert listener.finish(sig=None) == 5
    assert "0 of 1 report(s) answered within 1 s" in "".join(listener.stderr)


def test_listen_count_exits_0_after_n_reports(listen: Any) -> None:
    listener = listen("--count", "2", "--timeout", "30")
    for message_id in ("1", "2"):
        run = dcmreport("send-report", peer(listener.port), *REPORT, "--message-id", message_id)
        assert run.returncode == 0, run.stderr
    assert listener.finish(sig=None) == 0
    assert [r["message_id"] for r in listener.json_lines()] == [1, 2]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_listen_stops_gracefully_on_signal(listen: Any, sig: int) -> None:
    listener = listen()
    run = dcmreport("send-report", peer(listener.port), *REPORT)
    assert run.returncode == 0
    assert listener.finish(sig) == 0
    assert len(listener.json_lines()) == 1
    assert "Traceback" not in "".join(listener.stderr)


def test_listen_port_in_use_is_exit_2(listen: Any) -> None:
    listener = listen()
    run = dcmreport("listen", "--port", str(listener.port), "--bind", "127.0.0.1")
    assert run.returncode == 2
    assert "cannot listen on 127.0.0.1" in run.stderr


def test_verbose_logs_hold_no_dataset_values(listen: Any) -> None:
    """-v shows the negotiation, never patient data; only -d may."""
    listener = listen("-v", "--reply", "echo", "--count", "1")
    run = dcmreport("send-report", peer(listener.port), *REPORT, "PatientName=SECRET^NAME", "-v")
    assert run.returncode == 0, run.stderr
    assert "Context 3: Secondary Capture Image Storage" in run.stderr
    assert listener.finish(sig=None) == 0
    assert "requestor is SCP" in "".join(listener.stderr)
    assert "SECRET" not in run.stderr + "".join(listener.stderr)
    assert "SECRET" in run.stdout  # the result itself is what the user asked for
    debug = dcmreport("send-report", peer(unused_port()), *REPORT, "PatientName=SECRET", "-d")
    assert debug.returncode == 3


def test_output_flags_before_the_command() -> None:
    """-v/-q/-d before the command count as after it; -d shows pynetdicom's log."""
    port = str(unused_port())
    run = dcmreport("-v", "echo", f"127.0.0.1:{port}")
    assert run.returncode == 3, run.stderr
    assert "Requesting Association" not in run.stderr
    debug = dcmreport("-d", "echo", f"127.0.0.1:{port}")
    assert debug.returncode == 3
    assert "Requesting Association" in debug.stderr
    quiet = dcmreport("-q", "echo", f"127.0.0.1:{port}", "--format", "text")
    assert quiet.returncode == 3


def test_bad_input_exits_the_process_with_2() -> None:
    """What the in-process tables below check, as a script sees it."""
    run = dcmreport("send-report", "--instance", "1.2.3")
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "dcmreport: error: --event is required",
        "  hint: e.g. --event 1",
    ]


# --- in process: --help, usage errors and bad input --------------------------------------------

GROUP = command_group()
COMMANDS: dict[str, Any] = dict(GROUP.commands)
HELPS = [[], *([name] for name in COMMANDS)]


def row_id(value: object) -> str | None:
    """A table row's name in pytest's output: its command line."""
    return " ".join(value) if isinstance(value, list) else None


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0
    assert re.fullmatch(r"dcmreport \d+\.\d+\.\d+\n", result.stdout)


# A value its option's parser refuses: a usage error, before the command runs. A row: the
# command line, and what the first line of the message says after "dcmreport: error: ".
USAGE_ERRORS = [
    (["echo", "--bogus"], "no such option: --bogus"),
    (["send-report", "--max-pdu", "-1"], "invalid value for '--max-pdu'"),
    (["send-report", "-aet", "A" * 17], "longer than 16 characters"),
    (["send-report", "-x", "jpeg"], "unsupported transfer syntax 'jpeg'"),
    (["listen", "--status", "bogus"], "unknown status 'bogus'"),
    (["listen", "--answer-findings", "maybe"], "invalid value for '--answer-findings'"),
    (["listen", "--port"], "option '--port' requires an argument"),
    (["listen", "--port", "70000"], "invalid value for '--port'"),
    (["listen", "--max-dataset-size", "lots"], "not a size: 'lots'"),
    (["echo", "--max-pdu", "abc"], "invalid value for '--max-pdu'"),
    (["echo", "--acse-timeout", "-1"], "invalid value for '--acse-timeout'"),
    (["echo", "--acse-timeout", "nan"], "invalid value for '--acse-timeout'"),
    (["echo", "--format", "xml"], "'xml' is not one of 'auto', 'text', 'json'"),
    (["echo", "--config", "/"], "file '/' is a directory"),
]


@pytest.mark.parametrize(("args", "message"), USAGE_ERRORS, ids=row_id)
def test_usage_errors_look_like_every_other_error(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    first, hint = result.stderr.splitlines()
    assert first.startswith("dcmreport: error: "), first
    assert message in first, first
    assert hint == f"  hint: see 'dcmreport {args[0]} --help'"
    assert result.stdout == ""


# What dcmreport's own conversion of values (the trick typer-values) says a value must be;
# the plain path says it in pydantic's words.
VALUE_ERRORS = [
    (["listen", "--port", "70000"], "must be at most 65535 (not 70000)"),
    (["echo", "--max-pdu", "abc"], "'abc' is not an integer"),
    (["echo", "--acse-timeout", "-1"], "must be at least 0 (not -1)"),
    (["echo", "--acse-timeout", "nan"], "must be at least 0 (not nan)"),
]


@pytest.mark.speedups
@pytest.mark.parametrize(("args", "message"), VALUE_ERRORS, ids=row_id)
def test_a_bad_value_says_what_it_must_be(args: list[str], message: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_bad_value_from_the_environment_names_its_variable() -> None:
    result = invoke("echo", env={"DCMREPORT_MAX_PDU": "lots"})
    assert result.exit_code == 2
    assert "invalid value for '--max-pdu' (env var: 'DCMREPORT_MAX_PDU')" in result.stderr


@pytest.mark.speedups
def test_a_bad_value_from_the_environment_says_what_it_must_be() -> None:
    result = invoke("echo", env={"DCMREPORT_MAX_PDU": "lots"})
    assert "'lots' is not an integer" in result.stderr


# Input refused when the command runs, before any association: exit 2. A row: what follows
# "send-report --event 1 --instance 1.2.3" (stdin holds broken JSON), and what the error says.
BAD_REPORTS = [
    (["--data", "-"], "stdin: invalid JSON at line 2, column 3"),
    (["PatientNme=X"], "unknown keyword 'PatientNme' (did you mean PatientName"),
    (["Rows=twelve"], "Rows: 'twelve' is not a valid US value"),
    (["--data", "/nonexistent.json"], "/nonexistent.json: no such file"),
    (["--instance", "1.2.abc"], "is not a UID"),
    (["--class", "no-such-class"], "unknown SOP class 'no-such-class'"),
    (["--event", "nonsense"], "unknown event 'nonsense'"),
    (["nobody@host:99999"], "out of range"),
    (["--transaction-uid", "1.2.3"], "--transaction-uid goes with --commit/--fail"),
    (["--batch", "-", "--data", "-"], "--batch - and --data - both read stdin"),
]


@pytest.mark.parametrize(("args", "message"), BAD_REPORTS, ids=row_id)
def test_bad_input_is_exit_2(args: list[str], message: str) -> None:
    base = ["send-report", "--event", "1", "--instance", "1.2.3"]
    result = invoke(*base, *args, input='{"PatientID":\n  oops}')
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# Input the listener refuses at start, before it listens: exit 2 (--timeout: a row that is
# accepted by mistake fails with 5 instead of listening on).
BAD_LISTENERS = [
    (["--exec-decides"], "--exec-decides needs --exec COMMAND"),
    (["--status", "cancel"], "--status"),
    (["--peer", "MODALITY=h:104"], "--peer goes with --commitment"),
    (["--tls-cert", "x.pem"], "--tls-cert goes with --tls"),
    (["--allow-calling-aet", "@/nonexistent"], "--allow-calling-aet @/nonexistent"),
    (["--reject", "nonsense"], "--reject"),
    (["--memory-budget", "100MiB"], "cannot hold one data set of --max-dataset-size"),
    (["--memory-budget", "16GiB", "--max-dataset-size", "8GiB"], "cannot hold one data set"),
]


@pytest.mark.parametrize(("args", "message"), BAD_LISTENERS, ids=row_id)
def test_bad_listener_options_are_exit_2(args: list[str], message: str) -> None:
    result = invoke("listen", "--port", "0", "--bind", "127.0.0.1", "--timeout", "1", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr.splitlines()[0]


# watch options that contradict each other, refused before any association: exit 2. A row:
# what follows "watch WORKLIST@127.0.0.1:1 --aet W", and what the error's first line says.
BAD_WATCHES = [
    ([], "what to watch: a UPS_INSTANCE_UID, --global or --filter KEY=VALUE"),
    (["--global", "--until-state", "COMPLETED"], "--until-state needs the UPS_INSTANCE_UID"),
    (["1.2.3", "--global"], "give one of UPS_INSTANCE_UID, --global and --filter"),
    (["--global", "--filter", "ProcedureStepState=SCHEDULED"], "give one of UPS_INSTANCE_UID"),
    (["--global", "--unsubscribe", "--suspend-global"], "give one of them"),
    (["--filter", "ProcedureStepState=X", "--unsubscribe"], "unsubscribe with --global instead"),
    (["1.2.3", "--suspend-global"], "--suspend-global acts on the Global Subscription"),
    (["--filter", "ProcedureStepState=X", "--suspend-global"], "leave out --filter"),
    (["1.2.3", "--unsubscribe", "--keep-subscription"], "--keep-subscription goes with a sub"),
    (["--global", "--unsubscribe", "--deletion-lock"], "--deletion-lock goes with a subscr"),
    (["--global", "--suspend-global", "--count", "1"], "--count goes with a subscription"),
    (["1.2.3", "--unsubscribe", "--until-state", "COMPLETED"], "--until-state goes with a"),
    (["--global", "--unsubscribe", "--ready-file", "r"], "--ready-file goes with a subscr"),
    (["--global", "--filter", "NoSuchKey=1"], "give one of UPS_INSTANCE_UID"),
    (["--filter", "NoSuchKey=1"], "unknown keyword 'NoSuchKey'"),
]


@pytest.mark.parametrize(("args", "message"), BAD_WATCHES, ids=row_id)
def test_contradicting_watch_options_are_exit_2(args: list[str], message: str) -> None:
    result = invoke("watch", "WORKLIST@127.0.0.1:1", "--aet", "W", *args)
    assert result.exit_code == 2, result.stderr
    assert message in result.stderr.splitlines()[0], result.stderr
    assert "Traceback" not in result.stderr


def test_missing_event_is_exit_2() -> None:
    result = invoke("send-report", "--instance", "1.2.3")
    assert result.exit_code == 2
    assert "--event is required" in result.stderr


def examples(help_text: str) -> list[str]:
    """The example command lines of a docstring, continuation lines joined."""
    lines = [line.strip() for line in help_text.splitlines()]
    commands, current = [], ""
    for line in lines:
        if line.startswith("dcmreport ") or current:
            current += line.removesuffix("\\").rstrip() + " "
            if not line.endswith("\\"):
                commands.append(current.strip())
                current = ""
    return commands


@pytest.mark.parametrize("args", HELPS, ids=lambda a: " ".join(a) or "dcmreport")
def test_help_names_values_not_python_types(args: list[str]) -> None:
    result = invoke(*args, "--help")
    assert result.exit_code == 0, result.output
    assert not re.search(r"<[a-z][^>]*>", result.stdout), result.stdout
    words = r"\b(bool|str|int|float|list|Peer|Path|NoneType|int range|float range)\b"
    assert not re.search(words, result.stdout), re.search(words, result.stdout)
    assert not re.search(r"x\s*[<>]=|[<>]=\s*x", result.stdout)
    usage = next(line for line in result.stdout.splitlines() if "Usage:" in line)
    assert "[[" not in usage


def test_value_options_show_their_metavar() -> None:
    help_text = invoke("listen", "--help").stdout
    for option, metavar in (
        ("--status", "STATUS"),
        ("--output-dir", "DIR"),
        ("--acse-timeout", "SECONDS"),
        ("--answer-findings", "yes|no"),
    ):
        assert re.search(rf"{option}\s.*{re.escape(metavar)}", help_text), option
    send_help = invoke("send-report", "--help").stdout
    assert "Usage: dcmreport send-report [OPTIONS] [PEER] [KEY=VALUE]..." in send_help
    assert re.search(r"--instance\s+-i\s+UID", send_help)


def test_defaults_show_by_name() -> None:
    help_text = invoke("listen", "--help").stdout
    assert "[default: success]" in help_text
    assert "[default: yes]" in help_text
    assert "[default: 0]" not in help_text


def _exit_codes(help_text: str) -> set[int]:
    section = help_text.split("Exit codes", 1)[1]
    return {int(m) for m in re.findall(r"^\s*(\d+)\s{2,}\S", section, re.M)}


@pytest.mark.parametrize(
    ("command", "codes"),
    [
        ("echo", {0, 1, 2, 3, 4, 130}),
        ("send-report", {0, 1, 2, 3, 4, 7, 130}),
        ("listen", {0, 1, 2, 5, 130}),
        ("commit", {0, 1, 2, 3, 4, 5, 6, 7, 130}),
    ],
)
def test_each_command_lists_its_own_exit_codes(command: str, codes: set[int]) -> None:
    assert _exit_codes(invoke(command, "--help").stdout) == codes


def test_examples_parse_and_are_not_wrapped() -> None:
    found = 0
    for args in HELPS:
        command = COMMANDS[args[0]] if args else GROUP
        shown = {line.strip() for line in invoke(*args, "--help").stdout.splitlines()}
        for line in (command.help or "").splitlines():
            if line.strip().startswith(("dcmreport ", "--")) and line.startswith("  "):
                assert line.strip() in shown, f"wrapped at 80 columns: {line.strip()}"
        for example in examples(command.help or ""):
            parse(shlex.split(example))
            found += 1
    assert found >= 6


def test_new_options_reach_their_bundles() -> None:
    """What a command line parses into, by field name; tests/cli/test_bundles.py follows the
    values on into the configuration objects."""
    listen = parse(["dcmreport", "listen", "--answer-findings", "no", "--force-status", "--full"])
    assert listen["answer_findings"] is AnswerFindingsChoice.NO
    assert (listen["force_status"], listen["full"]) == (True, True)
    defaults = parse(["dcmreport", "listen"])
    assert defaults["answer_findings"] is AnswerFindingsChoice.YES
    assert (defaults["force_status"], defaults["full"], defaults["status"]) == (
        False,
        False,
        "success",
    )
    assert parse(["dcmreport", "send-report", "--full"])["full"] is True


@pytest.mark.parametrize(("typo", "meant"), [("send", "send-report"), ("lisen", "listen")])
def test_mistyped_command_gets_a_suggestion(typo: str, meant: str) -> None:
    result = invoke(typo, "x")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"dcmreport: error: no such command '{typo}'",
        f"  hint: did you mean '{meant}'? See 'dcmreport --help'",
    ]


Verbose = Annotated[bool, typer.Option("--verbose")]


@dataclass(frozen=True)
class _Loud:
    verbose: Verbose = False


@dataclass(frozen=True)
class _Louder:
    verbose: Verbose = False
    quiet: Annotated[bool, typer.Option("--quiet")] = False


def test_a_bundle_may_not_declare_an_option_twice() -> None:
    def command(a: _Loud, b: _Louder) -> None:
        """Two bundles, one --verbose."""

    with pytest.raises(TypeError, match="options declared twice: verbose"):
        expand(command)
