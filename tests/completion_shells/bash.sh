# Completes one command line with the bash script `kubectl-bluegreen completion bash` printed,
# the way bash's programmable completion calls it, and prints the candidates, one per line.
# Usage: bash --norc --noprofile bash.sh SCRIPT WORD... (the last word is the one completed)
source "$1" || exit 3
shift
spec=$(complete -p kubectl-bluegreen) || exit 4
fn=$(sed -E 's/.*-F ([^ ]+).*/\1/' <<<"$spec")
COMP_WORDS=("$@")
COMP_CWORD=$(($# - 1))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
prev=""
if [ "$COMP_CWORD" -gt 0 ]; then prev="${COMP_WORDS[COMP_CWORD - 1]}"; fi
COMPREPLY=()
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "$prev" || exit 5
printf '%s\n' "${COMPREPLY[@]}"
