"""What TAB offers for every value that has a closed set.

Statuses, reply modes, rejection reasons, transfer syntaxes, Failure Reasons
after ``FILE:``, SOP classes before ``--ref``'s ``:UID``, the peer names of the
settings file, and DICOM keywords in ``KEY=VALUE`` (prefix match on pydicom's
dictionary). Where nothing matches,
the shell scripts fall back to file names (``complete -o default``), which is
what ``--reply FILE``, ``--fail FILE`` and ``KEY=@FILE`` want.

A TAB runs the whole program, so it may cost no more than ``--help``: nothing
here imports pynetdicom, nor pydicom while the speed trick ``keyword-completion``
is on (:mod:`dcmreport.speedups`). The keywords then come from pydicom's
private dictionary module (``_dicom_dict.py``) loaded on its own, a table of
constants, where importing the pydicom package costs more than all of
``--help`` (``tests/benchmarks/run.py --only start`` measures a TAB against
``--help``). With the trick off they are ``pydicom.datadict.keyword_dict``'s;
the SOP class keywords of ``--ref`` likewise come from ``_uid_dict.py`` or
``pydicom.uid.UID_dictionary``.

bash splits a word at a colon (``:`` is in ``COMP_WORDBREAKS``), so
``--fail a.dcm:no-`` reaches a completion function as ``a.dcm``, ``:``, ``no-``
and bash replaces only ``no-``. Typer's bash shim passes those words on as they
are; :data:`BASH_SCRIPT` replaces it (:func:`use_own_scripts`) with one that
joins them again and strips ``a.dcm:`` from what comes back, as git's
completion does (``__git_reassemble_comp_words_by_ref``,
``__ltrim_colon_completions``). zsh and fish do not split at a colon. fish
keeps Typer's shim: it appends no space after a value ending in ``=`` or ``:``
by itself. zsh's does not (``PatientName= ``), so :data:`ZSH_SCRIPT` adds
values itself, those ending so without a space (``compadd -S ''``), and asks
Typer's zsh protocol only for options, whose help it shows. Adding them
itself also keeps them clear of ``_describe``'s ``VALUE:HELP`` syntax, where an
unescaped colon would end the value. ``tests/cli/test_completion.py`` drives
all three shells' own completion.
"""

# No ``from __future__ import annotations``: Typer reads these callbacks' annotations
# on every run, TAB and --help included, and would compile them from strings each time.
import functools
import importlib.util
from pathlib import Path
from typing import Any

import typer
from typer import _completion_shared

from dcmreport import speedups
from dcmreport.dicom import catalog
from dcmreport.dicom.status import REPORT_STATUSES, STATUSES


def statuses(ctx: typer.Context, incomplete: str) -> list[str]:
    """The statuses of an N-EVENT-REPORT-RSP; every known one with --force-status."""
    codes = STATUSES if ctx.params.get("force_status") else REPORT_STATUSES
    return [STATUSES[code][0] for code in codes if STATUSES[code][0].startswith(incomplete)]


def sop_classes(incomplete: str) -> list[str]:
    return [name for name in catalog.class_names() if name.startswith(incomplete)]


def event_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """Event names of the --class given so far (storage commitment with --commit/--fail)."""
    files = ctx.params.get("commit") or ctx.params.get("fail")
    chosen = ctx.params.get("sop_class") or ("storage-commitment" if files else "")
    return [name for name in catalog.event_names(chosen) if name.startswith(incomplete)]


def reply_modes(incomplete: str) -> list[str]:
    return [mode for mode in ("none", "echo") if mode.startswith(incomplete)]


def rejections(incomplete: str) -> list[str]:
    return [name for name in catalog.REJECTIONS if name.startswith(incomplete)]


def transfer_syntaxes(incomplete: str) -> list[str]:
    return [name for name in catalog.TRANSFER_SYNTAXES if name.startswith(incomplete)]


def failure_reasons(incomplete: str) -> list[str]:
    """``FILE:REASON``: the reasons once the file is typed and its colon (before: files)."""
    path, colon, reason = incomplete.rpartition(":")
    if not colon:
        return []
    return [
        f"{path}:{name}" for name, _ in catalog.FAILURE_REASONS.values() if name.startswith(reason)
    ]


def class_refs(incomplete: str) -> list[str]:
    """``--ref CLASS:UID``: ``CLASS:`` for the catalog's names and pydicom's SOP class
    keywords before the colon; after it the UID, which nothing can offer."""
    if ":" in incomplete:
        return []
    names = (*catalog.class_names(), *_sop_class_keywords())
    return [f"{name}:" for name in names if name.startswith(incomplete)]


def peer_names(ctx: typer.Context, incomplete: str) -> list[str]:
    """The named peers of the settings file (--config, $DCMREPORT_CONFIG, the default)."""
    from dcmreport.cli.settings_file import load
    from dcmreport.errors import InputError

    config = ctx.params.get("config")
    try:
        names = load(Path(config) if config else None).peers
    except InputError:  # a broken file is reported when the command runs, not on TAB
        return []
    return [name for name in names if name.startswith(incomplete)]


def report_arguments(ctx: typer.Context, incomplete: str) -> list[str]:
    """send-report's arguments: a peer name first, then DICOM keywords as ``Keyword=``."""
    first = not ctx.params.get("arguments")
    return (peer_names(ctx, incomplete) if first else []) + keywords(incomplete)


def commit_arguments(incomplete: str) -> list[str]:
    """commit's arguments: ``Keyword=`` for a capital; a file name is the shell's to complete."""
    return keywords(incomplete) if incomplete[:1].isupper() else []


def keywords(incomplete: str) -> list[str]:
    """``Keyword=`` for each keyword starting so; after ``Seq[0].`` the nested keyword."""
    if "=" in incomplete or "(" in incomplete:
        return []
    head, dot, tail = incomplete.rpartition(".")
    prefix = head + dot
    return [f"{prefix}{keyword}=" for keyword in _keywords() if keyword.startswith(tail)]


@functools.cache
def _keywords() -> tuple[str, ...]:
    """pydicom's keywords: from its dictionary module alone with the trick on, else from
    its public ``keyword_dict`` (see the module docstring)."""
    if not speedups.enabled("keyword-completion"):
        from pydicom.datadict import keyword_dict

        return tuple(sorted(keyword for keyword in keyword_dict if keyword))
    return _dictionary_module_keywords()


def _dictionary_module_keywords() -> tuple[str, ...]:
    """The keywords of pydicom's ``_dicom_dict.py``, executed on its own, not as part of the
    package (whose ``__init__`` imports all of pydicom)."""
    module = _pydicom_table("_dicom_dict")
    if module is None:
        return ()
    return tuple(sorted(entry[4] for entry in module.DicomDictionary.values() if entry[4]))


def _sop_class_keywords() -> tuple[str, ...]:
    """pydicom's SOP class keywords: from ``_uid_dict.py`` alone with the trick on, else from
    ``pydicom.uid.UID_dictionary`` (see the module docstring)."""
    if speedups.enabled("keyword-completion"):
        module = _pydicom_table("_uid_dict")
        table = module.UID_dictionary if module is not None else {}
    else:
        # pydicom.uid's table of UIDs, which it imports without listing it in __all__
        from pydicom.uid import UID_dictionary as table  # type: ignore[attr-defined]
    return tuple(sorted(entry[4] for entry in table.values() if entry[1] == "SOP Class"))


def _pydicom_table(name: str) -> Any:
    """pydicom's table module ``name`` executed on its own (None where pydicom is not found)."""
    spec = importlib.util.find_spec("pydicom")
    locations = spec.submodule_search_locations if spec else None
    if not locations:
        return None
    module_spec = importlib.util.spec_from_file_location(
        f"_dcmreport{name}", Path(locations[0]) / f"{name}.py"
    )
    if module_spec is None or module_spec.loader is None:
        return None
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


# Typer's bash shim, but with the words split at a colon joined again before dcmreport is
# asked, and the joined word's part up to its last colon stripped from the answers (bash
# replaces only what follows the colon). A single answer ending in = or : gets no space.
BASH_SCRIPT = r"""
%(complete_func)s() {
    local IFS=$'\n' words=() cword=0 i cur prefix
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        if [[ $COMP_WORDBREAKS == *:* ]] && ((${#words[@]} > 1)) &&
            [[ ${COMP_WORDS[i]} == : || ${words[${#words[@]} - 1]} == *: ]]; then
            words[${#words[@]} - 1]+=${COMP_WORDS[i]}
        else
            words+=("${COMP_WORDS[i]}")
        fi
        ((i == COMP_CWORD)) && cword=$((${#words[@]} - 1))
    done
    COMPREPLY=( $( env COMP_WORDS="${words[*]}" \
                   COMP_CWORD=$cword \
                   %(autocomplete_var)s=complete_bash $1 ) )
    cur=${words[cword]}
    if [[ $COMP_WORDBREAKS == *:* && $cur == *:* ]]; then
        prefix=${cur%%"${cur##*:}"}
        COMPREPLY=( "${COMPREPLY[@]#"$prefix"}" )
    fi
    if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *[=:] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

complete -o default -F %(complete_func)s %(prog_name)s
"""


# Typer's zsh shim for options (their help shown beside them); for anything else the values
# as the bash protocol prints them, one a line, added by compadd: those ending in = or : with
# no space after them, so that the value goes on; nothing offered leaves it to file names.
ZSH_SCRIPT = r"""
#compdef %(prog_name)s

%(complete_func)s() {
    local -a values
    if [[ ${words[CURRENT]} == -* ]]; then
        eval $(env _TYPER_COMPLETE_ARGS="${words[1,$CURRENT]}" \
                   %(autocomplete_var)s=complete_zsh %(prog_name)s)
        return
    fi
    values=( ${(f)"$(env COMP_WORDS="${words[1,$CURRENT]}" COMP_CWORD=$((CURRENT - 1)) \
                         %(autocomplete_var)s=complete_bash %(prog_name)s)"} )
    if (( ! ${#values} )); then
        _files
        return
    fi
    compadd -S '' -- ${(M)values:#*[=:]}
    compadd -- ${values:#*[=:]}
}

compdef %(complete_func)s %(prog_name)s
"""

OWN_SCRIPTS = {"bash": BASH_SCRIPT, "zsh": ZSH_SCRIPT}


def use_own_scripts() -> None:
    """Make ``--show-completion``/``--install-completion`` (and so ``completions/``) give
    :data:`BASH_SCRIPT` for bash and :data:`ZSH_SCRIPT` for zsh: Typer keeps its scripts in
    a private table, and offers no other way. Should a Typer release move the table, the
    shells get Typer's own scripts rather than every command failing at import;
    ``tests/cli/test_completion.py`` then fails."""
    scripts = getattr(_completion_shared, "_completion_scripts", None)
    if isinstance(scripts, dict):
        scripts.update({shell: script for shell, script in OWN_SCRIPTS.items() if shell in scripts})
