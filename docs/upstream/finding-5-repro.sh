#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Finding 5 on a stock kernel (docs/upstream/finding-5.md): after a torn area write, the stale
# exception-table entries past the terminator stay in the persistent store's in-memory area and
# are written back as part of the table by the next commit; once their COW chunk is handed out
# again, the snapshot returns another chunk's data.
#
#   finding-5-repro.sh ORIGIN COW SAVE
# ORIGIN: at least 4 MiB; COW and SAVE: at least 1 MiB each. Their contents are destroyed.
# For loop devices:
#   truncate -s 4M o.img; truncate -s 1M c.img s.img
#   sh finding-5-repro.sh $(losetup -f --show o.img) $(losetup -f --show c.img) $(losetup -f --show s.img)
# Needs dmsetup and dd. Prints "REPRODUCED" or "NOT REPRODUCED".
#
# Two power cuts are modelled by editing the COW while the snapshot is not active; each leaves a
# state the device contract allows (SPEC 4: only sectors are atomic; a plain write may or may not
# reach the medium before the power fails):
#  1. an area write of 4 new entries (slots 30..33, one FLUSH|FUA write of the area chunk) is torn:
#     its sector holding slots 0..31 keeps the old content (terminator at slot 30), its sector
#     holding slots 32..63 has the new content;
#  2. the copy of a later exception (a plain write into its COW chunk) reached the medium, its
#     area write did not.
set -eu
[ $# -eq 3 ] || { echo "usage: $0 ORIGIN COW SAVE" >&2; exit 2; }
O=$1 C=$2 S=$3
CHUNK=8       # sectors: 4 KiB chunks; an area is one chunk = 256 entries of 16 bytes, 32 a sector
OSZ=8192      # the snapshot covers 4 MiB of ORIGIN
AREA=8        # the sector where area 0 (COW chunk 1) starts
TMP=$(mktemp -d "${TMPDIR:-/tmp}/finding-5.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

# 4 KiB of one letter: lower case for a chunk's data when the snapshot is taken, upper case after.
fill() {
  [ -f "$TMP/$1" ] || awk -v c="$1" 'BEGIN { for (i = 0; i < 4096; i++) printf "%s", c }' >"$TMP/$1"
  cat "$TMP/$1"
}
letter() { awk -v n="$1" -v up="$2" 'BEGIN { printf "%c", (up ? 65 : 97) + n % 26 }'; }
put() {
  fill "$(letter "$1" "$2")" | dd of="$3" bs=4096 seek="$1" count=1 iflag=fullblock oflag=direct 2>/dev/null
}
activate() {
  dmsetup create r5-origin --table "0 $OSZ snapshot-origin $O"
  dmsetup suspend r5-origin
  dmsetup create r5-snap --table "0 $OSZ snapshot $O $C P $CHUNK"
  dmsetup resume r5-origin   # the origin takes the chunk size as its split size on resume
}
deactivate() { dmsetup remove r5-snap; dmsetup remove r5-origin; }

dd if=/dev/zero of="$C" bs=4096 count=256 conv=fsync 2>/dev/null
for i in $(seq 0 29) 100 101 102 103 200 201 202; do put "$i" 0 "$O"; done
activate
# 30 exceptions, one commit each: slots 0..29 of area 0 name COW chunks 2..31.
for i in $(seq 0 29); do put "$i" 1 /dev/mapper/r5-origin; done
dd if="$C" of="$TMP/area" bs=512 skip="$AREA" count=1 2>/dev/null     # the area's first sector
# One 16 KiB write over origin chunks 100..103: four exceptions (COW chunks 32..35), committed
# together by one area write that fills slots 30..33, across the area's first two sectors.
for i in 1 2 3 4; do fill X; done |
  dd of=/dev/mapper/r5-origin bs=16384 seek=25 count=1 iflag=fullblock oflag=direct 2>/dev/null
echo "before the first power cut: $(dmsetup status r5-snap)"
deactivate

# Power cut 1 during that area write: its first sector is old, its second new.
dd if="$TMP/area" of="$C" bs=512 seek="$AREA" count=1 conv=notrunc,fsync 2>/dev/null
activate
echo "after the first power cut: $(dmsetup status r5-snap) (slots 0..29 loaded; 32, 33 stale)"
# Two exceptions: slots 30 and 31, COW chunks 32 and 33. The area write now carries the stale
# slots 32 (chunk 102 -> COW 34) and 33 (103 -> 35) to the medium as part of the table.
put 200 1 /dev/mapper/r5-origin
put 201 1 /dev/mapper/r5-origin
dd if="$C" of="$S" bs=4096 count=256 iflag=direct oflag=direct 2>/dev/null   # durable so far
# One more exception: origin chunk 202 gets COW chunk 34, the next free one: its copy of 202's
# old data goes into COW chunk 34, then its area write names slot 32.
put 202 1 /dev/mapper/r5-origin
deactivate

# Power cut 2: the copy into COW chunk 34 reached the medium, the area write after it did not.
dd if="$C" of="$S" bs=4096 skip=34 seek=34 count=1 iflag=direct oflag=direct 2>/dev/null
dd if="$S" of="$C" bs=4096 count=256 iflag=direct oflag=direct conv=fsync 2>/dev/null
activate
echo "after the second power cut: $(dmsetup status r5-snap)"
got=$(dd if=/dev/mapper/r5-snap bs=4096 skip=102 count=1 iflag=direct 2>/dev/null | head -c 1)
deactivate
want=$(letter 102 0)
other=$(letter 202 0)
if [ "$got" = "$want" ]; then
  echo "NOT REPRODUCED: snapshot chunk 102 reads its own data ('$got')"
elif [ "$got" = "$other" ]; then
  echo "REPRODUCED: snapshot chunk 102 reads origin chunk 202's data ('$got'), not its own ('$want')"
else
  echo "NOT REPRODUCED as described: snapshot chunk 102 reads '$got' (its own data is '$want')"
fi
