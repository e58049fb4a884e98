# $1 name, $2 config file, $3 owner file: pulls the plug and removes the saved config and owner. Prints destroyed | absent.
n="$1"; cfg="$2"; own="$3"
if xl domid "$n" >/dev/null 2>&1; then xl destroy "$n" || exit 1; echo destroyed; else echo absent; fi
rm -f "$cfg" "$own"
