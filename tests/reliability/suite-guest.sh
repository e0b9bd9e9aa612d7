#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The "suite" VM of tests/reliability/run: runs the guest-only parts one
# after another, each writing its KTAP to RESDIR/PART.ktap, with the
# module unloaded and loaded again between parts so that each starts from
# a fresh module.  Runs INSIDE the VM, from the repository.
#
#   suite-guest.sh RESDIR PARTS SEED KILLS_PRE KILLS_POST FUZZ_ROOT \
#                  FUZZ_NOBODY RACE_ROUNDS CYCLES
#   PARTS: comma-separated, of faults fuzz priv load
set -u

RES=$1 PARTS=$2 SEED=$3 KILLS_PRE=$4 KILLS_POST=$5 FUZZ_ROOT=$6
FUZZ_NOBODY=$7 RACE_ROUNDS=$8 CYCLES=$9
HERE=$(dirname "$0")
rc=0

fresh_module() {
	grep -q '^snapfreeze ' /proc/modules && rmmod snapfreeze
	insmod "${SF_MODULE:-$PWD/kmod/snapfreeze.ko}"
}

for part in faults fuzz priv load; do
	[[ ,$PARTS, == *,$part,* ]] || continue
	echo "suite: --- $part"
	fresh_module || echo "suite: cannot reload the module before $part"
	start=$SECONDS
	case $part in
	faults) args=("$SEED" "$KILLS_PRE" "$KILLS_POST") ;;
	fuzz) args=("$SEED" "$FUZZ_ROOT" "$FUZZ_NOBODY") ;;
	priv) args=() ;;
	load) args=("$SEED" "$RACE_ROUNDS" "$CYCLES") ;;
	esac
	SF_REL_KTAP=$RES/$part.ktap "$HERE/$part-guest.sh" ${args[@]+"${args[@]}"} || rc=1
	echo "suite: $part took $((SECONDS - start)) s"
	echo "# $part took $((SECONDS - start)) s in the guest" >>"$RES/$part.ktap"
done
exit $rc
