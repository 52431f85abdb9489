"""TAB completion of every value with a closed set, through the shell's own protocol.

Each case runs ``dcmreport`` as bash's completion function does: the words so
far in ``COMP_WORDS``, the cursor in ``COMP_CWORD``, ``_DCMREPORT_COMPLETE``
saying which shell asks. What it prints is what the shell offers. Then each
shell's own completion runs the generated scripts of ``completions/``: bash's
function with the words as bash splits them, zsh typing the line and TAB on a
pseudo-terminal, fish's ``complete -C``. A missing zsh or fish skips locally
and fails in CI (``.ci/run`` installs them).
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import cli_env
from interop.support import missing_peer

from dcmreport.dicom.catalog import FAILURE_REASONS

COMPLETIONS = Path(__file__).parents[2] / "completions"


def complete(line: str, env: dict[str, str] | None = None) -> list[str]:
    """What TAB offers at the end of ``line`` (a trailing space: a new, empty word)."""
    words = shlex.split(line) + ([""] if line.endswith(" ") else [])
    run = subprocess.run(
        [sys.executable, "-m", "dcmreport"],
        env={
            **(env or cli_env()),
            "_DCMREPORT_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(shlex.quote(w) if w else "''" for w in words),
            "COMP_CWORD": str(len(words) - 1),
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        (
            "dcmreport listen --status no-such-",
            ["no-such-sop-instance", "no-such-event-type", "no-such-argument", "no-such-sop-class"],
        ),
        ("dcmreport listen --status ", ["success", "processing-failure", "mistyped-argument"]),
        ("dcmreport listen --reply ", ["none", "echo"]),
        ("dcmreport listen --reject c", ["calling-aet", "called-aet", "congestion"]),
        ("dcmreport send-report -x ", ["implicit", "explicit", "deflated", "big"]),
        ("dcmreport listen --transfer-syntax b", ["big"]),
        ("dcmreport send-report --fail scans/b.dcm:no", ["scans/b.dcm:no-such-object-instance"]),
        (
            "dcmreport send-report --fail b.dcm:",
            [
                "b.dcm:processing-failure",
                "b.dcm:no-such-object-instance",
                "b.dcm:resource-limitation",
                "b.dcm:referenced-sop-class-not-supported",
                "b.dcm:class-instance-conflict",
                "b.dcm:duplicate-transaction-uid",
            ],
        ),
    ],
)
def test_closed_sets(line: str, offered: list[str]) -> None:
    got = complete(line)
    assert set(offered) <= set(got), got
    incomplete = "" if line.endswith(" ") else line.split()[-1]
    assert all(item.startswith(incomplete) for item in got)


def test_status_offers_only_report_statuses_unless_forced() -> None:
    assert "cancel" not in complete("dcmreport listen --status c")
    assert "cancel" in complete("dcmreport listen --force-status --status c")


def test_fail_offers_files_until_the_colon() -> None:
    """Nothing offered, so the shell's own file completion (complete -o default) takes over."""
    assert complete("dcmreport send-report --fail sca") == []


def test_dicom_keywords_by_prefix() -> None:
    got = complete("dcmreport send-report 127.0.0.1 PatientNa")
    assert "PatientName=" in got
    assert all(item.startswith("PatientNa") and item.endswith("=") for item in got)
    nested = complete("dcmreport send-report 127.0.0.1 ReferencedSOPSequence[0].ReferencedSOPI")
    assert "ReferencedSOPSequence[0].ReferencedSOPInstanceUID=" in nested
    assert all(item.startswith("ReferencedSOPSequence[0].ReferencedSOPI") for item in nested)
    assert complete("dcmreport send-report 127.0.0.1 PatientID=12") == []


def test_keywords_are_pydicoms_in_either_mode(speedups_mode: Any) -> None:
    """The trick ``keyword-completion`` (pydicom's dictionary module alone) offers what
    ``pydicom.datadict.keyword_dict`` holds, which is what the plain path offers."""
    from pydicom.datadict import keyword_dict

    from dcmreport.cli import completion

    public = tuple(sorted(keyword for keyword in keyword_dict if keyword))
    assert completion._dictionary_module_keywords() == public
    speedups_mode("off")
    completion._keywords.cache_clear()
    try:
        assert completion._keywords() == public
    finally:
        completion._keywords.cache_clear()


def test_the_speedups_option_offers_its_modes() -> None:
    assert complete("dcmreport --speedups o") == ["on", "off"]
    assert complete("dcmreport --speedups of") == ["off"]


def test_peer_names_from_the_settings_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[peers.pacs]\naddress = "PACS@h:104"\n[peers.ris]\naddress = "RIS@h:104"\n'
        '[peers.printer]\naddress = "PRN@h:104"\n'
    )
    env = {**cli_env(), "DCMREPORT_CONFIG": str(config)}
    assert sorted(complete("dcmreport echo ", env)) == ["pacs", "printer", "ris"]
    assert sorted(complete("dcmreport send-report p", env)) == ["pacs", "printer"]
    explicit = complete(f"dcmreport echo --config {config} r")
    assert explicit == ["ris"]
    # after the peer, send-report's arguments are keywords, not peers
    assert "pacs" not in complete("dcmreport send-report pacs pa", env)


def test_broken_settings_file_offers_no_names(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[peers.pacs\n")
    assert complete("dcmreport echo ", {**cli_env(), "DCMREPORT_CONFIG": str(config)}) == []


def on_path(tmp_path: Path) -> dict[str, str]:
    """The CLI's environment with ``dcmreport`` on PATH: a wrapper that runs this Python on
    this checkout (PYTHONPATH is kept), as the completion scripts call it by name."""
    wrapper = tmp_path / "bin" / "dcmreport"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m dcmreport "$@"\n')
    wrapper.chmod(0o755)
    return {**cli_env(), "PATH": f"{wrapper.parent}:{cli_env()['PATH']}"}


def bash_complete(tmp_path: Path, words: list[str], line: str) -> list[str]:
    """COMPREPLY of completions/dcmreport.bash's function, called as bash calls it on TAB at the
    end of ``line``: ``words`` is COMP_WORDS as bash splits the line (a colon is a word of its
    own, COMP_WORDBREAKS), the cursor in the last one. ``dcmreport`` on PATH is a wrapper that
    runs this Python on this checkout (PYTHONPATH is kept)."""
    script = COMPLETIONS / "dcmreport.bash"
    program = (
        f"source {shlex.quote(str(script))}\n"
        f"COMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
        f"COMP_CWORD={len(words) - 1}\n"
        f"COMP_LINE={shlex.quote(line)}\n"
        f"COMP_POINT={len(line)}\n"
        "_dcmreport_completion dcmreport\n"
        "printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    run = subprocess.run(
        ["bash", "--norc", "-c", program],
        env=on_path(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line]


def test_typers_script_table_is_where_ours_goes() -> None:
    """The Typer internal ``use_own_scripts`` writes to: if a release moves it, bash would
    silently get Typer's script again, which splits ``FILE:REASON``, and zsh one that puts a
    space after ``PatientName=``."""
    from typer import _completion_shared

    import dcmreport.cli.app  # noqa: F401  (installs the scripts)
    from dcmreport.cli import completion

    assert _completion_shared._completion_scripts["bash"] is completion.BASH_SCRIPT
    assert _completion_shared._completion_scripts["zsh"] is completion.ZSH_SCRIPT


def test_bash_offers_failure_reasons_after_the_colon_it_split_at(tmp_path: Path) -> None:
    """bash splits ``a.dcm:no-`` into ``a.dcm``, ``:``, ``no-`` and replaces only ``no-``: the
    script joins the words for dcmreport and offers what follows the colon."""
    line = "dcmreport send-report --fail a.dcm:no-"
    got = bash_complete(tmp_path, ["dcmreport", "send-report", "--fail", "a.dcm", ":", "no-"], line)
    assert got == ["no-such-object-instance"]
    line = "dcmreport send-report --fail a.dcm:"
    got = bash_complete(tmp_path, ["dcmreport", "send-report", "--fail", "a.dcm", ":"], line)
    assert {"processing-failure", "no-such-object-instance"} <= set(got), got
    assert not any(":" in item for item in got)


def test_bash_offers_ref_classes_before_the_colon(tmp_path: Path) -> None:
    line = "dcmreport commit pacs --ref CTImageSto"
    got = bash_complete(tmp_path, ["dcmreport", "commit", "pacs", "--ref", "CTImageSto"], line)
    assert got == ["CTImageStorage:"]
    line = "dcmreport commit pacs --ref CTImageStorage:1.2"
    words = ["dcmreport", "commit", "pacs", "--ref", "CTImageStorage", ":", "1.2"]
    assert bash_complete(tmp_path, words, line) == []


def test_ref_offers_catalog_names_and_keywords_in_either_mode(speedups_mode: Any) -> None:
    from dcmreport.cli import completion

    assert "storage-commitment:" in completion.class_refs("storage-")
    assert completion.class_refs("CTImageStorage") == ["CTImageStorage:"]
    assert completion.class_refs("CTImageStorage:1.2") == []
    fast = completion._sop_class_keywords()
    speedups_mode("off")
    assert completion._sop_class_keywords() == fast


# --- zsh and fish, through their own completion systems --------------------------------------


def shell(name: str) -> str:
    """The shell's path; a missing one skips (locally) or fails (CI: .ci/run installs it)."""
    found = shutil.which(name)
    if found is None:
        missing_peer(f"{name} not found", f"apt-get install {name}")
    return found


# An interactive zsh on a pseudo-terminal (zsh/zpty), with compinit and completions/_dcmreport:
# the line is typed, then TAB, bound to a widget that completes (compinit's expand-or-complete)
# and then writes the line as completion left it. One key and no Enter (zpty -n): a second key
# typed ahead raced the completion (^X then Enter was read as an unbound ^X^M on a loaded machine).
# compadd is wrapped to write each match it adds too (as zsh-capture-completion does), the
# values as zsh has them once _arguments and compadd have taken the answer apart.
ZSH_DRIVER = r"""
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z 'PS1=""; autoload -U compinit; compinit -u -D'
zpty -w z "source ${(q)SCRIPT}"
zpty -w z 'tab() { zle expand-or-complete; print -r -- "BUFFER<$BUFFER>" >> $OUT }'
zpty -w z 'zle -N tab; bindkey "^I" tab'
zpty -w z 'compadd() {
    if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return; fi
    local -a hits; builtin compadd -A hits "$@"; print -rl -- MATCH\<${^hits}\> >> $OUT
    builtin compadd "$@"
}'
zpty -n -w z "$LINE"$'\t'
for i in {1..600}; do
    [[ -f $OUT ]] && grep -q '^BUFFER<' $OUT && break
    sleep 0.1
done
zpty -d z
"""


def zsh_complete(tmp_path: Path, line: str) -> tuple[list[str], str]:
    """TAB at the end of ``line`` in zsh: the matches offered, and the line TAB left."""
    out = tmp_path / "zsh-out"
    out.unlink(missing_ok=True)
    env = {**on_path(tmp_path), "SCRIPT": str(COMPLETIONS / "_dcmreport"), "OUT": str(out)}
    env["LINE"] = line
    run = subprocess.run(
        [shell("zsh"), "-f", "-c", ZSH_DRIVER], env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    lines = out.read_text().splitlines()
    matches = [x[len("MATCH<") : -1] for x in lines if x.startswith("MATCH<") and x != "MATCH<>"]
    (buffer,) = [x[len("BUFFER<") : -1] for x in lines if x.startswith("BUFFER<")]
    return matches, buffer


@pytest.mark.parametrize(
    ("line", "after_tab"),
    [
        (
            "dcmreport send-report --fail a.dcm:no-",
            "dcmreport send-report --fail a.dcm:no-such-object-instance ",
        ),
        ("dcmreport commit pacs --ref CTImageSto", "dcmreport commit pacs --ref CTImageStorage:"),
        (
            "dcmreport send-report 127.0.0.1 PatientNam",
            "dcmreport send-report 127.0.0.1 PatientName=",
        ),
        ("dcmreport listen --status no-such-e", "dcmreport listen --status no-such-event-type "),
        (
            "dcmreport send-report --class mpps-n",
            "dcmreport send-report --class mpps-notification ",
        ),
    ],
)
def test_zsh_completes_values_with_colons_and_no_space_after_a_colon_or_equals(
    tmp_path: Path, line: str, after_tab: str
) -> None:
    """zsh does not split at a colon, but ``_describe`` would end a value at one: the values
    reach compadd whole. A value ending in ``:`` or ``=`` goes on, so no space follows it."""
    assert zsh_complete(tmp_path, line)[1] == after_tab


def test_zsh_offers_every_failure_reason_after_the_colon(tmp_path: Path) -> None:
    matches, buffer = zsh_complete(tmp_path, "dcmreport send-report --fail a.dcm:")
    assert sorted(matches) == sorted(f"a.dcm:{name}" for name, _ in FAILURE_REASONS.values())
    assert buffer == "dcmreport send-report --fail a.dcm:"


def test_zsh_offers_options_and_files_where_nothing_is_closed(tmp_path: Path) -> None:
    (tmp_path / "scans").mkdir()
    (tmp_path / "scans" / "b.dcm").write_bytes(b"")
    matches, _ = zsh_complete(tmp_path, "dcmreport send-report --clas")
    assert matches == ["--class"]
    # nothing offered after --fail before the colon: zsh's own file names (_files)
    _, buffer = zsh_complete(tmp_path, f"dcmreport send-report --fail {tmp_path}/sca")
    assert buffer == f"dcmreport send-report --fail {tmp_path}/scans/"


def fish_complete(tmp_path: Path, line: str) -> list[str]:
    """What fish offers at the end of ``line``: ``complete -C`` runs fish's own completion
    with completions/dcmreport.fish loaded, the candidates one a line (help after a tab)."""
    script = COMPLETIONS / "dcmreport.fish"
    program = f"source {shlex.quote(str(script))}; complete -C {shlex.quote(line)}"
    run = subprocess.run(
        [shell("fish"), "--no-config", "-c", program],
        env=on_path(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return [x.split("\t")[0] for x in run.stdout.splitlines()]


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        ("dcmreport send-report --fail a.dcm:no-", ["a.dcm:no-such-object-instance"]),
        (
            "dcmreport send-report --fail a.dcm:",
            sorted(f"a.dcm:{name}" for name, _ in FAILURE_REASONS.values()),
        ),
        ("dcmreport commit pacs --ref CTImageSto", ["CTImageStorage:"]),
        ("dcmreport commit pacs --ref CTImageStorage:1.2", []),
        ("dcmreport send-report 127.0.0.1 PatientNam", ["PatientName="]),
        ("dcmreport listen --status no-such-e", ["no-such-event-type"]),
    ],
)
def test_fish_completes_values_with_colons(tmp_path: Path, line: str, offered: list[str]) -> None:
    """fish passes the line whole (no split at a colon) and appends no space after a value
    ending in ``:`` or ``=`` by itself."""
    assert sorted(fish_complete(tmp_path, line)) == offered


def test_fish_offers_files_where_nothing_is_closed(tmp_path: Path) -> None:
    (tmp_path / "scans").mkdir()
    assert fish_complete(tmp_path, f"dcmreport send-report --fail {tmp_path}/sca") == [
        f"{tmp_path}/scans/"
    ]
