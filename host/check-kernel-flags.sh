#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Compiles a driver's pure `hw/` module on its own with the flags Kbuild gives a Rust driver
# crate, then runs clippy and rustfmt the way `make CLIPPY=1` and `make rustfmtcheck` do. Any
# warning fails the script.
#
# Usage: host/check-kernel-flags.sh [HW_DIR]; HW_DIR defaults to the SMMUv3 driver's `hw/`
# (drivers/iommu/intel-rs/hw is the VT-d driver's).
#
# When a kernel tree is present (KDIR, by default /var/cache/iommu-rs/linux-src), the flags are
# read from its top-level Makefile and scripts/Makefile.build, and its .rustfmt.toml and
# .clippy.toml are used; otherwise a copy of the Linux 7.3 flags is used.
#
# Environment: KDIR, RUSTC (default /usr/bin/rustc), CLIPPY_DRIVER (default clippy-driver from
# ~/.cargo/bin or PATH), RUSTFMT (default rustfmt from ~/.cargo/bin or PATH).

set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
hw=$(cd "${1:-$repo/drivers/iommu/arm/arm-smmu-v3-rs/hw}" && pwd)
KDIR=${KDIR:-/var/cache/iommu-rs/linux-src}
RUSTC=${RUSTC:-/usr/bin/rustc}
[ -x "$RUSTC" ] || RUSTC=rustc

find_tool() {
	if [ -x "$HOME/.cargo/bin/$1" ]; then
		echo "$HOME/.cargo/bin/$1"
	elif command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
	fi
}
CLIPPY_DRIVER=${CLIPPY_DRIVER:-$(find_tool clippy-driver)}
RUSTFMT=${RUSTFMT:-$(find_tool rustfmt)}

# Prints the value of a `VAR := ...` assignment of a Makefile, following `\` continuations.
make_var() {
	awk -v var="$2" '
		!found && $0 ~ "^(export[ \t]+)?" var "[ \t]*:=" {
			found = 1
			sub("^(export[ \t]+)?" var "[ \t]*:=", "")
		}
		found {
			cont = sub(/\\[ \t]*$/, "")
			printf "%s ", $0
			if (!cont) exit
		}
	' "$1"
}

if [ -f "$KDIR/Makefile" ] && [ -f "$KDIR/scripts/Makefile.build" ]; then
	common_flags=$(make_var "$KDIR/Makefile" rust_common_flags)
	features=$(make_var "$KDIR/scripts/Makefile.build" rust_allowed_features | tr -d ' ')
	fmt_config="$KDIR/.rustfmt.toml"
	clippy_conf_dir=$KDIR
	echo "flags from $KDIR"
else
	common_flags="--edition=2021 -Zbinary_dep_depinfo=y -Astable_features -Aunused_features
		-Dnon_ascii_idents -Dunsafe_op_in_unsafe_fn -Wmissing_docs -Wrust_2018_idioms
		-Wunreachable_pub -Wclippy::all -Wclippy::as_ptr_cast_mut -Wclippy::as_underscore
		-Wclippy::cast_lossless -Aclippy::collapsible_if -Aclippy::collapsible_match
		-Wclippy::ignored_unit_patterns -Aclippy::incompatible_msrv -Wclippy::mut_mut
		-Wclippy::needless_bitwise_bool -Aclippy::needless_lifetimes
		-Wclippy::no_mangle_with_rust_abi -Wclippy::ptr_as_ptr -Wclippy::ptr_cast_constness
		-Wclippy::ref_as_ptr -Wclippy::undocumented_unsafe_blocks -Aclippy::uninlined_format_args
		-Wclippy::unnecessary_safety_comment -Wclippy::unnecessary_safety_doc
		-Aclippy::unwrap_or_default -Wrustdoc::missing_crate_level_docs
		-Wrustdoc::unescaped_backticks"
	features=arbitrary_self_types,asm_goto,generic_arg_infer,used_with_arg
	fmt_config=
	clippy_conf_dir=
	echo "no kernel tree at $KDIR: using the built-in copy of the Linux 7.3 flags"
fi
[ -n "$common_flags" ] || { echo "error: rust_common_flags not found" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# A crate root standing in for the driver crate. Nothing uses the module here, so dead code is
# expected; every other warning counts.
cat >"$tmp/root.rs" <<ROOT
// SPDX-License-Identifier: GPL-2.0

//! Standalone build of a driver's \`hw\` module with the kernel's flags.

#[allow(dead_code)]
#[path = "$hw/mod.rs"]
mod hw;

/// Runs the shared checks, so that everything they reach goes through code generation (and its
/// build-time field checks), as it does in a kernel with KUnit.
#[cfg(CONFIG_KUNIT = "y")]
pub fn selftest() -> bool {
    hw::selftest::all().is_ok()
}
ROOT

status=0

# Kbuild's flags for a driver object: `rust_common_flags`, the arch-independent part of
# `KBUILD_RUSTFLAGS`, and `rust_common_cmd`.
compile() {
	tool=$1
	shift
	# shellcheck disable=SC2086 # Word splitting of the flag lists is intended.
	RUSTC_BOOTSTRAP=1 "$tool" $common_flags \
		-Cpanic=abort -Cembed-bitcode=n -Clto=n -Cforce-unwind-tables=n -Ccodegen-units=1 \
		-Csymbol-mangling-version=v0 -Crelocation-model=static -Zfunction-sections=n \
		-Wclippy::float_arithmetic \
		"-Zallow-features=$features" -Zcrate-attr=no_std "-Zcrate-attr=feature($features)" \
		-Zunstable-options --crate-type rlib --crate-name smmu_v3_hw \
		--out-dir "$tmp" --emit=obj -Dwarnings "$@" "$tmp/root.rs"
}

for cfg in "" "CONFIG_KUNIT=\"y\""; do
	label=${cfg:-default}
	set --
	[ -z "$cfg" ] || set -- --cfg "$cfg"
	if compile "$RUSTC" "$@"; then
		echo "rustc ($label): OK"
	else
		echo "rustc ($label): FAILED"
		status=1
	fi
	if [ -n "$CLIPPY_DRIVER" ]; then
		if CLIPPY_CONF_DIR=${clippy_conf_dir:-$tmp} compile "$CLIPPY_DRIVER" "$@"; then
			echo "clippy ($label): OK"
		else
			echo "clippy ($label): FAILED"
			status=1
		fi
	else
		echo "clippy: clippy-driver not found, skipped"
	fi
done

if [ -n "$RUSTFMT" ]; then
	set -- --edition 2021 --check
	[ -z "$fmt_config" ] || set -- "$@" --config-path "$fmt_config"
	# rustfmt follows `mod` items, so the crate roots cover every file; the host crate reaches
	# `hw/` through its `#[path]` module as well.
	if "$RUSTFMT" "$@" "$hw/mod.rs" "$here"/*/src/lib.rs; then
		echo "rustfmt: OK"
	else
		echo "rustfmt: FAILED"
		status=1
	fi
else
	echo "rustfmt: not found, skipped"
fi

# `hw/` must stay free of `unsafe` and of panicking shortcuts, but for the host tests: a file's
# `#[cfg(test)]` module, which comes last, and `selftest.rs`. The files the hw layers share
# (drivers/iommu/rust-hw/) are part of every one.
if awk '/^#\[cfg\(test\)\]/ { nextfile } { print FILENAME ":" FNR ":" $0 }' \
	"$hw"/*.rs "$repo"/drivers/iommu/rust-hw/*.rs |
	grep -E '^[^:]*:[0-9]+:.*(\bunsafe\b|\.unwrap\(\)|\.expect\()' |
	grep -vE '^[^:]*/selftest\.rs:|^[^:]*:[0-9]+:[[:space:]]*//'; then
	echo "hw/: forbidden construct found"
	status=1
else
	echo "hw/: no unsafe, unwrap or expect"
fi

exit $status
