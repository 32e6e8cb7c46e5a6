#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Finding 2 on a stock kernel (docs/upstream/finding-2.md): an invalidated persistent snapshot
# comes back valid, with the origin's new data, when the COW's volatile write cache loses the
# header write that invalidated it.
#
#   finding-2-repro.sh ORIGIN COW SAVE
# ORIGIN: a block device of at least 4 MiB; COW and SAVE: at least 64 KiB each. Their contents
# are destroyed. For loop devices:
#   truncate -s 4M o.img; truncate -s 64K c.img s.img
#   sh finding-2-repro.sh $(losetup -f --show o.img) $(losetup -f --show c.img) $(losetup -f --show s.img)
# Needs dmsetup and dd (coreutils or busybox). Prints "REPRODUCED" or "NOT REPRODUCED".
#
# The power cut is modelled, not pulled: the COW's durable content at the crash is what the COW
# held after its last FLUSH|FUA area write (saved to SAVE just before the overflowing write),
# because the only write the COW receives after that is the invalidating header write, and it
# carries neither FLUSH nor FUA and no flush of the COW follows it (dm-log-writes shows this:
# `snapsim kernel replay scenarios/findings/invalidation-lost-in-cow-cache.case.json`).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 ORIGIN COW SAVE" >&2; exit 2; }
O=$1 C=$2 S=$3
CHUNK=8                        # sectors: 4 KiB chunks, so page-sized direct writes fit
OSZ=8192                       # the snapshot covers 4 MiB of ORIGIN
dd if=/dev/zero of="$C" bs=4096 count=16 conv=fsync 2>/dev/null   # 64 KiB: header, area 0, 14 data chunks
dd if=/dev/zero of="$O" bs=4096 count=1024 conv=fsync 2>/dev/null # the point-in-time image: zeros

# The origin and the snapshot, as lvcreate does it (origin resumed after the snapshot exists).
dmsetup create r2-origin --table "0 $OSZ snapshot-origin $O"
dmsetup suspend r2-origin
dmsetup create r2-snap --table "0 $OSZ snapshot $O $C P $CHUNK"
dmsetup resume r2-origin

# Chunks 0..13 of the origin: 14 exceptions fill the COW exactly; each commit is a FLUSH|FUA
# area write.
pattern() { awk -v n="$1" 'BEGIN { for (i = 0; i < 4096; i++) printf "%c", 65 + n % 26 }'; }
for i in $(seq 0 13); do pattern "$i" | dd of=/dev/mapper/r2-origin bs=4096 seek="$i" count=1 iflag=fullblock oflag=direct 2>/dev/null; done
dmsetup status r2-snap
dd if="$C" of="$S" bs=4096 count=16 iflag=direct oflag=direct 2>/dev/null   # the COW's durable state

# Chunk 14 overflows the COW: the snapshot is invalidated (its header rewritten with valid=0)
# and the origin write goes ahead. Chunks 15..19 follow. Then the user flushes the origin.
for i in $(seq 14 19); do pattern "$i" | dd of=/dev/mapper/r2-origin bs=4096 seek="$i" count=1 iflag=fullblock oflag=direct 2>/dev/null; done
dd if=/dev/zero of=/dev/mapper/r2-origin bs=4096 count=0 conv=fsync 2>/dev/null   # FLUSH the origin
echo "before the power cut: $(dmsetup status r2-snap)"

# Power cut: the origin keeps what was flushed, the COW's cache loses the header write.
dmsetup remove r2-snap
dmsetup remove r2-origin
dd if="$S" of="$C" bs=4096 count=16 iflag=direct oflag=direct conv=fsync 2>/dev/null

# Reboot: activate again and read chunk 14 through the snapshot. The point-in-time image is zeros.
dmsetup create r2-origin --table "0 $OSZ snapshot-origin $O"
dmsetup suspend r2-origin
dmsetup create r2-snap --table "0 $OSZ snapshot $O $C P $CHUNK"
dmsetup resume r2-origin
status=$(dmsetup status r2-snap)
echo "after the power cut: $status"
first=$(dd if=/dev/mapper/r2-snap bs=4096 skip=14 count=1 iflag=direct 2>/dev/null | head -c 8)
dmsetup remove r2-snap
dmsetup remove r2-origin
case "$status" in
  *Invalid*) echo "NOT REPRODUCED: the snapshot stayed invalid" ;;
  *) if [ "$first" = "OOOOOOOO" ]; then
       echo "REPRODUCED: the snapshot is valid and its chunk 14 reads the origin's new data ($first...), not zeros"
     else
       echo "NOT REPRODUCED: snapshot chunk 14 reads '$first'"
     fi ;;
esac
