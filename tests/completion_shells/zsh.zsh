# Completes one command line in an interactive zsh (on a pseudo-terminal) that loaded the script
# `kubectl-bluegreen completion zsh` printed, and prints the candidates, one per line: every
# `compadd` that adds matches also prints them, marked, to the terminal read here.
# Usage: zsh -f zsh.zsh FPATH_DIR LINE (LINE as typed before pressing TAB)
zmodload zsh/zpty || exit 3
zmodload zsh/datetime
dir=$1 line=$2
found=()
# Reads the terminal until a line contains $1, collecting the marked candidates.
upto() {
  local l deadline=$(( EPOCHREALTIME + 20 ))
  while (( EPOCHREALTIME < deadline )); do
    if ! zpty -r -t z l; then sleep 0.02; continue; fi
    l=${l//$'\r'/}
    [[ $l == *CAND:* ]] && found+=("${${l##*CAND:}%%$'\n'}")
    [[ $l == *$1* ]] && return 0
  done
  print -u2 "no $1 within 20s"
  return 1
}
zpty z zsh -f -i
# The markers are typed split ('SY''NC1') so that the echo of the typed line never matches.
zpty -w z "PS1='' RPS1='' PROMPT_EOL_MARK=''; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D; print SY''NC1"
upto SYNC1 || exit 4
zpty -w z 'compadd() { if (( ${@[(I)-[ODA]*]} )); then builtin compadd "$@"; return; fi; local -a got; builtin compadd -O got "$@"; local w; for w in $got; do print -r -- "CA""ND:$w"; done; builtin compadd "$@"; }'
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; LISTMAX=10000; probe() { zle complete-word; print; print -r -- TA''BDONE; }; zle -N probe; bindkey '^I' probe; print SY''NC2"
upto SYNC2 || exit 5
found=()
zpty -w -n z "$line"$'\t'
upto TABDONE || exit 6
zpty -w -n z $'\C-u'
zpty -w z "print EN''D"
upto END || exit 7
zpty -d z
print -rl -- ${(u)found}
