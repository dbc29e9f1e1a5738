# SPDX-License-Identifier: GPL-2.0
# Shared settings for the qemu-ci scripts. Sourced, never executed.

# Where the pinned kernel tree, the build directory and guest artefacts live.
# Outside the repository so that rebuilds are incremental across clones.
CACHE=${IOMMU_RS_CACHE:-/var/cache/iommu-rs}
KVER_WANT=7.3
KSRC=$CACHE/linux-src
KOUT=$CACHE/build
GUEST=$CACHE/guest
LOGS=$CACHE/logs
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
BINDGEN=$CARGO_BIN/bindgen
BINDGEN_VERSION=0.72.1

# The repository this script belongs to.
_libdir=${BASH_SOURCE[0]%/*}
[ "$_libdir" != "${BASH_SOURCE[0]}" ] || _libdir=.
REPO=$(cd "$_libdir/.." && pwd)

# make(1) arguments for the kernel: Debian's rustc-web (matches rust-web-src),
# LLVM 19, bindgen from crates.io. CLIPPY=1 with Debian's clippy of the same
# version lints every Rust object as it is built, at no extra cost.
KMAKE=(make -C "$KSRC" O="$KOUT" ARCH=arm64 LLVM=-19
	RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc HOSTRUSTC=/usr/bin/rustc
	CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver RUSTFMT=/usr/bin/rustfmt
	BINDGEN="$BINDGEN" RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
	-j"$(nproc 2>/dev/null || echo 2)")
export LIBCLANG_PATH=/usr/lib/llvm-19/lib

log() { printf '[qemu-ci] %s\n' "$*" >&2; }
die() { printf '[qemu-ci] error: %s\n' "$*" >&2; exit 1; }

# need TOOL... : fail with the list of missing tools and how to get them.
need() {
	local missing=() t
	for t in "$@"; do
		command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] ||
		die "missing tool(s): ${missing[*]} (run qemu-ci/setup to install them)"
}

# The two lines qemu-ci/apply adds to a kernel tree's top-level files.
HOOK_COMMENT='# Rust IOMMU drivers overlay (iommu-rs, qemu-ci/apply)'
HOOK_Kconfig='source "iommu-rs/Kconfig"'
HOOK_Kbuild='include $(srctree)/iommu-rs/Kbuild'

# unhook FILE: print FILE without the block qemu-ci/apply appended to it.
unhook() {
	awk -v c="$HOOK_COMMENT" '
		$0 == c { skip = 1; if (blank) blank = 0; next }
		skip { skip = 0; next }
		{ if (blank) print ""; blank = 0 }
		/^$/ { blank = 1; next }
		{ print }
		END { if (blank) print "" }' "$1"
}
