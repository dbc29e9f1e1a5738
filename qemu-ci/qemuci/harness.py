# SPDX-License-Identifier: GPL-2.0
"""Build the guest, boot QEMU with a timeout, and judge what came back."""

import gzip
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import console, ktap

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("IOMMU_RS_CACHE", "/var/cache/iommu-rs"))
KSRC = CACHE / "linux-src"
# The guest architectures: arm64, QEMU virt with an SMMUv3 (the default), and x86_64, QEMU q35
# with an Intel VT-d (qemuci/vtd.py). Each has its own build directory, guest files and busybox
# in the cache (suffix "" or "-x86_64"), as qemu-ci/lib.sh has them.
ARCHES = {
    "arm64": {"suffix": "", "image": "arch/arm64/boot/Image", "qemu": "qemu-system-aarch64",
              "clang": ["--target=aarch64-linux-gnu", "-isystem", "/usr/aarch64-linux-gnu/include",
                        "-B/usr/lib/gcc-cross/aarch64-linux-gnu/12",
                        "-L/usr/lib/gcc-cross/aarch64-linux-gnu/12",
                        "-L/usr/aarch64-linux-gnu/lib"]},
    "x86_64": {"suffix": "-x86_64", "image": "arch/x86/boot/bzImage",
               "qemu": "qemu-system-x86_64", "clang": ["--target=x86_64-linux-gnu"]},
}
# The architecture in use: arm64 unless a script calls use_arch() (qemu-ci/run --arch), which
# hands it on to the bash stages as IOMMU_RS_ARCH.
ARCH = "arm64"
# The kernel variant in use (qemu-ci/config/variants/NAME.config; "" for the default kernel).
VARIANT = os.environ.get("IOMMU_RS_VARIANT", "")
LOGS = CACHE / "logs"
CLANG = "clang-19"


def _arch_paths():
    """Set KOUT, IMAGE, GUEST, BUSYBOX and QEMU for ARCH and VARIANT."""
    global KOUT, IMAGE, GUEST, BUSYBOX, QEMU
    if ARCH not in ARCHES:
        raise HarnessError(f"unknown architecture '{ARCH}' (choose from {', '.join(ARCHES)})")
    a = ARCHES[ARCH]
    KOUT = CACHE / ("build" + a["suffix"] + (f"-{VARIANT}" if VARIANT else ""))
    IMAGE = KOUT / a["image"]
    GUEST = CACHE / ("guest" + a["suffix"])
    BUSYBOX = CACHE / ("busybox" + a["suffix"]) / "bin/busybox"
    QEMU = a["qemu"]
# EDK2 for QEMU's arm64 virt machine (Debian qemu-efi-aarch64). Booting through it, the guest is
# described by QEMU's ACPI tables (the SMMU by the IORT) and gets no device tree.
EDK2 = Path("/usr/share/qemu-efi-aarch64/QEMU_EFI.fd")

# The IOMMU drivers one kernel can carry; which one binds is chosen at boot by
# blacklisting the other's initcall (initcall_blacklist=, needs KALLSYMS).
SMMU_DRIVERS = {
    "c": {"config": "CONFIG_ARM_SMMU_V3", "initcall": "arm_smmu_driver_init",
          "name": "arm-smmu-v3", "probed": r"arm-smmu-v3 (\S+): .*\(features 0x[0-9a-f]+\)",
          # What the driver prints once it has read the SMMU's IORT node.
          "iort_read": r"arm-smmu-v3 (\S+): option mask 0x",
          # DMA to an unmapped IOVA, F_TRANSLATION (event 0x10) on StreamID `sid`: format
          # with sid=0x8 for edu at 00:01.0.
          "fault_event": r"arm-smmu-v3 \S+: event 0x10 received:\s*\n.*\t0x{sid:08x}00000010",
          # The stage that faulted, from the event's S2 bit: format with stage=1 or 2.
          "fault_stage": r"arm-smmu-v3 \S+: unpriv data \w+ s{stage} "},
    "rust": {"config": "CONFIG_ARM_SMMU_V3_RUST", "initcall": "__arm_smmu_v3_rs_init",
             "name": "arm_smmu_v3_rs",
             "probed": r"arm_smmu_v3_rs (\S+): registered with the IOMMU core",
             "iort_read": r"arm_smmu_v3_rs (\S+): IORT SMMUv3 node at 0x",
             "fault_event": r"arm_smmu_v3_rs \S+: event: F_TRANSLATION sid {sid:#x} iova 0x",
             "fault_stage": r"arm_smmu_v3_rs \S+: event: F_TRANSLATION sid 0x8 .* s{stage} "},
}
# The IOMMU drivers of the current ARCH (use_arch()).
DRIVERS = SMMU_DRIVERS

# Hugepages the guest kernel reserves at boot, as a VMM backs guest RAM with them: the VFIO
# tests map them (vfio-edu, vfio-igb, the VFIO selftests' hugetlb cases), so that IOMMU block
# mappings (2 MiB at level 2, 1 GiB at level 1) and their invalidation are exercised.
HUGEPAGES = ["hugepagesz=2M", "hugepages=16"]
# And one 1 GiB page (no test maps two at once), which the guest init allocates as soon as it
# runs (iommu_rs.huge_1g, printing IOMMU-RS-HUGEPAGES), when memory is still mostly free: the
# kernel assembles it from movable pages (CONFIG_CONTIG_ALLOC, from CONFIG_CMA). Taken at boot
# from memblock (hugepagesz=1G hugepages=1) it is a kmemleak object that the end-of-boot leak
# scan reads in full, about 120 s (measured: power-down 155 s after the payload, against 32 s);
# taken from a CMA area (hugetlb_cma=) it cannot be pinned for DMA (FOLL_LONGTERM refuses CMA
# pages: IOMMU_IOAS_MAP fails with ENOMEM). arm64 only: the x86_64 kernel has no CONTIG_ALLOC.
HUGEPAGES_1G = ["iommu_rs.huge_1g=1"]
# igb's network: user-mode, isolated. The project's QEMU is built without slirp
# (--without-default-features): there igb hangs off a hub port with nothing else on the hub.
NETDEV_USER = "user,id=net0,restrict=on"
NETDEV_NO_SLIRP = "hubport,id=net0,hubid=0"

QEMU_BASE = [
    "-cpu", "max", "-smp", "2", "-m", "3G", "-nographic", "-no-reboot", "-nic", "none",
    # edu with a full DMA mask so that the isolation checks can aim at any
    # physical address; the default 28-bit mask would clamp them.
    "-device", "edu,dma_mask=0xffffffffffffffff",
    # igb gets an isolated user-mode network (restrict=on: no host access).
    "-netdev", NETDEV_USER, "-device", "igb,netdev=net0",
]

# The SMMUv3s QEMU 10.0 emulates, by translation stages: the machine and its extra QEMU
# arguments. virt from 9.2 on sets arm-smmuv3's "stage" property to nested itself, over any
# -global; virt-9.1 leaves it to the property, whose default is stage 1 only. IDR0 as read
# by the guest: nested 0x0d44101b, 1 0x0d44101a, 2 0x0d441019.
SMMU_STAGES = {
    "nested": ("virt,iommu=smmuv3,gic-version=3", []),
    "1": ("virt-9.1,iommu=smmuv3,gic-version=3", []),
    "2": ("virt-9.1,iommu=smmuv3,gic-version=3", ["-global", "arm-smmuv3.stage=2"]),
}


# The project's QEMU (qemu-ci/build-qemu): Debian's 10.0.x source with the SMMUv3 model series
# of qemu-ci/qemu/patches. Only boots that ask for a model feature use it; every other boot runs
# Debian's QEMU.
PATCHED_QEMU_DIR = CACHE / "qemu"
PATCHED_QEMU = PATCHED_QEMU_DIR / "bin/qemu-system-aarch64"

# The SMMUv3 model features of the series (qemu-ci/run --smmu-features), each the arm-smmuv3
# properties that turn it on; all default to off. Features the issue plans but the series does
# not have yet are refused by name (MODEL_FEATURES_PLANNED).
SMMU_FEATURES = {
    # 8 SubstreamID bits: the PASID width MemTxAttrs.pid carries.
    "ssid": ["-global", "arm-smmuv3.ssidsize=8"],
    # Hardware updates of the Access flag and of dirty state (IDR0.HTTU = 2).
    "httu": ["-global", "arm-smmuv3.httu=2"],
    # PCIe ATS (IDR0.ATS); the virt board then marks the root complex ATS-capable
    # (ats-supported in the device tree, the IORT root complex's ATS attribute).
    "ats": ["-global", "arm-smmuv3.ats=on"],
    # PCIe PRI (IDR0.PRI, the PRI queue); the model's PRI needs ATS.
    "pri": ["-global", "arm-smmuv3.ats=on", "-global", "arm-smmuv3.pri=on"],
    # The endpoint says it is CXL.cache capable (a CXL DVSEC): the OS must keep its ATS on
    # whatever its translation (Linux's pci_ats_required()).
    "cxl-cache": ["-global", "iommu-pcie-testdev.cxl-cache=on"],
}
MODEL_FEATURES_PLANNED = ()
# "ssid=N": N SubstreamID bits (SSID_BITS_MIN to SSID_BITS_MAX, the architecture's maximum),
# the endpoint's PASID capability as wide, so that a driver builds the CD tables of an N-bit
# device (Linux's C driver: 2-level above 10 bits). The endpoint still issues PASIDs 1-255 only.
SSID_BITS_MIN, SSID_BITS_MAX = 1, 20
# The series' PCIe endpoint that DMAs with PASIDs, at 00:08.0: StreamID 0x40.
TESTDEV = ["-device", "iommu-pcie-testdev,addr=0x8"]
TESTDEV_BDF = "0000:00:08.0"


class HarnessError(Exception):
    """A problem with the harness or host environment (not a test failure)."""


_arch_paths()


def log(msg):
    print(f"[qemu-ci] {msg}", file=sys.stderr, flush=True)


def need(*tools, path=None):
    """Raise HarnessError naming every tool that is missing."""
    missing = [t for t in tools if not (shutil.which(t, path=path) or
                                        (os.path.isabs(t) and os.access(t, os.X_OK)))]
    if missing:
        raise HarnessError(f"missing tool(s): {' '.join(missing)} "
                           f"(run qemu-ci/setup to install them)")


def kernel_config():
    cfg = {}
    try:
        for line in (KOUT / ".config").read_text().splitlines():
            if line.startswith("CONFIG_") and "=" in line:
                k, v = line.split("=", 1)
                cfg[k] = v
    except FileNotFoundError:
        pass
    return cfg


def drivers_built():
    cfg = kernel_config()
    return [d for d, info in DRIVERS.items() if cfg.get(info["config"]) == "y"]


def e2e_scripts():
    """Names of the guest end-to-end scripts, in run order."""
    return sorted(x.name for x in (REPO / "qemu-ci/guest/e2e").iterdir())


def e2e_for(driver):
    """The e2e scripts `driver` must pass, per qemu-ci/config/e2e-drivers."""
    want = {}
    for line in (REPO / "qemu-ci/config/e2e-drivers").read_text().splitlines():
        f = line.split("#", 1)[0].split()
        if len(f) == 2:
            want[f[0]] = f[1]
    spec = want.get(driver, "-")
    if spec == "all":
        return e2e_scripts()
    if spec == "-":
        return []
    names = spec.split(",")
    unknown = [n for n in names if n not in e2e_scripts()]
    if unknown:
        raise HarnessError(f"qemu-ci/config/e2e-drivers names unknown scripts: {unknown}")
    return names


def e2e_not_on_acpi():
    """{script: why} for the e2e scripts qemu-ci/config/e2e-acpi keeps off ACPI boots."""
    skip = {}
    for line in (REPO / "qemu-ci/config/e2e-acpi").read_text().splitlines():
        f = line.split("#", 1)[0].split(None, 1)
        if f:
            if len(f) != 2:
                raise HarnessError(f"qemu-ci/config/e2e-acpi: '{line}' gives no reason")
            skip[f[0]] = f[1].strip()
    unknown = [n for n in skip if n not in e2e_scripts()]
    if unknown:
        raise HarnessError(f"qemu-ci/config/e2e-acpi names unknown scripts: {unknown}")
    return skip


def use_variant(name):
    """Build and boot the kernel variant `name` from now on ("" for the default kernel)."""
    global VARIANT
    VARIANT = name
    _arch_paths()


def use_arch(name):
    """Build and boot for the guest architecture `name` (a key of ARCHES) from now on: its
    paths, and its IOMMU drivers in DRIVERS."""
    global ARCH, DRIVERS
    ARCH = name
    _arch_paths()
    if name == "x86_64":
        from . import vtd
        DRIVERS = vtd.DRIVERS
    else:
        DRIVERS = SMMU_DRIVERS


def smmu_feature_args(feature):
    """The QEMU arguments of model feature `feature` (a key of SMMU_FEATURES, or "ssid=N");
    HarnessError if it is not one."""
    name, eq, value = feature.partition("=")
    if not eq:
        if feature not in SMMU_FEATURES:
            raise HarnessError(f"unknown SMMUv3 model feature '{feature}' (choose from "
                               f"{', '.join(SMMU_FEATURES)}, ssid=N)")
        return SMMU_FEATURES[feature]
    if name != "ssid" or not value.isdigit() or \
            not SSID_BITS_MIN <= int(value) <= SSID_BITS_MAX:
        raise HarnessError(f"unknown SMMUv3 model feature '{feature}' (only ssid takes a "
                           f"value: ssid=N, N SubstreamID bits from {SSID_BITS_MIN} to "
                           f"{SSID_BITS_MAX})")
    bits = int(value)
    return ["-global", f"arm-smmuv3.ssidsize={bits}",
            "-global", f"iommu-pcie-testdev.pasid-width={bits}"]


def smmu_features(spec):
    """The list of model features in the comma-separated `spec`; HarnessError naming any that
    the series does not have. "ssid=N" is the ssid feature with N SubstreamID bits; it may be
    given once, and not with plain ssid."""
    feats = [f for f in spec.split(",") if f] if spec else []
    planned = [f for f in feats if f in MODEL_FEATURES_PLANNED]
    if planned:
        raise HarnessError(f"SMMUv3 model feature(s) {', '.join(planned)} are not in the QEMU "
                           f"series yet (have: {', '.join(SMMU_FEATURES)})")
    for f in feats:
        smmu_feature_args(f)
    feats = sorted(set(feats), key=feats.index)
    ssid = [f for f in feats if f.partition("=")[0] == "ssid"]
    if len(ssid) > 1:
        raise HarnessError(f"SubstreamIDs given more than once: {', '.join(ssid)}")
    return feats


def patched_qemu_status():
    """('ok', path), ('skip', why) or ('fail', why): what qemu-ci/build-qemu last said."""
    try:
        line = (PATCHED_QEMU_DIR / "status").read_text().strip()
    except FileNotFoundError:
        return "skip", "the project's QEMU was never built (run qemu-ci/build-qemu)"
    state, _, why = line.partition(" ")
    if state == "ok":
        if not os.access(PATCHED_QEMU, os.X_OK):
            return "fail", f"qemu-ci/build-qemu said ok, but {PATCHED_QEMU} is missing"
        return "ok", str(PATCHED_QEMU)
    if state not in ("skip", "fail"):
        return "fail", f"unreadable {PATCHED_QEMU_DIR / 'status'}: {line!r}"
    return state, why


def build_patched_qemu(build=True):
    """Build the project's QEMU if the series changed (qemu-ci/build-qemu); its status."""
    if build:
        subprocess.run(["bash", str(REPO / "qemu-ci/build-qemu")])
    return patched_qemu_status()


def run_script(name, *args):
    """Run a bash stage of qemu-ci (setup, build) for the current variant and architecture;
    raise on failure."""
    env = dict(os.environ, IOMMU_RS_VARIANT=VARIANT, IOMMU_RS_ARCH=ARCH)
    r = subprocess.run(["bash", str(REPO / "qemu-ci" / name), *args], env=env)
    if r.returncode:
        raise HarnessError(f"qemu-ci/{name} failed (exit {r.returncode})")


# --- guest ---------------------------------------------------------------

def _newer(target: Path, *sources: Path):
    if not target.exists():
        return True
    t = target.stat().st_mtime
    return any(s.stat().st_mtime > t for s in sources)


def build_programs():
    """Compile qemu-ci/guest/*.c into static binaries for ARCH (cached; rebuilt when the
    .c, a qemu-ci/guest/*.h or the uAPI headers are newer)."""
    need(CLANG, "ld.lld-19")
    inc = KOUT / "usr/include"
    if not (inc / "linux/iommufd.h").exists():
        raise HarnessError(f"no installed uAPI headers in {inc} (run qemu-ci/build)")
    out = GUEST / "bin"
    out.mkdir(parents=True, exist_ok=True)
    built = []
    # Every program includes the shared headers (vfio-lib.h): a change to one rebuilds all.
    headers = sorted((REPO / "qemu-ci/guest").glob("*.h"))
    for src in sorted((REPO / "qemu-ci/guest").glob("*.c")):
        dst = out / src.stem
        if _newer(dst, src, *headers, inc / "linux/iommufd.h", inc / "linux/vfio.h"):
            target, *libc = ARCHES[ARCH]["clang"]
            cmd = [CLANG, target, "-fuse-ld=lld", "-static", "-O2",
                   "-Wall", "-Wextra", "-Werror", "-Wno-sign-compare",
                   "-isystem", str(inc), *libc, "-o", str(dst), str(src)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                raise HarnessError(f"compiling {src.name} failed:\n{r.stderr}")
        built.append(dst)
    return built


# The kernel's own VFIO selftests (tools/testing/selftests/vfio of the pinned tree), built
# static for the guest by their own Makefile.
SELFTESTS_VFIO = ("vfio_dma_mapping_test", "vfio_dma_mapping_mmio_test",
                  "vfio_iommufd_setup_test", "vfio_pci_device_test",
                  "vfio_pci_device_init_perf_test", "vfio_pci_driver_test",
                  "vfio_pci_sriov_uapi_test")


def build_selftests():
    """The kernel's tools/testing/selftests/vfio built by its Makefile (incremental) as static
    arm64 programs, with LLVM 19 like the kernel; their one libuuid call (uuid_parse, for
    SR-IOV VF tokens) comes from qemu-ci/guest/libuuid, there being no arm64 libuuid here.
    Returns the programs' paths."""
    need(CLANG, "ld.lld-19", "make", "llvm-ar-19")
    inc = KOUT / "usr/include"
    src = KSRC / "tools/testing/selftests/vfio"
    if not (inc / "linux/iommufd.h").exists():
        raise HarnessError(f"no installed uAPI headers in {inc} (run qemu-ci/build)")
    if not (src / "Makefile").exists():
        raise HarnessError(f"no {src}/Makefile in the kernel tree (run qemu-ci/setup)")
    out = GUEST / "selftests-vfio"
    shim = REPO / "qemu-ci/guest/libuuid"
    lib = out / "libuuid"
    lib.mkdir(parents=True, exist_ok=True)
    gcc = "/usr/lib/gcc-cross/aarch64-linux-gnu/12"
    if _newer(lib / "libuuid.a", shim / "uuid.c", shim / "uuid/uuid.h"):
        for cmd in ([CLANG, "--target=aarch64-linux-gnu", "-O2", "-Wall", "-Werror",
                     "-I", str(shim), "-c", str(shim / "uuid.c"), "-o", str(lib / "uuid.o")],
                    ["llvm-ar-19", "rcs", str(lib / "libuuid.a"), str(lib / "uuid.o")]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode:
                raise HarnessError(f"building the libuuid shim failed:\n{r.stderr}")
    cmd = ["make", "-C", str(src), "LLVM=-19", "ARCH=arm64",
           "CROSS_COMPILE=aarch64-linux-gnu-", f"OUTPUT={out}",
           f"KHDR_INCLUDES=-isystem {inc}",
           f"EXTRA_CFLAGS=-static -isystem /usr/aarch64-linux-gnu/include -I{shim} -B{gcc}",
           f"LDFLAGS=-static -fuse-ld=lld -B{gcc} -L{gcc} -L/usr/aarch64-linux-gnu/lib -L{lib}",
           f"-j{os.cpu_count() or 2}"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise HarnessError(f"building tools/testing/selftests/vfio failed:\n"
                           f"{(r.stdout + r.stderr)[-3000:]}")
    built = [out / n for n in SELFTESTS_VFIO]
    missing = [p.name for p in built if not p.exists()]
    if missing:
        raise HarnessError(f"tools/testing/selftests/vfio built no {', '.join(missing)}")
    return built


def build_dma_map_benchmark():
    """tools/dma/dma_map_benchmark of the pinned tree (the user side of the kernel's
    CONFIG_DMA_MAP_BENCHMARK) built by its Makefile as a static arm64 program, with LLVM 19
    like the VFIO selftests (build_selftests()); rebuilt when its source is newer. Its path."""
    need(CLANG, "ld.lld-19", "make")
    inc = KOUT / "usr/include"
    src = KSRC / "tools/dma"
    if not (inc / "linux/types.h").exists():
        raise HarnessError(f"no installed uAPI headers in {inc} (run qemu-ci/build)")
    if not (src / "Makefile").exists():
        raise HarnessError(f"no {src}/Makefile in the kernel tree (run qemu-ci/setup)")
    out = GUEST / "dma"
    prog = out / "dma_map_benchmark"
    if not _newer(prog, src / "dma_map_benchmark.c",
                  KSRC / "include/uapi/linux/map_benchmark.h"):
        return prog
    out.mkdir(parents=True, exist_ok=True)
    gcc = "/usr/lib/gcc-cross/aarch64-linux-gnu/12"
    # The Makefile appends its own flags to CFLAGS and compiles and links in one command.
    cmd = ["make", "-C", str(src), "LLVM=-19", "ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-",
           f"OUTPUT={out}/",
           f"CFLAGS=--target=aarch64-linux-gnu -static -fuse-ld=lld -Werror -isystem {inc} "
           f"-isystem /usr/aarch64-linux-gnu/include -B{gcc} -L{gcc} -L/usr/aarch64-linux-gnu/lib"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode or not prog.exists():
        raise HarnessError(f"building tools/dma/dma_map_benchmark failed:\n"
                           f"{(r.stdout + r.stderr)[-3000:]}")
    return prog


def build_initramfs(payload: Path | None = None, kexec_into: Path | None = None,
                    name: str | None = None) -> Path:
    """busybox + init + test programs (+ payload) as a gzipped newc cpio. With `kexec_into`,
    also the kernel Image and that initramfs, for the first kernel of a kexec boot
    (iommu_rs.mode=kexec) to kexec into."""
    need("cpio")
    if not BUSYBOX.exists():
        raise HarnessError(f"{BUSYBOX} missing (run qemu-ci/setup)")
    # The kernel's VFIO selftests are built for arm64 only (16-vfio-selftests runs on the SMMUv3
    # machine); an x86_64 guest gets the project's own programs.
    programs = build_programs() + (build_selftests() if ARCH == "arm64" else [])
    stage = GUEST / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    for d in ("bin", "dev", "proc", "sys", "tmp", "iommu-rs/bin", "iommu-rs/e2e"):
        (stage / d).mkdir(parents=True)
    shutil.copy2(BUSYBOX, stage / "bin/busybox")
    shutil.copy2(REPO / "qemu-ci/guest/init", stage / "init")
    for p in programs:
        shutil.copy2(p, stage / "iommu-rs/bin" / p.name)
    for t in sorted((REPO / "qemu-ci/guest/e2e").iterdir()):
        shutil.copy2(t, stage / "iommu-rs/e2e" / t.name)
    if payload is not None:
        if not payload.is_dir():
            raise HarnessError(f"payload '{payload}' is not a directory")
        if not os.access(payload / "run", os.X_OK):
            raise HarnessError(f"payload '{payload}' has no executable 'run'")
        shutil.copytree(payload, stage / "payload", symlinks=True)
    if kexec_into is not None:
        (stage / "iommu-rs/kexec").mkdir()
        shutil.copy2(IMAGE, stage / "iommu-rs/kexec/Image")
        shutil.copy2(kexec_into, stage / "iommu-rs/kexec/initrd.cpio.gz")
    name = name or ("payload" if payload else "kexec" if kexec_into else None)
    out = GUEST / (f"initramfs-{name}.cpio.gz" if name else "initramfs.cpio.gz")
    files = subprocess.run("find . -mindepth 1 | LC_ALL=C sort", shell=True, cwd=stage,
                           capture_output=True, text=True, check=True).stdout
    cp = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=stage,
                        input=files.encode(), capture_output=True)
    if cp.returncode:
        raise HarnessError(f"cpio failed: {cp.stderr.decode()}")
    out.write_bytes(gzip.compress(cp.stdout, compresslevel=1))
    return out


def _smmu_node(dts: str):
    """The match of the SMMUv3 node in `dts`, its body as group 2."""
    m = re.search(r"(smmuv3@[0-9a-f]+ \{)(.*?)(\n\t\};)", dts, re.S)
    if not m:
        raise HarnessError("no smmuv3 node in the machine's device tree")
    return m


def combined_irq_dts(dts: str) -> str:
    """`dts` with the SMMUv3 node's named interrupts replaced by one "combined" line: the event
    queue's, so that events still arrive (QEMU raises each source on its own line)."""
    m = _smmu_node(dts)
    node = m.group(2)
    names = re.search(r'interrupt-names = ((?:"[^"]*"(?:, )?)+);', node)
    irqs = re.search(r"interrupts = <([^>]*)>;", node)
    if not names or not irqs:
        raise HarnessError("the smmuv3 node has no interrupts/interrupt-names")
    # dtc writes a string list as "a\\0b" or "a", "b".
    name_list = re.split(r'\\0|", "', names.group(1).strip('"'))
    cells = irqs.group(1).split()
    if "eventq" not in name_list or len(cells) != 3 * len(name_list):
        raise HarnessError(f"unexpected smmuv3 interrupts: {irqs.group(0)} {names.group(0)}")
    i = name_list.index("eventq")
    node = node.replace(irqs.group(0), f"interrupts = <{' '.join(cells[3 * i:3 * i + 3])}>;")
    node = node.replace(names.group(0), 'interrupt-names = "combined";')
    return dts[:m.start(2)] + node + dts[m.end(2):]


def non_coherent_dts(dts: str) -> str:
    """`dts` without `dma-coherent` on the SMMUv3 node: the kernel then maps the SMMU's queues
    and tables non-cacheable, and the driver must make the SMMU access them so (QEMU's SMMU
    has IDR0.COHACC set and does not model caches: the attributes are what is exercised)."""
    m = _smmu_node(dts)
    node, n = re.subn(r"\n\t\tdma-coherent;", "", m.group(2))
    if n != 1:
        raise HarnessError("the smmuv3 node is not dma-coherent")
    return dts[:m.start(2)] + node + dts[m.end(2):]


# The IOVA range resv_region_dts reserves for edu at 00:01.0 (see 12-fw-resv-region).
FW_RESV_IOVA, FW_RESV_SIZE = 0x10_0000_0000, 0x10_0000


def resv_region_dts(dts: str) -> str:
    """`dts` with a reserved-memory region whose `iommu-addresses` reserve FW_RESV_IOVA for the
    edu at 00:01.0, described as a child of the PCIe host bridge: what a boot loader does for a
    framebuffer it left scanning out (at another IOVA than its physical address, the region is
    IOMMU_RESV_RESERVED: never to be mapped)."""
    host = re.search(r"\n\tpcie@[0-9a-f]+ \{\n", dts)
    if not host or "reserved-memory" in dts:
        raise HarnessError("no PCIe host node, or a reserved-memory node already")
    edu, region = 0x9101, 0x9100
    hi, lo = FW_RESV_IOVA >> 32, FW_RESV_IOVA & 0xffffffff
    # Subnodes follow properties: the child goes last in the host node.
    close = dts.index("\n\t};", host.end()) + 1
    child = (f"\n\t\tedu@1,0 {{\n\t\t\treg = <0x800 0x00 0x00 0x00 0x00>;\n"
             f"\t\t\tmemory-region = <{region:#x}>;\n\t\t\tphandle = <{edu:#x}>;\n\t\t}};\n")
    dts = dts[:close] + child + dts[close:]
    node = ("\treserved-memory {\n\t\t#address-cells = <0x02>;\n\t\t#size-cells = <0x02>;\n"
            "\t\tranges;\n\n\t\tiommu-rsv@7ff00000 {\n"
            "\t\t\treg = <0x00 0x7ff00000 0x00 0x100000>;\n\t\t\tno-map;\n"
            f"\t\t\tiommu-addresses = <{edu:#x} 0x00 {hi:#x} {lo:#x} 0x00 {FW_RESV_SIZE:#x}>;\n"
            f"\t\t\tphandle = <{region:#x}>;\n\t\t}};\n\t}};\n")
    end = dts.rindex("};")
    return dts[:end] + node + dts[end:]


# The changes qemu_command can make to the device tree QEMU generates.
DT_EDITS = {"combined-irq": combined_irq_dts, "non-coherent": non_coherent_dts,
            "fw-resv-region": resv_region_dts}


def edited_dtb(cmd, edits) -> Path:
    """The device tree QEMU gives the machine of `cmd`, changed by `edits` (DT_EDITS keys)."""
    dtc = KOUT / "scripts/dtc/dtc"
    need(str(dtc))
    out = GUEST / "dt"
    out.mkdir(parents=True, exist_ok=True)
    dump = out / "machine.dtb"
    dump.unlink(missing_ok=True)
    m = cmd.index("-M") + 1
    dumping = [*cmd[:m], cmd[m] + f",dumpdtb={dump}", *cmd[m + 1:]]
    r = subprocess.run(dumping, capture_output=True, text=True, timeout=60)
    if r.returncode or not dump.exists():
        raise HarnessError(f"QEMU could not dump its device tree: {r.stderr.strip()[-500:]}")
    dts = subprocess.run([str(dtc), "-q", "-I", "dtb", "-O", "dts", str(dump)],
                         capture_output=True, text=True, check=True).stdout
    for e in edits:
        dts = DT_EDITS[e](dts)
    name = "+".join(edits)
    (out / f"{name}.dts").write_text(dts)
    dtb = out / f"{name}.dtb"
    r = subprocess.run([str(dtc), "-q", "-I", "dts", "-O", "dtb", "-o", str(dtb),
                        str(out / f"{name}.dts")], capture_output=True, text=True)
    if r.returncode:
        raise HarnessError(f"dtc rejected the edited device tree {out / name}.dts: "
                           f"{r.stderr.strip()[-500:]}")
    return dtb


def disk_image() -> Path:
    """A 64 MiB raw disk for virtio-blk behind the SMMU."""
    disk = GUEST / "disk.img"
    if not disk.exists() or disk.stat().st_size != 64 << 20:
        GUEST.mkdir(parents=True, exist_ok=True)
        with open(disk, "wb") as f:
            f.truncate(64 << 20)
    return disk


# --- ACPI table overrides -------------------------------------------------

# The IORT (IO Remapping Table) layout the overrides need: the ACPI table header's length,
# revision... fields, the node array, and the root complex node's memory access flags.
ACPI_HEADER_LEN = 36
IORT_NODE_ROOT_COMPLEX = 2
# Offset of the memory access flags in a root complex node: after the 16-byte node header, the
# cache coherency attribute (4 bytes), allocation hints (1) and 2 reserved bytes.
IORT_RC_MEMORY_FLAGS = 23
IORT_NODE_SMMU_V3 = 4
# Offset of the flags in an SMMUv3 node (after the node header and the 8-byte base address),
# and their HTTU override field (bits 2:1, IDR0.HTTU's encoding: 0b10 access and dirty flags).
IORT_SMMU_V3_FLAGS = 24
IORT_SMMU_V3_HTTU_DIRTY = 2 << 1
# Memory access flags: CPM (coherent path to memory), DACS (device attributes are cacheable and
# inner shareable), CANWBS (the root complex makes accesses write-back cacheable and shareable,
# IORT revision E.f).
IORT_MF_CANWBS = 1 << 2


def acpi_checksum_fixed(table: bytearray):
    """Sets byte 9 of the ACPI `table` so that all its bytes sum to 0 modulo 256."""
    table[9] = 0
    table[9] = -sum(table) & 0xff


def iort_root_complexes(table: bytes):
    """The offsets of the root complex nodes of the IORT `table`; HarnessError if it is not a
    well-formed IORT."""
    return iort_nodes(table, IORT_NODE_ROOT_COMPLEX, IORT_RC_MEMORY_FLAGS + 1)


def iort_nodes(table: bytes, want: int, min_len: int):
    """The offsets of the nodes of type `want` of the IORT `table`, each at least
    `min_len` bytes long; HarnessError if it is not a well-formed IORT."""
    if len(table) < ACPI_HEADER_LEN + 12 or table[:4] != b"IORT":
        raise HarnessError("not an IORT: no 'IORT' signature or shorter than its header")
    length = int.from_bytes(table[4:8], "little")
    if length != len(table):
        raise HarnessError(f"IORT length field {length} but {len(table)} bytes")
    if sum(table) & 0xff:
        raise HarnessError("IORT checksum is wrong")
    count = int.from_bytes(table[36:40], "little")
    off = int.from_bytes(table[40:44], "little")
    nodes = []
    for i in range(count):
        if off + 16 > length:
            raise HarnessError(f"IORT node {i} at {off:#x} runs past the table")
        node_type, node_len = table[off], int.from_bytes(table[off + 1:off + 3], "little")
        if node_len < 16 or off + node_len > length:
            raise HarnessError(f"IORT node {i} at {off:#x} has a bad length {node_len}")
        if node_type == want:
            if node_len < min_len:
                raise HarnessError(f"IORT node {i} (type {node_type}) at {off:#x} is too short")
            nodes.append(off)
        off += node_len
    return nodes


def iort_with_canwbs(table: bytes) -> bytes:
    """The IORT `table` with every root complex marked CANWBS, its OEM revision one higher (the
    kernel replaces a firmware table only by a higher revision) and its checksum fixed."""
    rcs = iort_root_complexes(table)
    if not rcs:
        raise HarnessError("the IORT has no root complex node")
    t = bytearray(table)
    for off in rcs:
        t[off + IORT_RC_MEMORY_FLAGS] |= IORT_MF_CANWBS
    rev = int.from_bytes(t[24:28], "little")
    t[24:28] = ((rev + 1) & 0xffffffff).to_bytes(4, "little")
    acpi_checksum_fixed(t)
    return bytes(t)


def iort_with_canwbs_httu(table: bytes) -> bytes:
    """iort_with_canwbs(), and every SMMUv3 node's HTTU override saying the SMMU updates access
    and dirty flags: on ACPI, Linux takes HTTU from the IORT, not from IDR0 (the project's QEMU
    with its `httu` feature has it; QEMU's IORT never says so)."""
    smmus = iort_nodes(table, IORT_NODE_SMMU_V3, IORT_SMMU_V3_FLAGS + 4)
    if not smmus:
        raise HarnessError("the IORT has no SMMUv3 node")
    t = bytearray(iort_with_canwbs(table))
    for off in smmus:
        t[off + IORT_SMMU_V3_FLAGS] |= IORT_SMMU_V3_HTTU_DIRTY
    acpi_checksum_fixed(t)
    return bytes(t)


# A Reserved Memory Range node (IORT E.d, table revision 5 and node revision 3) for the StreamID
# of the model's endpoint (iommu-pcie-testdev at 00:08.0: RID = StreamID 0x40) and 64 KiB of
# RAM, remapping permitted (Linux: a direct-relaxable region) and normal write-back memory.
IORT_NODE_RMR = 6
IORT_RMR_SID = 0x40
IORT_RMR_BASE, IORT_RMR_LEN = 0x48000000, 0x10000
IORT_RMR_REMAP_PERMITTED = 1
IORT_RMR_ATTR_NORMAL_WB = 5 << 2


def iort_with_rmr(table: bytes) -> bytes:
    """The IORT `table` with a Reserved Memory Range node (IORT_RMR_*) mapping to its SMMUv3
    node appended, the table revision raised to 5 (Linux reads RMR nodes from E.d on), the
    OEM revision one higher and the checksum fixed."""
    smmus = iort_nodes(table, IORT_NODE_SMMU_V3, IORT_SMMU_V3_FLAGS + 4)
    if len(smmus) != 1:
        raise HarnessError(f"the IORT has {len(smmus)} SMMUv3 nodes, want 1")
    def le(v, n):
        return v.to_bytes(n, "little")

    ident = 0x524d52  # "RMR": an identifier QEMU's nodes (numbered from 0) do not use
    mapping = (le(IORT_RMR_SID, 4) + le(0, 4) + le(IORT_RMR_SID, 4) + le(smmus[0], 4) +
               le(1, 4))  # input base, ID count - 1, output base, output node, single mapping
    desc = le(IORT_RMR_BASE, 8) + le(IORT_RMR_LEN, 8) + le(0, 4)
    rmr = le(IORT_RMR_REMAP_PERMITTED | IORT_RMR_ATTR_NORMAL_WB, 4) + le(1, 4) + le(48, 4)
    node = (bytes([IORT_NODE_RMR]) + le(16 + len(rmr) + len(mapping) + len(desc), 2) +
            bytes([3]) + le(ident, 4) + le(1, 4) + le(28, 4) + rmr + mapping + desc)
    t = bytearray(table) + node
    t[4:8] = le(len(t), 4)
    t[8] = max(t[8], 5)
    count = int.from_bytes(t[36:40], "little")
    t[36:40] = le(count + 1, 4)
    rev = int.from_bytes(t[24:28], "little")
    t[24:28] = le((rev + 1) & 0xffffffff, 4)
    acpi_checksum_fixed(t)
    return bytes(t)


# The IORT changes qemu_command can make (--iort): a function of QEMU's table.
IORT_EDITS = {"canwbs": iort_with_canwbs, "canwbs-httu": iort_with_canwbs_httu,
              "rmr": iort_with_rmr}

# What the guest prints of /sys/firmware/acpi/tables/IORT, a hex line at a time.
IORT_HEX = re.compile(r"^IORT-HEX ([0-9a-f]+)\s*$", re.M)


def _machine_key(cmd) -> str:
    """A name for the machine `cmd` boots: its QEMU arguments less the kernel, initramfs and
    kernel command line, which do not change the ACPI tables."""
    args, skip = [], False
    for a in cmd:
        if skip:
            skip = False
        elif a in ("-kernel", "-initrd", "-append"):
            skip = True
        else:
            args.append(a)
    return hashlib.sha256("\0".join(args).encode()).hexdigest()[:16]


def machine_iort(cmd, timeout=120) -> bytes:
    """QEMU's IORT for the ACPI machine of `cmd`, as its guest reads it from
    /sys/firmware/acpi/tables/IORT: one boot per machine, then kept under the cache."""
    out = GUEST / "acpi" / f"iort-{_machine_key(cmd)}.aml"
    if out.exists():
        return out.read_bytes()
    payload = GUEST / "acpi" / "dump-iort"
    payload.mkdir(parents=True, exist_ok=True)
    (payload / "run").write_text(
        "#!/bin/sh\nf=/sys/firmware/acpi/tables/IORT\n[ -r $f ] || { echo no IORT; exit 1; }\n"
        "hexdump -v -e '32/1 \"%02x\" \"\\n\"' $f | sed 's/ //g; s/^/IORT-HEX /'\n")
    (payload / "run").chmod(0o755)
    initrd = build_initramfs(payload, name="dump-iort")
    i = cmd.index("-initrd") + 1
    a = cmd.index("-append") + 1
    dumping = [*cmd[:i], str(initrd), *cmd[i + 1:a],
               re.sub(r"iommu_rs\.mode=\S+", "iommu_rs.mode=payload", cmd[a]), *cmd[a + 1:]]
    log("reading QEMU's IORT for this machine (one boot)")
    b = boot("dump-iort", dumping, timeout)
    table = bytes.fromhex("".join(IORT_HEX.findall(b.text)))
    if b.failures or b.guest_status != 0:
        why = "; ".join(b.failures) or f"status {b.guest_status}"
        raise HarnessError(f"the boot reading QEMU's IORT failed ({why}; log: {b.log_path})")
    iort_root_complexes(table)
    out.write_bytes(table)
    return table


def initrd_with_acpi_tables(initrd: Path, tables) -> Path:
    """`initrd` preceded by an uncompressed cpio holding `tables` (name -> bytes) under
    kernel/firmware/acpi/, where the kernel looks for firmware table upgrades
    (CONFIG_ACPI_TABLE_UPGRADE) before unpacking the rest."""
    need("cpio")
    stage = GUEST / "acpi" / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    (stage / "kernel/firmware/acpi").mkdir(parents=True)
    for name, data in tables.items():
        (stage / "kernel/firmware/acpi" / name).write_bytes(data)
    files = "kernel\nkernel/firmware\nkernel/firmware/acpi\n" + "".join(
        f"kernel/firmware/acpi/{n}\n" for n in sorted(tables))
    cp = subprocess.run(["cpio", "-o", "-H", "newc", "--quiet", "-R", "0:0"], cwd=stage,
                        input=files.encode(), capture_output=True)
    if cp.returncode:
        raise HarnessError(f"cpio failed: {cp.stderr.decode()}")
    out = initrd.with_name(initrd.name.replace(".cpio.gz", "") + "-acpi.cpio")
    out.write_bytes(cp.stdout + initrd.read_bytes())
    return out


def acpi_override_problems(text, sig="IORT"):
    """Why `text` does not show the kernel taking the ACPI table `sig` (IORT, DMAR) from the
    initramfs (as kernel/firmware/acpi/<sig in lower case>.aml): a list, empty if it took it."""
    why = []
    name = re.escape(f"kernel/firmware/acpi/{sig.lower()}.aml")
    if not re.search(rf"ACPI: {sig} ACPI table found in initrd \[{name}\]", text):
        why.append(f"the kernel did not find the {sig} table in the initramfs")
    if not re.search(rf"ACPI: Table Upgrade: override \[{sig}-", text):
        why.append(f"the kernel did not replace QEMU's {sig} table by the initramfs one "
                   f"('Table Upgrade: override [{sig}-' line missing)")
    return why


def iort_override_problems(text):
    """acpi_override_problems() of the IORT."""
    return acpi_override_problems(text, "IORT")


# --- QEMU ----------------------------------------------------------------

def qemu_command(initrd, mode, driver, append=(), qemu_args=(), e2e=None, stages="nested",
                 dt_edits=(), acpi=False, iort=None, features=(), vtd_unit="first"):
    """The QEMU command line booting the kernel with `driver` on an SMMUv3 with `stages`
    (a key of SMMU_STAGES), its device tree changed by `dt_edits` (keys of DT_EDITS), or
    through EDK2 with QEMU's ACPI tables instead of a device tree if `acpi`; with `iort` (a key
    of IORT_EDITS), QEMU's IORT changed so and handed to the kernel in the initramfs. Every
    boot reserves hugepages (HUGEPAGES_1G, HUGEPAGES). With model
    `features` (keys of SMMU_FEATURES, or "ssid=N"), the project's QEMU with those on and the test
    endpoint attached; without, Debian's QEMU. On x86_64, `vtd_unit` (a key of vtd.UNITS) is
    the VT-d the boot gets."""
    if ARCH == "x86_64":
        from . import vtd
        if stages != "nested" or dt_edits or acpi or iort is not None or features:
            raise HarnessError("SMMU stages, model features, device tree edits and ACPI boots "
                               "are arm64's: q35 always boots with ACPI and one VT-d")
        return vtd.qemu_command(initrd, mode, driver, append, qemu_args, e2e, vtd_unit)
    qemu = QEMU
    if features:
        args = [a for f in features for a in smmu_feature_args(f)]
        state, why = patched_qemu_status()
        if state != "ok":
            raise HarnessError(f"no QEMU with the SMMUv3 model features: {why}")
        qemu = why
        qemu_args = [*args, *TESTDEV, *qemu_args]
    if iort is not None and (not acpi or iort not in IORT_EDITS):
        raise HarnessError(f"an IORT edit ({iort}) needs an ACPI boot and one of "
                           f"{', '.join(IORT_EDITS)}")
    if driver not in DRIVERS:
        raise HarnessError(f"unknown driver '{driver}' (choose from {', '.join(DRIVERS)})")
    bad = [e for e in dt_edits if e not in DT_EDITS]
    if bad:
        raise HarnessError(f"unknown device tree edit(s) {', '.join(bad)} (choose from "
                           f"{', '.join(DT_EDITS)})")
    if acpi and dt_edits:
        raise HarnessError(f"device tree edits ({', '.join(dt_edits)}) do not apply to an ACPI "
                           f"boot: EDK2 gives the kernel ACPI tables, no device tree")
    if acpi and not EDK2.exists():
        raise HarnessError(f"no EDK2 firmware at {EDK2} (run qemu-ci/setup: qemu-efi-aarch64)")
    if stages not in SMMU_STAGES:
        raise HarnessError(f"unknown SMMU stages '{stages}' (choose from "
                           f"{', '.join(SMMU_STAGES)})")
    built = drivers_built()
    if driver not in built:
        raise HarnessError(f"the {driver} SMMUv3 driver is not in this kernel "
                           f"({DRIVERS[driver]['config']} is not set)")
    blacklist = [DRIVERS[d]["initcall"] for d in built if d != driver]
    cmdline = ["console=ttyAMA0", "panic=-1", f"iommu_rs.mode={mode}",
               *HUGEPAGES_1G, *HUGEPAGES]
    if e2e is not None:
        cmdline.append("iommu_rs.e2e=" + (",".join(e2e) or "none"))
    if blacklist:
        cmdline.append("initcall_blacklist=" + ",".join(blacklist))
    if mode != "kunit":
        cmdline.append("kunit.enable=0")
    cmdline += list(append)
    machine, smmu_args = SMMU_STAGES[stages]
    base = [NETDEV_NO_SLIRP if features and a == NETDEV_USER else a for a in QEMU_BASE]
    cmd = [qemu, "-M", machine, *smmu_args, *base,
            "-drive", f"if=none,id=disk0,format=raw,file={disk_image()}",
            # The disk sits behind a PCIe root port, on bus 1: StreamID 0x100 is in another
            # level-2 span of the stream table than the devices on bus 0.
            "-device", "pcie-root-port,id=rp1,chassis=1,slot=1",
            "-device", "virtio-blk-pci,bus=rp1,drive=disk0,iommu_platform=on,disable-legacy=on",
            # Two more edus, each on a conventional PCI bus behind a PCIe-to-PCI bridge: their
            # DMA carries the requester ID (secondary bus, devfn 0). Linux gives the IOMMU that
            # alias as well as the RID: StreamIDs 0x208 and 0x200 for the edu at 02:01.0, 0x300
            # twice for the one at 03:00.0.
            "-device", "pcie-pci-bridge,id=pcib2,addr=4",
            "-device", "edu,bus=pcib2,addr=1,dma_mask=0xffffffffffffffff",
            "-device", "edu,bus=pcib2,addr=2,dma_mask=0xffffffffffffffff",
            "-kernel", str(IMAGE), "-initrd", str(initrd),
            "-append", " ".join(cmdline),
            # The SMMU's walks that end at a block descriptor, in QEMU's log (boot() gives it a
            # file of its own): that IOVAs were mapped by 2 MiB or 1 GiB blocks (HUGEPAGES).
            "-trace", "smmu_ptw_block_pte", *qemu_args]
    if acpi:
        # EDK2 starts -kernel through its EFI stub, with -initrd and -append, and installs
        # QEMU's ACPI tables but no device tree: the kernel then uses ACPI, with no acpi=.
        cmd += ["-bios", str(EDK2)]
    if dt_edits:
        cmd += ["-dtb", str(edited_dtb(cmd, dt_edits))]
    if iort is not None:
        table = IORT_EDITS[iort](machine_iort(cmd))
        i = cmd.index("-initrd") + 1
        cmd[i] = str(initrd_with_acpi_tables(Path(cmd[i]), {"iort.aml": table}))
    return cmd


# The guest init's line for each SMMUv3 platform device (qemu-ci/guest/init show_iommu).
SMMU_DEVICE = re.compile(r"^SMMUv3 (\S+): platform device bound to driver '([^']*)' "
                         r"\(firmware: ([^)]*)\)\s*$", re.M)
# How the firmware names the SMMU's platform device: the device tree node's unit address and
# name; the IORT code's "arm-smmu-v3" with an automatic instance number.
SMMU_DEVICE_NAME = {"device tree": r"[0-9a-f]+\.smmuv3", "ACPI IORT": r"arm-smmu-v3\.\d+\.auto"}


def acpi_iort_found(text):
    """Whether the kernel of `text` booted with ACPI tables, an IORT among them."""
    return bool(re.search(r"^\[\s*\d+\.\d+\] ACPI: IORT 0x[0-9A-F]+ ", text, re.M))


def smmu_firmware_problems(text, driver, acpi):
    """Why `text` does not show the SMMU described by the expected firmware (the ACPI IORT if
    `acpi`, else the device tree) and probed by `driver` from that description: a list,
    empty if it does."""
    want = "ACPI IORT" if acpi else "device tree"
    why = []
    devices = SMMU_DEVICE.findall(text)
    if len(devices) != 1:
        return [f"expected one SMMUv3 platform device line from the guest, got {devices}"]
    dev, _, fw = devices[0]
    if fw != want:
        why.append(f"the SMMU {dev} was described by the {fw}, not the {want}")
    if not re.fullmatch(SMMU_DEVICE_NAME[want], dev):
        why.append(f"the SMMU's platform device is {dev}, not one the {want} creates "
                   f"(/{SMMU_DEVICE_NAME[want]}/)")
    info = DRIVERS[driver]
    # The guest repeats some kernel lines (its "dmesg:" summary): the devices they name count.
    probed = sorted({m.group(1) for m in re.finditer(info["probed"], text)})
    if probed != [dev]:
        why.append(f"the {driver} driver's probe message names {probed or 'no device'}, not {dev}")
    iort_read = sorted({m.group(1) for m in re.finditer(info["iort_read"], text)})
    if acpi:
        if not acpi_iort_found(text):
            why.append("the kernel found no IORT (no 'ACPI: IORT' table line)")
        if iort_read != [dev]:
            why.append(f"the {driver} driver did not report reading {dev}'s IORT node "
                       f"(/{info['iort_read']}/)")
    elif iort_read:
        why.append(f"the {driver} driver read an IORT node on a device-tree boot")
    return why


# A walk of QEMU's SMMU that ended at a block descriptor (trace event smmu_ptw_block_pte).
BLOCK_WALK = re.compile(r"smmu_ptw_block_pte stage=(\d) level=(\d) .*? iova=0x([0-9a-f]+) "
                        r"block address = 0x[0-9a-f]+ block size = (\d+) MiB")


def block_walks(qemu_log):
    """[(stage, level, iova, size in bytes)] of the block descriptors QEMU's SMMU walked to."""
    return [(int(m.group(1)), int(m.group(2)), int(m.group(3), 16), int(m.group(4)) << 20)
            for m in BLOCK_WALK.finditer(qemu_log)]


@dataclass
class Boot:
    """What one QEMU run produced."""

    name: str
    log_path: Path
    text: str
    returncode: int | None
    timed_out: bool
    seconds: float
    guest_status: int | None = None
    failures: list = field(default_factory=list)
    # QEMU's own log (-D): the trace events qemu_command enables.
    qemu_log: str = ""


def boot(name, cmd, timeout, stream=False, interactive=False):
    """Run QEMU, keep its console log, kill it after timeout seconds."""
    need(cmd[0])
    LOGS.mkdir(parents=True, exist_ok=True)
    log_path = LOGS / f"{name}.log"
    qemu_log = LOGS / f"{name}.qemu.log"
    qemu_log.unlink(missing_ok=True)
    if "-D" not in cmd:
        cmd = [*cmd, "-D", str(qemu_log)]
    start = time.monotonic()
    timed_out = False
    with open(log_path, "wb") as logf:
        if interactive:
            # The console is the user's terminal; 'script'-like capture is
            # not needed for an interactive session, the log records the command.
            logf.write((" ".join(cmd) + "\n").encode())
            p = subprocess.Popen(cmd, start_new_session=True)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            return Boot(name, log_path, "", p.returncode, timed_out, time.monotonic() - start)
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, start_new_session=True)
        deadline = start + timeout
        chunks = []
        os.set_blocking(p.stdout.fileno(), False)
        while True:
            data = p.stdout.read()
            if data:
                chunks.append(data)
                logf.write(data)
                logf.flush()
                if stream:
                    sys.stdout.write(data.decode(errors="replace"))
                    sys.stdout.flush()
            if p.poll() is not None:
                rest = p.stdout.read()
                if rest:
                    chunks.append(rest)
                    logf.write(rest)
                    if stream:
                        sys.stdout.write(rest.decode(errors="replace"))
                break
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                break
            time.sleep(0.05)
        p.stdout.close()
    text = console.untangle(b"".join(chunks).decode(errors="replace"))
    b = Boot(name, log_path, text, p.returncode, timed_out, time.monotonic() - start)
    if qemu_log.exists():
        b.qemu_log = qemu_log.read_text(errors="replace")
    judge(b, timeout)
    return b


def judge(b: Boot, timeout=None):
    """Fill b.failures with every reason the run cannot count as clean."""
    if b.timed_out:
        b.failures.append(f"QEMU hung: killed after {timeout} s (log: {b.log_path})")
    elif b.returncode not in (0, None):
        b.failures.append(f"QEMU exited with status {b.returncode} (QEMU crash or abort; "
                          f"log: {b.log_path})")
    for label, line in console.problems(b.text):
        b.failures.append(f"guest {label}: {line}")
    b.guest_status = console.exit_status(b.text)
    if b.guest_status is None and not b.timed_out:
        b.failures.append("guest never reached the end of its run (no IOMMU-RS-EXIT line: "
                          "crash or early power-off)")
    return b.failures
