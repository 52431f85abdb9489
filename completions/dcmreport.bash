_dcmreport_completion() {
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
                   _DCMREPORT_COMPLETE=complete_bash $1 ) )
    cur=${words[cword]}
    if [[ $COMP_WORDBREAKS == *:* && $cur == *:* ]]; then
        prefix=${cur%"${cur##*:}"}
        COMPREPLY=( "${COMPREPLY[@]#"$prefix"}" )
    fi
    if ((${#COMPREPLY[@]} == 1)) && [[ ${COMPREPLY[0]} == *[=:] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

complete -o default -F _dcmreport_completion dcmreport
