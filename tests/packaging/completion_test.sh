#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Test the bash completion (contrib/bash-completion/snapfreeze) against the
# helper it completes: the real user/snapfreeze, and a stand-in whose usage
# has a command and options the real one may not have yet, to show that
# they complete with no change to the completion.
#
#   bash -c '. completion; COMP_WORDS=(HELPER WORD...); _snapfreeze'
#        --> COMPREPLY, compared with what the helper's --help lists
#
# KTAP output (tests/lib/ktap.sh), last line "# Totals: ...".
set -u

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=tests/lib/ktap.sh
. "$REPO/tests/lib/ktap.sh"
COMPLETION=$REPO/contrib/bash-completion/snapfreeze
HELPER=$REPO/user/snapfreeze
T=$(mktemp -d /tmp/sf-compl.XXXXXX)
cleanup() { rm -rf "$T"; }
trap cleanup EXIT

# complete HELPER LINE: the candidates bash offers for LINE (the last word
# is the one being completed; a trailing space means an empty one), sorted,
# one per line.
complete_line() {
	bash --norc --noprofile -c '
		. "$1" || exit 1
		read -r -a COMP_WORDS <<<"$2"
		[[ $2 == *" " ]] && COMP_WORDS+=("")
		COMP_WORDS[0]=$3
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE=$2 COMP_POINT=${#2}
		_snapfreeze
		[ ${#COMPREPLY[@]} -eq 0 ] || printf "%s\n" "${COMPREPLY[@]}" | sort' _ "$COMPLETION" "$2" "$1"
}
# offers NAME HELPER LINE WORD...: every WORD is offered; "!WORD" is not.
offers() {
	local name=$1 helper=$2 line=$3 w ok=1
	shift 3
	complete_line "$helper" "$line" >"$T/got"
	for w in "$@"; do
		if [[ $w == !* ]]; then
			! grep -qxF -- "${w#!}" "$T/got" || { ktap_print_msg "offered ${w#!}"; ok=0; }
		else
			grep -qxF -- "$w" "$T/got" || { ktap_print_msg "did not offer $w"; ok=0; }
		fi
	done
	if [ "$ok" = 1 ]; then
		ktap_test_pass "$name"
	else
		ktap_print_msg "\"$line\" offered: $(tr '\n' ' ' <"$T/got")"
		ktap_test_fail "$name"
	fi
}

# A stand-in helper with what the real one may grow: a run command that
# takes a command line after --, --budget and --prometheus.
cat >"$T/snapfreeze" <<'STUB'
#!/bin/sh
cat <<'USAGE'
Usage:
  snapfreeze pre-script  [--execution-id ID] [--timeout SECONDS] [--target PATH]...
                         [--include-root] [--budget SECONDS]
      run the freeze hooks, then freeze the targets as one set
  snapfreeze run         [--execution-id ID] [--timeout SECONDS] [--target PATH]...
                         -- COMMAND [ARG]...
      freeze, run COMMAND, thaw
  snapfreeze status      [--json] [--prometheus]
      print the kernel's state

Options:
  --execution-id ID   None or a UUID
USAGE
STUB
chmod +x "$T/snapfreeze"

ktap_print_header
ktap_set_plan 15

if [ ! -x "$HELPER" ] && ! make -s -C "$REPO" user >/dev/null 2>&1; then
	for i in $(seq 1 9); do ktap_test_skip "the real helper, case $i" "user/snapfreeze does not build"; done
else
	# Test that the first word offers every command of the real helper.
	offers "commands of user/snapfreeze" "$HELPER" "snapfreeze " \
		pre-script post-script dry-run status monitor --help --version
	# Test that pre-script offers its options and no other command's.
	offers "pre-script's options" "$HELPER" "snapfreeze pre-script --" \
		--execution-id --timeout --target --include-root --hooks-dir --config \
		'!--force' '!--json'
	# Test that post-script offers its own.
	offers "post-script's options" "$HELPER" "snapfreeze post-script --" \
		--execution-id --force --hooks-dir --config '!--timeout' '!--target'
	# Test that dry-run takes pre-script's options.
	offers "dry-run's options" "$HELPER" "snapfreeze dry-run --" \
		--execution-id --timeout --target --include-root '!--force'
	# Test that status offers --json.
	offers "status's options" "$HELPER" "snapfreeze status --" --json '!--target'
	# Test that an execution id completes to None or a UUID.
	complete_line "$HELPER" "snapfreeze pre-script --execution-id " >"$T/got"
	ktap_test_result "--execution-id offers None and a UUID" \
		grep -qxE '[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}' "$T/got"
	# Test that a target completes to mount points (/ is one).
	offers "--target offers mount points" "$HELPER" "snapfreeze pre-script --target /" /
	# Test that --hooks-dir completes directories.
	offers "--hooks-dir offers directories" "$HELPER" \
		"snapfreeze post-script --hooks-dir /us" /usr
	# Test that an option given once is not offered again, --target is.
	offers "each option once, --target again" "$HELPER" \
		"snapfreeze pre-script --timeout 5 --target /a --t" --target '!--timeout'
fi

# Test that a command only the stand-in has is offered.
offers "a new command from the usage" "$T/snapfreeze" "snapfreeze " run pre-script status
# Test that a new option is offered for the commands that list it.
offers "a new option (--budget)" "$T/snapfreeze" "snapfreeze pre-script --b" --budget
offers "a new flag (--prometheus)" "$T/snapfreeze" "snapfreeze status --" --json --prometheus
# Test that a new option's value completes by its name (SECONDS: nothing).
complete_line "$T/snapfreeze" "snapfreeze pre-script --budget " >"$T/got"
ktap_test_result "--budget SECONDS offers nothing" test ! -s "$T/got"
# Test that after run ... -- a command name completes.
offers "a command after --" "$T/snapfreeze" "snapfreeze run --timeout 5 -- mkfs.ex" mkfs.ext4
# Test that run's options continued on the next line are read.
offers "run's options" "$T/snapfreeze" "snapfreeze run --" --execution-id --target '!--json'

ktap_finished
