# bash completion for the mcr tools: mcrset, mcrget, mcrdel, mcrverify, mcrcopy, mcrstat
# SPDX-License-Identifier: ISC
#
# One line per tool lists its long options, one option per word: the common
# options first, then the tool's own.  Keep them equal to `TOOL --help` and to
# man/TOOL.1.
_mcr_opts_mcrset='--servers --config --config-file --replicas --distribution --hash --ketama-compatible --namespace --behavior --sort-hosts --timeout --username --password-file --format --verbose --quiet --help --version --file --add --replace --append --prepend --expire --flags --min-copies --batch'
_mcr_opts_mcrget='--servers --config --config-file --replicas --distribution --hash --ketama-compatible --namespace --behavior --sort-hosts --timeout --username --password-file --format --verbose --quiet --help --version --output --all --where --copy --server'
_mcr_opts_mcrdel='--force --dry-run --servers --config --config-file --replicas --distribution --hash --ketama-compatible --namespace --behavior --sort-hosts --timeout --username --password-file --format --verbose --quiet --help --version'
_mcr_opts_mcrstat='--servers --config --config-file --replicas --distribution --hash --ketama-compatible --namespace --behavior --sort-hosts --timeout --username --password-file --format --verbose --quiet --help --version --since --sample'
_mcr_opts_mcrverify='--servers --config --config-file --replicas --distribution --hash --ketama-compatible --namespace --behavior --sort-hosts --timeout --username --password-file --format --verbose --quiet --help --version --keys-from --all --shard --match --recheck-delay --confirm-delay --prometheus --prometheus-label --progress --no-progress --rate --batch --batch-bytes --misplaced-limit --repair --remove-strays --compare-ttl --dry-run'
_mcr_opts_mcrcopy='--servers --config --config-file --replicas --distribution --hash --ketama-compatible --namespace --behavior --sort-hosts --timeout --username --password-file --format --verbose --quiet --help --version --keys-from --all --shard --match --to --to-replicas --to-distribution --to-hash --from --rebuild --confirm-delay --overwrite --verify --failed --dry-run --no-end-mark --heal --state --watch --prometheus --prometheus-label --rate --batch --batch-bytes --progress --no-progress --misplaced-limit'

# Options that take a value (names without the dashes), and short options that do:
# the common ones, then each tool's own (mcrset's --batch takes none, mcrverify's does).
_mcr_valued=' servers config config-file replicas distribution hash namespace behavior timeout username password-file format '
_mcr_valued_short=' -s -r -t -u '
_mcr_valued_mcrset=' file expire flags min-copies '
_mcr_valued_short_mcrset=' -e -f -w '
_mcr_valued_mcrget=' output copy server '
_mcr_valued_short_mcrget=' -o '
_mcr_valued_mcrverify=' keys-from shard match recheck-delay confirm-delay prometheus prometheus-label rate batch batch-bytes misplaced-limit '
_mcr_valued_short_mcrverify=' -k '
_mcr_valued_mcrcopy=' keys-from shard match to to-replicas to-distribution to-hash from rebuild confirm-delay failed state watch prometheus prometheus-label rate batch batch-bytes misplaced-limit '
_mcr_valued_short_mcrcopy=' -k '
_mcr_valued_mcrstat=' since sample '
# Options whose value is optional: only --opt=value gives one.
_mcr_optional_mcrverify=' repair compare-ttl '

# The libmemcached behaviours --behavior takes (NAME=VALUE), those that change placement first.
_mcr_behaviors='NUMBER_OF_REPLICAS= DISTRIBUTION= HASH= KETAMA= KETAMA_WEIGHTED= KETAMA_HASH= HASH_WITH_PREFIX_KEY= SORT_HOSTS= NO_BLOCK= TCP_NODELAY= SOCKET_SEND_SIZE= SOCKET_RECV_SIZE= CACHE_LOOKUPS= SUPPORT_CAS= POLL_TIMEOUT= BUFFER_REQUESTS= USER_DATA= VERIFY_KEY= CONNECT_TIMEOUT= RETRY_TIMEOUT= BINARY_PROTOCOL= SND_TIMEOUT= RCV_TIMEOUT= SERVER_FAILURE_LIMIT= IO_MSG_WATERMARK= IO_BYTES_WATERMARK= IO_KEY_PREFETCH= NOREPLY= USE_UDP= AUTO_EJECT_HOSTS= RANDOMIZE_REPLICA_READ= CORK= TCP_KEEPALIVE= TCP_KEEPIDLE= LOAD_FROM_FILE= REMOVE_FAILED_SERVERS= DEAD_TIMEOUT= SERVER_TIMEOUT_LIMIT='

# The cluster's servers, as HOST:PORT (no weight): from -s/--servers on the command line, else
# $MEMCACHED_SERVERS; for --rebuild and --server.
_mcr_servers() {
	local list= i w e
	for ((i = 1; i < ${#COMP_WORDS[@]}; i++)); do
		w=${COMP_WORDS[i]}
		case $w in
		--servers=*) list=${w#--servers=} ;;
		-s?*) list=${w#-s} ;;
		-s | --servers)
			list=${COMP_WORDS[i + 1]}
			[[ $list == = ]] && list=${COMP_WORDS[i + 2]}
			;;
		esac
	done
	[[ -n $list ]] || list=${MEMCACHED_SERVERS:-}
	local IFS=,
	for e in $list; do
		case $e in
		/*) echo "$e" ;;
		\[*) echo "${e%%]*}]${e#*]}" | sed 's/^\(\[[^]]*\]:[0-9]*\):.*/\1/' ;;
		*:*:*) echo "${e%:*}" ;;
		*) echo "$e" ;;
		esac
	done
}

# _mcr_values NAME CUR: fill COMPREPLY with the values of option NAME that start with CUR
_mcr_values() {
	local words=
	case $1 in
	behavior)
		words=$_mcr_behaviors
		compopt -o nospace 2>/dev/null
		;;
	rebuild | server)
		local IFS=$'\n'
		COMPREPLY=($(compgen -W "$(_mcr_servers)" -- "$2"))
		return
		;;
	format) words='text tsv json' ;;
	distribution | to-distribution) words='modula consistent ketama ketama-weighted ketama-spy' ;;
	hash | to-hash) words='default md5 crc fnv1_64 fnv1a_64 fnv1_32 fnv1a_32 hsieh murmur jenkins murmur3' ;;
	min-copies | w) words='all majority' ;;
	repair) words='missing primary majority' ;;
	from) words='-' ;;
	config-file | password-file | file | output | o | keys-from | k | prometheus | failed)
		compopt -o filenames 2>/dev/null
		local IFS=$'\n'
		COMPREPLY=($(compgen -f -- "$2"))
		return
		;;
	*) COMPREPLY=() && return ;;
	esac
	COMPREPLY=($(compgen -W "$words" -- "$2"))
}

_mcr() {
	local tool=${1:-${COMP_WORDS[0]}} cur prev opt opts w i valued valued_short optional
	tool=${tool##*/}
	COMPREPLY=()
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=
	((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
	case $tool in
	mcrset) opts=$_mcr_opts_mcrset ;;
	mcrget) opts=$_mcr_opts_mcrget ;;
	mcrdel) opts=$_mcr_opts_mcrdel ;;
	mcrverify) opts=$_mcr_opts_mcrverify ;;
	mcrcopy) opts=$_mcr_opts_mcrcopy ;;
	mcrstat) opts=$_mcr_opts_mcrstat ;;
	*) return ;;
	esac
	valued=$_mcr_valued
	valued_short=$_mcr_valued_short
	optional=
	case $tool in
	mcrset) valued+=$_mcr_valued_mcrset valued_short+=$_mcr_valued_short_mcrset ;;
	mcrget) valued+=$_mcr_valued_mcrget valued_short+=$_mcr_valued_short_mcrget ;;
	mcrverify)
		valued+=$_mcr_valued_mcrverify valued_short+=$_mcr_valued_short_mcrverify
		optional=$_mcr_optional_mcrverify
		;;
	mcrcopy) valued+=$_mcr_valued_mcrcopy valued_short+=$_mcr_valued_short_mcrcopy ;;
	mcrstat) valued+=$_mcr_valued_mcrstat ;;
	esac

	# --opt=value, split by readline at '=' (the default COMP_WORDBREAKS) or not
	if [[ $cur == = && $prev == --* ]]; then
		_mcr_values "${prev#--}" ''
		return
	fi
	if [[ $prev == = ]] && ((COMP_CWORD > 1)) && [[ ${COMP_WORDS[COMP_CWORD - 2]} == --* ]]; then
		_mcr_values "${COMP_WORDS[COMP_CWORD - 2]#--}" "$cur"
		return
	fi
	if [[ $cur == --*=* ]]; then
		opt=${cur%%=*}
		_mcr_values "${opt#--}" "${cur#*=}"
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=$opt=${COMPREPLY[i]}
		done
		return
	fi

	# --opt value and -o value
	if [[ $prev == --* && $valued == *" ${prev#--} "* ]]; then
		_mcr_values "${prev#--}" "$cur"
		return
	fi
	if [[ $prev == -? && $valued_short == *" $prev "* ]]; then
		_mcr_values "${prev#-}" "$cur"
		return
	fi

	if [[ $cur == -* ]]; then
		for w in $opts; do
			[[ $w == "$cur"* ]] || continue
			if [[ $valued == *" ${w#--} "* ]]; then
				COMPREPLY+=("$w=")
			elif [[ $optional == *" ${w#--} "* ]]; then
				COMPREPLY+=("$w" "$w=")
			else
				COMPREPLY+=("$w")
			fi
		done
		[[ " ${COMPREPLY[*]} " == *"= "* ]] && compopt -o nospace 2>/dev/null
		return
	fi

	# mcrset --batch FILE
	if [[ $tool == mcrset ]]; then
		for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
			if [[ $w == --batch ]]; then
				_mcr_values file "$cur"
				return
			fi
		done
	fi
}

complete -F _mcr mcrset mcrget mcrdel mcrverify mcrcopy mcrstat
