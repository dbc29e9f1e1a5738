# SPDX-License-Identifier: GPL-2.0
"""The benchmarks of qemu-ci/bench: the guest payload that runs them, what it prints parsed into
measures, which measures a boot must have given, and the comparison table."""

import re
import shutil
import statistics
import subprocess
from pathlib import Path

from . import harness
from .harness import HarnessError

# qemu-ci/guest/iommu-bench's results: "BENCH <name> <value> <unit>".
BENCH = re.compile(r"^BENCH (\w+) (\d+) (\S+)\s*$", re.M)

# The kernel's dma_map_benchmark (CONFIG_DMA_MAP_BENCHMARK, tools/dma/dma_map_benchmark): the
# DMA API's dma_map_single/dma_unmap_single on a device bound to its driver, by kernel threads.
# The cases: (DMA domain, threads, granule in pages); strict first, then the group's default
# domain switched to DMA-FQ through sysfs (the kernel allows DMA -> DMA-FQ with a driver bound).
DMA_MODES = {"strict": "DMA", "lazy": "DMA-FQ"}
DMA_THREADS = (1, 2, 4)
DMA_GRANULES = (1, 16)
DMA_CASES = [(m, t, g) for m in DMA_MODES for t in DMA_THREADS for g in DMA_GRANULES]
# Seconds per case: the benchmark's own minimum is 1.
DMA_SECONDS, DMA_SECONDS_QUICK = 3, 1

# The IOTLB flush benchmark (CONFIG_IOMMU_FLUSH_BENCHMARK, drivers/iommu/flush-bench/): kernel
# threads on distinct CPUs flush one paging domain's IOTLB entries back to back, each flush a
# TLBI and a CMD_SYNC through the driver's command queue. Threads per case (those up to the
# guest's CPUs run), and milliseconds per case.
FLUSH_THREADS = (1, 2, 4)
FLUSH_MS, FLUSH_MS_QUICK = 2000, 200

# The guest side. dma_map_benchmark gets igb (00:02.0: a group of its own, no driver, nothing else
# uses it in these boots; edu at 00:01.0 is iommu-bench's, through VFIO, and the edus behind the
# PCIe-to-PCI bridge alias: the C driver leaves the second out of every group, its DMA API
# direct). The device's group and type are printed before each mode, for the host to check.
PAYLOAD = """#!/bin/sh
# qemu-ci/bench: iommu-bench, then the kernel's dma_map_benchmark.
status=0
iommu-bench {iommu_bench_args} || status=1
dev=
for d in /sys/bus/pci/devices/*; do
	[ "$(cat $d/vendor):$(cat $d/device)" = 0x8086:0x10c9 ] && dev=${{d##*/}}
done
[ -n "$dev" ] || {{ echo "dma-bench: no igb"; exit 1; }}
[ -e /sys/bus/pci/devices/$dev/driver ] && echo $dev >/sys/bus/pci/devices/$dev/driver/unbind
echo dma_map_benchmark >/sys/bus/pci/devices/$dev/driver_override
echo $dev >/sys/bus/pci/drivers_probe
drv=$(readlink /sys/bus/pci/devices/$dev/driver)
[ "${{drv##*/}}" = dma_map_benchmark ] && [ -e /sys/kernel/debug/dma_map_benchmark ] ||
	{{ echo "dma-bench: $dev not bound to dma_map_benchmark"; exit 1; }}
group=$(readlink /sys/bus/pci/devices/$dev/iommu_group)
type=/sys/kernel/iommu_groups/${{group##*/}}/type
[ -n "$group" ] || {{ echo "dma-bench: $dev is in no IOMMU group"; exit 1; }}
echo "dma-bench: $dev bound to ${{drv##*/}}, IOMMU group ${{group##*/}}"
for mode in strict lazy; do
	if [ $mode = lazy ]; then
		echo DMA-FQ >$type || {{ echo "dma-bench: no DMA-FQ through $type"; exit 1; }}
	fi
	echo "DMA-BENCH-DOMAIN $mode $(cat $type)"
	for t in {threads}; do
		for g in {granules}; do
			echo "DMA-BENCH $mode t$t g$g"
			./dma_map_benchmark -t $t -g $g -s {seconds} || status=1
		done
	done
done
# The IOTLB flush benchmark, on the same device.
echo $dev >/sys/bus/pci/devices/$dev/driver/unbind
echo iommu_flush_bench >/sys/bus/pci/devices/$dev/driver_override
echo $dev >/sys/bus/pci/drivers_probe
run=/sys/kernel/debug/iommu_flush_bench/run
[ -e $run ] || {{ echo "flush-bench: $dev not bound to iommu_flush_bench"; exit 1; }}
cpus=$(ls -d /sys/devices/system/cpu/cpu[0-9]* | wc -l)
for t in {flush_threads}; do
	[ $t -le $cpus ] || continue
	echo "FLUSH-BENCH t$t"
	{{ echo "$t {flush_ms}" >$run && cat $run; }} || status=1
done
exit $status
"""


def write_payload(where: Path, quick=False):
    """The payload directory of a bench boot, at `where`: its run script and dma_map_benchmark."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "run").write_text(PAYLOAD.format(
        iommu_bench_args="-q" if quick else "",
        threads=" ".join(map(str, DMA_THREADS)), granules=" ".join(map(str, DMA_GRANULES)),
        seconds=DMA_SECONDS_QUICK if quick else DMA_SECONDS,
        flush_threads=" ".join(map(str, FLUSH_THREADS)),
        flush_ms=FLUSH_MS_QUICK if quick else FLUSH_MS))
    (where / "run").chmod(0o755)
    shutil.copy2(harness.build_dma_map_benchmark(), where / "dma_map_benchmark")


def parse(text):
    """{name: (value, unit)} of the BENCH lines of a guest's output."""
    return {m.group(1): (int(m.group(2)), m.group(3)) for m in BENCH.finditer(text)}


DMA_CASE = re.compile(r"^DMA-BENCH (\w+) t(\d+) g(\d+)\s*$", re.M)
DMA_DOMAIN = re.compile(r"^DMA-BENCH-DOMAIN (\w+) (\S+)\s*$", re.M)
DMA_LATENCY = re.compile(r"^average (map|unmap) latency\(us\):(\d+\.\d) ", re.M)


def dma_name(mode, threads, granule):
    return f"dma_{mode}_t{threads}_g{granule}"


def parse_dma(text):
    """The dma_map_benchmark results of a guest's output: ({name: (ns, "ns")}, problems). Per
    case the average latency of a map and of an unmap (NAME_map, NAME_unmap), and of both
    (NAME); the kernel averages 100 ns units, so they are to 100 ns. A case is counted only
    where the group's domain was the mode's (DMA_MODES)."""
    got, why = {}, []
    domains = dict(DMA_DOMAIN.findall(text))
    for mode, want in DMA_MODES.items():
        if mode in domains and domains[mode] != want:
            why.append(f"dma_map_benchmark {mode}: the group's domain was {domains[mode]}, "
                       f"not {want}")
    cases = list(DMA_CASE.finditer(text))
    for i, m in enumerate(cases):
        mode, t, g = m.group(1), int(m.group(2)), int(m.group(3))
        if domains.get(mode) != DMA_MODES.get(mode):
            continue
        end = cases[i + 1].start() if i + 1 < len(cases) else len(text)
        lat = dict(DMA_LATENCY.findall(text[m.end():end]))
        if set(lat) != {"map", "unmap"}:
            why.append(f"dma_map_benchmark {mode} t{t} g{g}: no map and unmap latency")
            continue
        ns = {k: round(float(v) * 1000) for k, v in lat.items()}
        name = dma_name(mode, t, g)
        got[name] = (ns["map"] + ns["unmap"], "ns")
        got[name + "_map"] = (ns["map"], "ns")
        got[name + "_unmap"] = (ns["unmap"], "ns")
    return got, why


FLUSH_CASE = re.compile(r"^FLUSH-BENCH t(\d+)\s*$", re.M)
FLUSH_RESULT = re.compile(r"^threads (\d+) ms \d+ flushes (\d+) flushes_per_s \d+ "
                          r"mean_ns (\d+) max_ns (\d+)\s*$", re.M)


def parse_flush(text):
    """The IOTLB flush benchmark's results of a guest's output: ({name: (ns, "ns")}, problems).
    Per thread count N, the mean time of a flush as its thread saw it (flush_tN) and the
    longest (flush_tN_max)."""
    got, why = {}, []
    cases = list(FLUSH_CASE.finditer(text))
    for i, m in enumerate(cases):
        t = int(m.group(1))
        end = cases[i + 1].start() if i + 1 < len(cases) else len(text)
        r = FLUSH_RESULT.search(text, m.end(), end)
        if not r or int(r.group(1)) != t or int(r.group(2)) == 0:
            why.append(f"iommu_flush_bench t{t}: no result")
            continue
        got[f"flush_t{t}"] = (int(r.group(3)), "ns")
        got[f"flush_t{t}_max"] = (int(r.group(4)), "ns")
    return got, why


def expected(viommu, smp):
    """The measures every boot of a guest with `smp` CPUs must give: with a vIOMMU (`viommu`: a
    CANWBS boot), the command queue's too."""
    names = ["map_4k", "unmap_4k", "map_2m", "unmap_2m", "blk_read"]
    if viommu:
        names += [f"cmdq_t{n}{s}" for n in (1, 2, 4) for s in ("", "_max")]
    for c in DMA_CASES:
        names += [dma_name(*c) + s for s in ("", "_map", "_unmap")]
    names += [f"flush_t{n}{s}" for n in FLUSH_THREADS if n <= smp for s in ("", "_max")]
    return names


def results_of(b, viommu, smp):
    """(measures, problems) of bench boot `b` (a guest with `smp` CPUs): every measure it gave,
    and why it does not count (a failed boot, a guest exit status, a measure of expected()
    missing)."""
    got = parse(b.text)
    dma, why = parse_dma(b.text)
    got.update(dma)
    flush, flush_why = parse_flush(b.text)
    got.update(flush)
    why = list(b.failures) + why + flush_why
    if b.guest_status not in (0, None):
        why.append(f"guest exited {b.guest_status}")
    missing = [n for n in expected(viommu, smp) if n not in got]
    if missing:
        why.append(f"no {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}")
    return got, why


# The machine of --quick (qemu-ci/test's stage too): the one every measure runs on.
QUICK_MACHINE = {"canwbs": True, "smp": 2}


# QEMU's instruction counting (--icount): the guest's clock advances by one nanosecond per
# instruction executed, whatever the host does meanwhile, so that a measure counts the drivers'
# instructions rather than the host's noise. It runs every vCPU in one host thread (no MTTCG):
# a multi-thread measure then shows the vCPUs' instructions interleaved, not parallelism.
ICOUNT = ("-icount", "shift=0")


def boot_command(initrd, driver, smmu_stages="nested", smp=2, canwbs=False, icount=False):
    """The QEMU command of one bench boot (a later -smp overrides the harness's; none when it
    is the harness's, so that the machine is the one qemu-ci/test's CANWBS boots read the IORT
    of, which harness.machine_iort() keeps per machine); with `icount`, guest time counted in
    instructions (ICOUNT)."""
    base = harness.QEMU_BASE[harness.QEMU_BASE.index("-smp") + 1]
    args = ("-smp", str(smp)) if str(smp) != base else ()
    if icount:
        args += ICOUNT
    return harness.qemu_command(initrd, "payload", driver, stages=smmu_stages, qemu_args=args,
                                acpi=canwbs,
                                iort="canwbs" if canwbs else None)


def is_rate(unit):
    """Whether a measure in `unit` is a throughput (higher is better), not a time."""
    return unit.endswith("/s")


def rows(results):
    """The measures of `results` ({driver: [{name: (value, unit)}, ...]}) in order, each
    (name, unit, {driver: values of its rounds})."""
    names = []
    for runs in results.values():
        for r in runs:
            names += [n for n in r if n not in names]
    out = []
    for n in names:
        unit = next(r[n][1] for runs in results.values() for r in runs if n in r)
        out.append((n, unit, {d: [r[n][0] for r in runs if n in r]
                              for d, runs in results.items()}))
    return out


def time_ratio(unit, rust, c):
    """Rust's cost relative to C's from values of a measure in `unit`: time over time, or C's
    throughput over Rust's; below 1, the Rust driver is faster. None without both."""
    if not rust or not c:
        return None
    return c / rust if is_rate(unit) else rust / c


def table(results):
    """The comparison as lines: results is {driver: [{name: (value, unit)}, ...]}. The last
    column is the Rust driver's time relative to C's (time_ratio() of the medians)."""
    drivers = list(results)
    measures = rows(results)
    width = max([12] + [len(n) + 2 for n, _, _ in measures])
    both = set(drivers) >= {"c", "rust"}
    head = f"{'measure':<{width}}" + "".join(f"{d + ' (median, spread)':>28}" for d in drivers)
    if both:
        head += f"{'rust/c time':>13}"
    lines = [head]
    for n, unit, vals in measures:
        med = {d: statistics.median(v) for d, v in vals.items() if v}
        # The spread of the rounds, (max - min) / median: what the ratio can be trusted to.
        spread = {d: (max(vals[d]) - min(vals[d])) / med[d] if med[d] else 0 for d in med}
        line = f"{n:<{width}}" + "".join(
            f"{f'{med[d]:.0f} {unit} ({spread[d]:.0%})' if d in med else '-':>28}"
            for d in drivers)
        ratio = time_ratio(unit, med.get("rust"), med.get("c")) if both else None
        if ratio is not None:
            line += f"{ratio:>13.2f}"
        lines.append(line)
    return lines


# The measures a plot shows: not the map/unmap halves of dma_map_benchmark's cases, nor the
# worst waits (single events: the table has them).
def plotted(name):
    return not name.endswith(("_map", "_unmap", "_max"))


def report_page(results, title, command, conditions, png, commit):
    """The rst page of a report: title, the command that made it at `commit`, the conditions,
    the plot `png` and the table."""
    head = f"Benchmark: {title}"
    page = [".. SPDX-License-Identifier: GPL-2.0", "", "=" * len(head), head, "=" * len(head),
            "", f"Made by ``qemu-ci/bench`` at {commit} with::", "", f"    {command}", "",
            f"{conditions}.", "",
            "The plot shows each measure's Rust time relative to C's (a throughput is "
            "inverted): below 1 the Rust driver is faster. The table gives every measure, "
            "with the spread of the rounds, (max - min) / median.", "",
            f".. image:: {png}", "   :alt: Rust / C time per measure", "", "::", ""]
    page += [f"    {line}".rstrip() for line in table(results)]
    return "\n".join(page) + "\n"


def has_matplotlib():
    """Whether write_report() can draw its plot."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def commit():
    """The commit of the tree the kernel is built from, as git describes it (-dirty with
    uncommitted changes): taken before the boots, since the tree may change meanwhile."""
    return subprocess.run(["git", "-C", str(harness.REPO), "describe", "--always", "--dirty"],
                          capture_output=True, text=True).stdout.strip() or "an unknown commit"


def write_report(results, out, title, command, conditions, commit):
    """Writes `out`.rst (a page for Documentation/: the command that made it, the conditions,
    the plot and the table) and `out`.png (each plotted measure's time_ratio() of the medians,
    with the range of the rounds' ratios). Needs matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise HarnessError("--out needs python3's matplotlib (pip install matplotlib)")
    out = Path(out)
    measures = [(n, u, v) for n, u, v in rows(results) if plotted(n)
                and v.get("rust") and v.get("c")]
    if not measures:
        raise HarnessError("--out: no measure of both drivers to plot")
    names = [n for n, _, _ in measures]
    mid, lo, hi = [], [], []
    for _, unit, v in measures:
        r = time_ratio(unit, statistics.median(v["rust"]), statistics.median(v["c"]))
        every = [time_ratio(unit, a, b) for a in v["rust"] for b in v["c"]]
        mid.append(r)
        lo.append(r - min(every))
        hi.append(max(every) - r)
    fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1.6))
    ax.barh(range(len(names)), mid, xerr=[lo, hi], capsize=2,
            color=["tab:green" if m <= 1 else "tab:red" for m in mid])
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(names)), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("Rust / C time per operation (median; whiskers: range over rounds)")
    ax.set_title(f"{title}\n{conditions}", fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out.with_suffix(".png"), dpi=110)
    plt.close(fig)
    out.with_suffix(".rst").write_text(report_page(results, title, command, conditions,
                                                   out.with_suffix(".png").name, commit))
    return out.with_suffix(".rst"), out.with_suffix(".png")


def check_built():
    """HarnessError unless the kernel has the DMA API and IOTLB flush benchmarks."""
    config = harness.kernel_config()
    for sym in ("CONFIG_DMA_MAP_BENCHMARK", "CONFIG_IOMMU_FLUSH_BENCHMARK"):
        if config.get(sym) != "y":
            raise HarnessError(f"{sym} is not set in the kernel (qemu-ci/build)")
