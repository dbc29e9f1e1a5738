// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-rmr: an IORT Reserved Memory Range (RMR) for the StreamID of the
 * project QEMU's iommu-pcie-testdev (qemu-ci/run --smmu-features ats
 * --iort rmr: QEMU's IORT with an RMR node for StreamID 0x40 and 64 KiB of
 * RAM at 0x48000000, remapping permitted; Documentation/iommu-rs/qemu-model.rst).
 *
 * Firmware describes an RMR for a device it left doing DMA that must keep
 * working through the OS's SMMU setup. The Rust SMMUv3 driver must have let
 * the stream bypass from its reset on: it logs so (the C driver, which does
 * the same, logs nothing). The bypass must end once the device claims the
 * stream: its default domain then translates it. The IOMMU core maps a PCI
 * device's RMRs one to one in its domains (as reserved regions) only where the
 * firmware preserves the boot PCI configuration (_DSM function 5), which QEMU's
 * virt machine does not: the endpoint's group reports no such region, and its
 * DMA to the range, in its default domain, must fault. Output is KTAP.
 *
 * Usage: smmu-model-rmr [-d BDF] test
 */
#include "vfio-lib.h"
#include "iptd.h"

#define RMR_SID		0x40
#define RMR_BASE	0x48000000UL
#define RMR_LEN		0x10000UL

#define TRY(x) do { if (x) return -1; } while (0)

static char bdf[32];
static volatile uint8_t *bar;

/* A DMA read of 16 bytes at @addr by the endpoint; its status. */
static uint32_t dma_read(uint64_t addr)
{
	iptd_set_addr(bar, addr, 0);
	iptd_wr(bar, IPTD_DMA_LEN, 16);
	iptd_wr(bar, IPTD_DMA_CMD, IPTD_DMA_CMD_READ);
	return iptd_rd(bar, IPTD_DMA_STATUS);
}

/* Whether a kernel log record contains @what (the whole log, from /dev/kmsg). */
static int kmsg_has(const char *what)
{
	char rec[1024];
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK), found = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (!found && ((n = read(fd, rec, sizeof(rec) - 1)) > 0 || (n < 0 && errno == EPIPE))) {
		if (n > 0) {
			rec[n] = 0;
			found = strstr(rec, what) != NULL;
		}
	}
	close(fd);
	return found;
}

static int test_stream_bypassed_at_probe(void)
{
	char line[64];
	int r;

	if (access("/sys/bus/platform/drivers/arm_smmu_v3_rs", F_OK))
		return skip("not the Rust driver: the C driver logs nothing of its RMR bypass");
	snprintf(line, sizeof(line), "RMR: StreamID %#x bypasses", RMR_SID);
	r = kmsg_has(line);
	CHECK(r >= 0, "open /dev/kmsg: %s", strerror(errno));
	CHECK(r, "no \"%s\" in the kernel log: the driver did not take the firmware's RMR", line);
	return 0;
}

/*
 * The device's default domain, not the bypass, translates its stream: without
 * a preserved boot configuration the core maps no RMR region for it, so its
 * DMA to the range faults.
 */
static int test_bypass_ends_at_claim(void)
{
	char path[96], range[64], line[128];
	int grp = group_number(bdf), found = 0;
	FILE *f;

	CHECK(grp >= 0, "%s has no IOMMU group", bdf);
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions", grp);
	snprintf(range, sizeof(range), "0x%016lx 0x%016lx", RMR_BASE, RMR_BASE + RMR_LEN - 1);
	f = fopen(path, "r");
	CHECK(f, "open %s: %s", path, strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = !strncmp(line, range, strlen(range));
	fclose(f);
	CHECK(!found, "%s has the RMR (%s) although QEMU's firmware does not preserve the PCI "
	      "boot configuration: update this program", path, range);
	CHECK(dma_read(RMR_BASE) == IPTD_STATUS_DMA_ERROR, "a DMA read in the RMR succeeded "
	      "(status %u): the stream still bypasses after the device was claimed",
	      iptd_rd(bar, IPTD_DMA_STATUS));
	return 0;
}

static const struct ktap_case cases[] = {
	{ "rmr_stream_bypassed_at_probe", test_stream_bypassed_at_probe },
	{ "rmr_bypass_ends_at_claim", test_bypass_ends_at_claim },
};

static int setup(const char *dev)
{
	bar = iptd_sysfs_bar(dev);
	return bar ? 0 : -1;
}

static void teardown(void)
{
	if (bar)
		munmap((void *)bar, IPTD_BAR_SIZE);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-rmr", &iptd_id, argc, argv, bdf, setup, teardown, cases,
			    sizeof(cases) / sizeof(cases[0]), 0);
}
