# $@ Debian packages: installs them without recommends (Hypervisor install: true, when the stack is missing).
apt-get install -y --no-install-recommends "$@"
