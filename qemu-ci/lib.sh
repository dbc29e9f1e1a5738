# SPDX-License-Identifier: GPL-2.0
# Shared settings for the qemu-ci scripts. Sourced, never executed.

# Where the pinned kernel tree, the build directory and guest artefacts live.
# Outside the repository so that rebuilds are incremental across clones.
CACHE=${IOMMU_RS_CACHE:-/var/cache/iommu-rs}
KVER_WANT=7.3
KSRC=$CACHE/linux-src
# A kernel variant: qemu-ci/config/variants/$IOMMU_RS_VARIANT.config over the
# base fragments, built in its own directory (qemu-ci/build --variant NAME).
VARIANT=${IOMMU_RS_VARIANT:-}
# The guest architecture (qemu-ci/build --arch): arm64, QEMU virt with an
# SMMUv3, or x86_64, QEMU q35 with an Intel VT-d. Each has its own config
# fragments (x86_64: qemu-ci/config/x86_64/), build directory and guest files.
GUEST_ARCH=${IOMMU_RS_ARCH:-arm64}
case "$GUEST_ARCH" in
arm64) KARCH=arm64 KTARGET=Image KIMAGE=arch/arm64/boot/Image ARCH_SUFFIX= ;;
x86_64) KARCH=x86_64 KTARGET=bzImage KIMAGE=arch/x86/boot/bzImage ARCH_SUFFIX=-x86_64 ;;
*) printf '[qemu-ci] error: unknown architecture %s (arm64 or x86_64)\n' "$GUEST_ARCH" >&2; exit 1 ;;
esac
KOUT=$CACHE/build$ARCH_SUFFIX${VARIANT:+-$VARIANT}
GUEST=$CACHE/guest$ARCH_SUFFIX
LOGS=$CACHE/logs
CARGO_BIN=${CARGO_HOME:-$HOME/.cargo}/bin
BINDGEN=$CARGO_BIN/bindgen
BINDGEN_VERSION=0.72.1

# The repository this script belongs to.
_libdir=${BASH_SOURCE[0]%/*}
[ "$_libdir" != "${BASH_SOURCE[0]}" ] || _libdir=.
REPO=$(cd "$_libdir/.." && pwd)
# The kernel config fragments of GUEST_ARCH (variants in $CONFIGS/variants/).
CONFIGS=$REPO/qemu-ci/config${ARCH_SUFFIX:+/$GUEST_ARCH}

# make(1) arguments for the kernel: Debian's rustc-web (matches rust-web-src),
# LLVM 19, bindgen from crates.io. CLIPPY=1 with Debian's clippy of the same
# version lints every Rust object as it is built, at no extra cost.
KMAKE=(make -C "$KSRC" O="$KOUT" ARCH=$KARCH LLVM=-19
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

# --- patches to existing kernel files (patches/*.patch) ---------------------
# The overlay adds files of its own; files the kernel already has are changed
# only by the patches in patches/, one kernel file per patch, each a mail that
# `git am` takes on a Linux 7.3 tree (qemu-ci/refresh-patches writes them).
PATCHES=$REPO/patches

# patch_target PATCH: the one kernel file PATCH changes.
patch_target() {
	local t
	t=$(sed -n 's#^diff --git a/\([^ ]*\) b/.*#\1#p' "$1")
	[ -n "$t" ] && [ "$(printf '%s\n' "$t" | wc -l)" = 1 ] ||
		die "$1 must change exactly one kernel file (it changes: ${t:-none})"
	printf '%s\n' "$t"
}

# patch_targets PATCH...: the kernel files the patches change, one per line.
patch_targets() {
	local p
	for p in "$@"; do patch_target "$p"; done
}

# run_patches BASE OUT [PRISTINE] PATCH...: apply PATCH... to copies of BASE's
# files (the tree's originals) in a scratch git repository, with a 3-way merge
# where a patch's context does not match, and write the patched files to OUT.
# The merge needs the 7.3 file each patch was made against (its "index" line):
# it is found in the git objects of $PATCH_GIT_OBJECTS (a kernel tree's git
# repository) and among the files of directory PRISTINE ("" for none). Stops,
# saying which patch and file, when the tree does not take a patch.
run_patches() {
	local base=$1 out=$2 pristine=$3 w f p err
	shift 3
	w=$(mktemp -d)
	git -C "$w" init -q
	if [ -n "${PATCH_GIT_OBJECTS:-}" ]; then
		echo "$PATCH_GIT_OBJECTS" >"$w/.git/objects/info/alternates"
	fi
	if [ -n "$pristine" ] && [ -d "$pristine" ]; then
		find "$pristine" -type f ! -name '*.absent' -print0 |
			xargs -0r git -C "$w" hash-object -w --no-filters >/dev/null
	fi
	for f in $(patch_targets "$@"); do
		[ -f "$base/$f" ] || { rm -rf "$w"; die "the kernel tree has no $f, which patches/ changes"; }
		mkdir -p "$w/${f%/*}"
		cp "$base/$f" "$w/$f"
	done
	git -C "$w" add -A
	git -C "$w" -c user.name=base -c user.email=base@invalid commit -q --allow-empty -m base
	for p in "$@"; do
		f=$(patch_target "$p")
		if ! err=$(git -C "$w" apply --3way --whitespace=nowarn "$p" 2>&1); then
			printf '%s\n' "$err" >&2
			if grep -q '^<<<<<<<' "$w/$f" 2>/dev/null; then
				printf '[qemu-ci] the 3-way merge of %s left conflicts:\n' "$f" >&2
				grep -n -A6 -B3 '^<<<<<<<' "$w/$f" | head -n 40 >&2
			fi
			rm -rf "$w"
			die "this kernel tree does not take ${p#"$REPO"/} (it changes $f): its $f differs from Linux $KVER_WANT's where the patch changes it, and no 3-way merge resolved that. Apply the series from qemu-ci/export-patches with 'git am -3' in a git tree of the kernel, or resolve by hand"
		fi
	done
	for f in $(patch_targets "$@"); do
		mkdir -p "$out/${f%/*}"
		cp "$w/$f" "$out/$f"
	done
	rm -rf "$w"
}
