# stop_container NAME TIMEOUT: prints graceful | killed | already-stopped.
stop_container() {
  local sn st
  sn=$1
  st=$(lxc-info -n "$sn" -s 2>/dev/null) || true
  case $st in *RUNNING*|*STARTING*|*FREEZING*|*FROZEN*|*THAWED*|*STOPPING*) ;; *) echo already-stopped; return 0 ;; esac
  # -t 0 would not wait at all: a zero timeout means kill right away.
  if [ "$2" -gt 0 ] && lxc-stop -n "$sn" --nokill -t "$2" >/dev/null 2>&1 && lxc-wait -n "$sn" -s STOPPED -t 5 >/dev/null 2>&1; then echo graceful; return 0; fi
  lxc-stop -n "$sn" -k >/dev/null 2>&1 || true
  lxc-wait -n "$sn" -s STOPPED -t 10 >/dev/null 2>&1 || true
  st=$(lxc-info -n "$sn" -s 2>/dev/null) || true
  case $st in *STOPPED*) echo killed ;; *) echo "container $sn did not stop: $st" >&2; return 9 ;; esac
}
