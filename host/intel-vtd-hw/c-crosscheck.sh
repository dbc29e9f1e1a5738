#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs the Rust VT-d hw/ checks' vectors through the C driver's own macros and inline helpers
# (drivers/iommu/intel/iommu.h and pasid.h of the kernel tree KDIR, by default
# /var/cache/iommu-rs/linux-src) and compares with the values the Rust checks expect. The C
# driver is the reference: a mismatch fails the script.
#
# Environment: KDIR, CC (default cc).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
KDIR=${KDIR:-/var/cache/iommu-rs/linux-src}
CC=${CC:-cc}
[ -f "$KDIR/drivers/iommu/intel/iommu.h" ] || {
	echo "error: no kernel tree at $KDIR" >&2
	exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/c/extract.py" "$KDIR" >"$tmp/c_defs.h"
"$CC" -Wall -Werror -I"$tmp" -o "$tmp/check" "$here/c/check.c"
"$tmp/check" >"$tmp/out" || {
	grep -v '^ok ' "$tmp/out"
	exit 1
}
echo "C driver agrees: $(grep -c '^ok ' "$tmp/out") values"
