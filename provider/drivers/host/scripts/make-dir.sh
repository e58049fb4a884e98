# $1 directory: creates it and its parents (a hypervisor's storage directory).
mkdir -p -- "$1"
