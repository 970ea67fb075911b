#!/bin/zsh -f
# SPDX-License-Identifier: ISC
# zcomplete.zsh DIR LINE: what zsh's completion offers for LINE (a command line, completed at
# its end, as a TAB would), one candidate per line, with completions/_mcr from DIR in fpath.
# A real interactive zsh under zsh/zpty runs compinit; compadd is wrapped to print what the
# completion functions add. For tests/options.bats; exit 2 when zsh could not be driven.
zmodload zsh/zpty || exit 2
dir=$1 line=$2
zpty z zsh -f -i || exit 2
init=$(mktemp) || exit 2
trap 'rm -f $init; zpty -d z 2>/dev/null' EXIT
cat >$init <<INIT
PROMPT=
PS2=
unsetopt zle_bracketed_paste 2>/dev/null
fpath=($dir \$fpath)
autoload -Uz compinit
compinit -u -D
bindkey '^I' complete-word
null-line() { echo -E - \$'\0' }
compprefuncs=(null-line)
comppostfuncs=(null-line exit)
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
compadd() {
	if [[ \${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
		builtin compadd "\$@"
		return \$?
	fi
	typeset -a __hits
	builtin compadd -A __hits "\$@"
	local -A apre hpre hsuf asuf
	zparseopts -E P:=apre p:=hpre S:=asuf s:=hsuf
	local h
	for h in \$__hits; do
		echo -E - "\${IPREFIX}\${apre[-P]}\${hpre[-p]}\$h\${hsuf[-s]}\${asuf[-S]}"
	done
}
echo init-done
INIT
zpty -w z "source $init"
integer n=0
local out
while zpty -r -t z out; do :; done
repeat 600; do
	zpty -r -t z out && [[ $out == *init-done* ]] && break
	sleep 0.1
done
zpty -w -n z "$line"$'\t'
integer tog=0
local l
repeat 3000; do
	if zpty -r -t z l; then
		l=${l%$'\r'}
		l=${l%$'\n'}
		l=${l%$'\r'}
		if [[ $l == *$'\0'* ]]; then
			(( tog++ )) && exit 0
			continue
		fi
		(( tog )) && print -r -- "$l"
	else
		sleep 0.02
	fi
done
exit 2
