#!/bin/bash
# Vendored verbatim from the workplace's shared/s3/ceph-stop.sh (only these two header lines added):
# CI runs on a fresh clone where ../shared may not exist.
# stop daemons started by ceph-start.sh, by PID file
D=${1:?usage: ceph-stop.sh DIR}
for f in "$D"/run/*.pid; do [ -f "$f" ] || continue; p=$(cat "$f"); kill "$p" 2>/dev/null && echo "killed $(basename $f .pid) pid $p"; done
for i in $(seq 1 50); do alive=0; for f in "$D"/run/*.pid; do [ -f "$f" ] && kill -0 "$(cat $f)" 2>/dev/null && alive=1; done; [ $alive = 0 ] && break; sleep 0.2; done
