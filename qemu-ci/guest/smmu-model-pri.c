// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-pri: Page Requests of iommu-pcie-testdev behind the project QEMU's
 * SMMUv3 with PRI (qemu-ci/run --smmu-features pri;
 * Documentation/iommu-rs/qemu-model.rst), answered by the kernel's SMMU driver.
 *
 * The endpoint is bound to vfio-pci and opened through its cdev, its RID
 * attached to an IOAS. Unless the kernel enabled its Page Request Interface,
 * the program enables it through the device's config space (as a VMM giving
 * the device to a guest would). A Page Request Group of one request must be
 * answered: the SMMU puts the request in its PRI queue, the driver takes it
 * from there and sends CMD_PRI_RESP, and the endpoint receives the response
 * for that group (any response code: which one is the driver's policy; the
 * code is printed). A group of two requests must be answered once, after its
 * last request. No response may name a group the endpoint does not wait for.
 * Output is KTAP.
 *
 * Usage: smmu-model-pri [-d BDF] test
 */
#include <time.h>

#include "vfio-lib.h"
#include "iptd.h"

/* PCIe Page Request extended capability */
#define PCI_EXT_CAP_ID_PRI	0x13
#define PCI_PRI_CTRL		0x04
#define PCI_PRI_CTRL_ENABLE	0x0001
#define PCI_PRI_STATUS		0x06
#define PCI_PRI_STATUS_UPRGI	0x0002
#define PCI_PRI_ALLOC_REQ	0x0c

#define IOVA		0x400000UL

#define TRY(x) do { if (x) return -1; } while (0)

static struct ctx c;
static char bdf[32];
static int kernel_enabled_pri;

static uint32_t rd(unsigned int off)
{
	return *(volatile uint32_t *)(c.bar + off);
}

static void wr(unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(c.bar + off) = val;
}

/* Config space through sysfs (the device itself, not vfio's virtualized view). */
static int cfg_rw(unsigned int off, void *buf, size_t len, int write)
{
	char path[96];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, write ? O_WRONLY : O_RDONLY);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	CHECK(n == (ssize_t)len, "%s %s at %#x: %s", write ? "write" : "read", path, off,
	      strerror(errno));
	return 0;
}

static int cfg16(unsigned int off, uint16_t *val)
{
	return cfg_rw(off, val, 2, 0);
}

/* A Page Request for IOVA + @page pages; returns the endpoint's PRI status. */
static uint32_t page_request(int page, uint32_t req)
{
	uint64_t addr = IOVA + page * PAGE;

	wr(IPTD_DMA_ADDR, (uint32_t)addr);
	wr(IPTD_DMA_ADDR + 4, addr >> 32);
	wr(IPTD_DMA_PASID, 0);
	wr(IPTD_PRI_REQ, req);
	wr(IPTD_PRI_CMD, IPTD_PRI_CMD_REQUEST);
	return rd(IPTD_PRI_STATUS);
}

/* Wait up to 2 s for the response of the group the endpoint waits for. */
static uint32_t wait_response(void)
{
	struct timespec ts = { 0, 1000000 };
	uint32_t st = rd(IPTD_PRI_STATUS);

	for (int i = 0; i < 2000 && st == IPTD_STATUS_PRI_WAITING; i++) {
		nanosleep(&ts, NULL);
		st = rd(IPTD_PRI_STATUS);
	}
	return st;
}

static int test_pri_enabled(void)
{
	uint16_t id, ctrl;

	CHECK(rd(IPTD_FEATURES) & IPTD_FEATURE_PRI, "the endpoint has no PRI (features %#x)",
	      rd(IPTD_FEATURES));
	TRY(cfg16(IPTD_PRI_CAP, &id));
	CHECK(id == PCI_EXT_CAP_ID_PRI, "no PRI capability at %#x (id %#x)", IPTD_PRI_CAP, id);
	TRY(cfg16(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl));
	kernel_enabled_pri = ctrl & PCI_PRI_CTRL_ENABLE;
	printf("# PRI %s by the kernel\n", kernel_enabled_pri ? "enabled" : "not enabled");
	if (!kernel_enabled_pri) {
		uint32_t alloc = 32;

		TRY(cfg_rw(IPTD_PRI_CAP + PCI_PRI_ALLOC_REQ, &alloc, 4, 1));
		ctrl |= PCI_PRI_CTRL_ENABLE;
		TRY(cfg_rw(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl, 2, 1));
		TRY(cfg16(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl));
		CHECK(ctrl & PCI_PRI_CTRL_ENABLE, "PRI Enable does not stick (control %#x)", ctrl);
	}
	return 0;
}

static int test_request_answered(void)
{
	uint32_t before = rd(IPTD_PRI_RESP_COUNT);
	uint32_t st = page_request(0, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_WRITE |
				      IPTD_PRI_REQ_LAST | 3 << 16);

	/* the driver may have answered already, from another CPU */
	CHECK(st == IPTD_STATUS_PRI_WAITING || st == IPTD_STATUS_OK,
	      "Page Request: status %u (1: the SMMU discarded it)", st);
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response to PRG 3 within 2 s (status %u, %u responses)",
	      st, rd(IPTD_PRI_RESP_COUNT) - before);
	CHECK(rd(IPTD_PRI_RESP_PRGI) == 3, "the response names PRG %u, want 3",
	      rd(IPTD_PRI_RESP_PRGI));
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before + 1, "%u responses to one group",
	      rd(IPTD_PRI_RESP_COUNT) - before);
	printf("# response code %#x (0 Success, 1 Invalid Request, 0xf Response Failure)\n",
	       rd(IPTD_PRI_RESP_CODE));
	return 0;
}

static int test_group_answered_once(void)
{
	uint32_t before = rd(IPTD_PRI_RESP_COUNT), st;

	st = page_request(1, IPTD_PRI_REQ_READ | 7 << 16);
	CHECK(st == IPTD_STATUS_PRI_SENT, "first request of PRG 7: status %u", st);
	usleep(100000);
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before, "a response came before the group's last request");
	st = page_request(2, IPTD_PRI_REQ_WRITE | IPTD_PRI_REQ_LAST | 7 << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING || st == IPTD_STATUS_OK,
	      "last request of PRG 7: status %u", st);
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response to PRG 7 within 2 s (status %u)", st);
	/* a late second response would show as a count of 2 */
	usleep(100000);
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before + 1, "%u responses to a group of two requests",
	      rd(IPTD_PRI_RESP_COUNT) - before);
	CHECK(rd(IPTD_PRI_RESP_PRGI) == 7, "the response names PRG %u, want 7",
	      rd(IPTD_PRI_RESP_PRGI));
	return 0;
}

static int test_no_unexpected_response(void)
{
	uint16_t status;

	TRY(cfg16(IPTD_PRI_CAP + PCI_PRI_STATUS, &status));
	CHECK(!(status & PCI_PRI_STATUS_UPRGI),
	      "PRI status %#x: a response named a group the endpoint did not wait for", status);
	return 0;
}

static const struct ktap_case cases[] = {
	{ "pri_enabled", test_pri_enabled },
	{ "page_request_answered", test_request_answered },
	{ "group_answered_once_after_its_last_request", test_group_answered_once },
	{ "no_unexpected_prg_response", test_no_unexpected_response },
};

static int setup(const char *dev)
{
	return ctx_open(&c, "iommufd", dev);
}

static void teardown(void)
{
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-pri", &iptd_id, argc, argv, bdf, setup, teardown, cases,
			    sizeof(cases) / sizeof(cases[0]), 0);
}
