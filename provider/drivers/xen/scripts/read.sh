# $1 domain name, $2 its config file: `xl list`, `xl list -l` (JSON), `xl uptime` and the saved config, in sections
# framed by @@ lines. Read-only.
n="$1"; cfg="$2"
if [ -f "$cfg" ]; then echo @@config; cat "$cfg"; fi
if [ -f "${cfg%.cfg}.owner" ]; then echo @@owner; cat "${cfg%.cfg}.owner"; fi
if ! out=$(xl list "$n" 2>&1); then
  case "$out" in *"invalid domain identifier"*) echo @@absent; exit 0;; esac
  echo @@error; printf '%s\n' "$out"; exit 0
fi
echo @@list; printf '%s\n' "$out"
echo @@long; xl list -l "$n"
echo @@uptime; xl uptime "$n"
