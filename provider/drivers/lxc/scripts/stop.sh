# $1 name, $2 timeout seconds. Prints graceful | killed | already-stopped.
. ./stop-container.sh

stop_container "$1" "$2"
