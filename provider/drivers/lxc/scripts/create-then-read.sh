# create.sh in a subshell (its exits end only it), then read.sh for its container ($1): the state after the
# change in the same round trip.
(
. ./create.sh
) || exit $?
set -- "$1"
. ./read.sh
