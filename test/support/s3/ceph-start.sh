#!/bin/bash
# Vendored verbatim from the workplace's shared/s3/ceph-start.sh (only these two header lines added):
# CI runs on a fresh clone where ../shared may not exist.
# A real S3-compatible object store for tests: single-node Ceph (1 mon, 1 osd, optional mgr) + radosgw
# on loopback, no systemd. Needs (as root): apt-get install -y --no-install-recommends ceph-mon ceph-osd radosgw ceph-common
# Usage: ceph-start.sh DIR [bluestore|memstore] [nomgr|mgr]   (stop: ceph-stop.sh DIR)
# Env: RGW_PORT (7480), AK / SK (the S3 access and secret key created). Client settings:
#   endpoint http://127.0.0.1:$RGW_PORT, forcePathStyle true, region us-east-1.
# Known: CompleteMultipartUpload answers an empty ETag (HeadObject afterwards gives the right one).
set -euo pipefail
D=${1:?usage: ceph-start.sh DIR [bluestore|memstore] [nomgr|mgr]}
STORE=${2:-bluestore}
MGR=${3:-nomgr}
RGW_PORT=${RGW_PORT:-7480}
AK=${AK:-cacheaccesskey}
SK=${SK:-cachesecretkey}
T0=$(date +%s%N)
ts() { local ms=$(( ($(date +%s%N) - T0) / 1000000 )); printf '[%4d.%03ds] %s\n' $((ms/1000)) $((ms%1000)) "$*"; }
uuid() { cat /proc/sys/kernel/random/uuid; }
rm -rf "$D"; mkdir -p "$D"/{mon/ceph-a,osd/ceph-0,mgr/ceph-x,run,log}
FSID=$(uuid)
cat > "$D/ceph.conf" <<EOF
[global]
fsid = $FSID
mon host = v2:127.0.0.1:3300
public network = 127.0.0.0/8
auth cluster required = none
auth service required = none
auth client required = none
run dir = $D/run
admin socket = $D/run/\$cluster-\$name.asok
log file = $D/log/\$cluster-\$name.log
pid file = $D/run/\$cluster-\$name.pid
ms bind ipv6 = false
ms mon client mode = crc
mon data avail warn = 5
paxos propose interval = 0.1
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon max pg per osd = 1000
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
mon data = $D/mon/\$cluster-\$id
osd data = $D/osd/\$cluster-\$id
mgr data = $D/mgr/\$cluster-\$id
[mon]
mon cluster log file = $D/log/\$cluster.log
[osd]
osd objectstore = $STORE
memstore device bytes = 2147483648
bluestore block path = $D/osd/\$cluster-\$id/block.file
bluestore block create = true
bluestore block size = 10737418240
bluestore fsck on mkfs = false
bluestore fsck on mount = false
osd memory target = 939524096
osd op num shards = 1
osd op num threads per shard = 2
[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw enable usage log = false
rgw dns name = localhost
EOF
C="-c $D/ceph.conf"
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:3300]" "$D/monmap" >/dev/null
ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-mon $C --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring"
ceph-mon $C -i a            # daemonizes; pid in $D/run/ceph-mon.a.pid
ts "mon started"
ceph $C -s --connect-timeout 30 >/dev/null
ts "mon quorum"
if [ "$MGR" = mgr ]; then ceph-mgr $C -i x; ts "mgr started"; fi
OSD_UUID=$(uuid)
OSD_ID=$(ceph $C osd new "$OSD_UUID")
ceph-osd $C -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" 2>&1 | grep -v -E 'created object store|^$' || true
ts "osd mkfs done"
ceph-osd $C -i "$OSD_ID"
for i in $(seq 1 120); do ceph $C osd stat -f json | grep -q '"num_up_osds":1' && break; sleep 0.5; done
ts "osd up"
if true; then  # pre-create rgw pools: avoids ~2 s stalls on first CreateBucket/PUT/multipart
  for p in .rgw.root default.rgw.control default.rgw.meta default.rgw.log default.rgw.buckets.index default.rgw.buckets.data default.rgw.buckets.non-ec; do
    ceph $C osd pool create $p 8 >/dev/null 2>&1; ceph $C osd pool application enable $p rgw >/dev/null 2>&1
  done
  ts "rgw pools pre-created"
fi
radosgw $C -n client.rgw.a   # daemonizes after connecting; pid in $D/run/ceph-client.rgw.a.pid
for i in $(seq 1 240); do curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT/" && break; sleep 0.5; done
ts "radosgw answering on 127.0.0.1:$RGW_PORT"
timeout 60 radosgw-admin $C user create --uid=cache --display-name=cache --access-key="$AK" --secret-key="$SK" >/dev/null
ts "s3 user created (AK=$AK)"
