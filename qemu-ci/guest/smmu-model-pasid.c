// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-pasid: PASID attach through iommufd, with PASID-tagged DMA from
 * the project QEMU's iommu-pcie-testdev on an SMMU with SubstreamIDs
 * (qemu-ci/run --smmu-features ssid; Documentation/iommu-rs/qemu-model.rst).
 *
 * The endpoint is bound to vfio-pci and opened through its cdev. Its RID is
 * attached to a PASID-capable HWPT (IOMMU_HWPT_ALLOC_PASID) on one IOAS,
 * PASIDs 5 and 9 to HWPTs on two other IOASes; the same IOVA is mapped in
 * all three to a different page each. A DMA write at that IOVA must land in
 * exactly the page of its PASID's domain (the RID's without a PASID), a DMA
 * read must fetch from it, a PASID with nothing attached must fault and move
 * nothing, and a detached PASID must fault from then on. Also: iommufd
 * reports the PASID width the SMMU and the endpoint share, a PASID beyond it
 * is refused, replacing a PASID's domain moves its DMA to the new one, and
 * with the RID blocked the PASIDs keep translating. Output is KTAP.
 *
 * Usage: smmu-model-pasid [-d BDF] test
 */
#include "vfio-lib.h"
#include "iptd.h"

#define IOVA		0x100000UL
#define NO_PASID	0
#define PASID_A		5
#define PASID_B		9
#define PASID_NONE	6	/* never attached */

/* Return -1 (failmsg already set) when x fails. */
#define TRY(x) do { if (x) return -1; } while (0)

static struct ctx c;
static char bdf[32];
static struct iptd_space rid, sa, sb;

static uint32_t rd(unsigned int off)
{
	return *(volatile uint32_t *)(c.bar + off);
}

static void wr(unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(c.bar + off) = val;
}

/* Run one DMA of 16 bytes at IOVA; returns the endpoint's status. */
static uint32_t dma(uint32_t cmd, uint32_t pasid)
{
	wr(IPTD_DMA_ADDR, (uint32_t)IOVA);
	wr(IPTD_DMA_ADDR + 4, 0);
	wr(IPTD_DMA_LEN, 16);
	wr(IPTD_DMA_PASID, pasid ? IPTD_PASID_VALID | pasid : 0);
	wr(IPTD_DMA_CMD, cmd);
	return rd(IPTD_DMA_STATUS);
}

static void fill_buf(uint32_t tag)
{
	for (int i = 0; i < 4; i++)
		wr(IPTD_BUF + 4 * i, tag + i);
}

static int page_has(struct iptd_space *s, uint32_t tag, const char *what)
{
	for (int i = 0; i < 4; i++)
		CHECK(s->page[i] == tag + i, "%s: word %d is %#x, want %#x", what, i,
		      s->page[i], tag + i);
	return 0;
}

static int attach(struct iptd_space *s, uint32_t pasid)
{
	return iptd_space_attach(&c, s, pasid);
}

/* The pages' fill words, to see that a DMA wrote nowhere else. */
#define FILL_RID 0x11111111u
#define FILL_A 0xaaaaaaaau
#define FILL_B 0xbbbbbbbbu

static int untouched(struct iptd_space *s, uint32_t fill, const char *what)
{
	for (size_t i = 0; i < PAGE / 4; i++)
		CHECK(s->page[i] == fill, "%s page word %zu is %#x: written by another PASID's DMA",
		      what, i, s->page[i]);
	return 0;
}

static int test_pasid_enabled(void)
{
	char path[96];
	uint8_t cfg[0x108];
	uint16_t ctrl;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	f = fopen(path, "rb");
	CHECK(f, "open %s: %s", path, strerror(errno));
	CHECK(fread(cfg, 1, sizeof(cfg), f) == sizeof(cfg), "read %s", path);
	fclose(f);
	CHECK((cfg[IPTD_PASID_CAP] | cfg[IPTD_PASID_CAP + 1] << 8) == 0x1b,
	      "no PASID capability at %#x", IPTD_PASID_CAP);
	ctrl = cfg[IPTD_PASID_CAP + 6] | cfg[IPTD_PASID_CAP + 7] << 8;
	CHECK(ctrl & 1, "the kernel did not enable PASID (control %#x)", ctrl);
	CHECK(rd(IPTD_FEATURES) & IPTD_FEATURE_PASID, "endpoint without PASID DMA");
	return 0;
}

/* The PASID width of the endpoint's capability (Max PASID Width). */
static unsigned int dev_pasid_bits(void)
{
	char path[96];
	uint8_t cfg[IPTD_PASID_CAP + 8];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	f = fopen(path, "rb");
	if (!f)
		return 0;
	if (fread(cfg, 1, sizeof(cfg), f) != sizeof(cfg))
		cfg[IPTD_PASID_CAP + 5] = 0;
	fclose(f);
	return cfg[IPTD_PASID_CAP + 5] & 0x1f;
}

static unsigned int max_pasid_log2;

/* IOMMU_GET_HW_INFO: the PASID width is the narrower of IDR1.SSIDSIZE and the endpoint's. */
static int test_max_pasid_reported(void)
{
	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.dev_id = c.devid,
		.data_len = sizeof(smmu),
		.data_uptr = (uintptr_t)&smmu,
	};
	unsigned int ssidsize, dev_bits, want;

	CHECK(!ioctl(c.iommufd, IOMMU_GET_HW_INFO, &info), "IOMMU_GET_HW_INFO: %s",
	      strerror(errno));
	CHECK(info.out_data_type == IOMMU_HW_INFO_TYPE_ARM_SMMUV3, "hw_info type %u",
	      info.out_data_type);
	ssidsize = (smmu.idr[1] >> 6) & 0x1f;
	dev_bits = dev_pasid_bits();
	want = ssidsize < dev_bits ? ssidsize : dev_bits;
	CHECK(ssidsize > 0, "IDR1.SSIDSIZE is 0: the SMMU has no SubstreamIDs");
	CHECK(info.out_max_pasid_log2 == want,
	      "out_max_pasid_log2 %u, want %u (SSIDSIZE %u, endpoint %u bits)",
	      info.out_max_pasid_log2, want, ssidsize, dev_bits);
	max_pasid_log2 = info.out_max_pasid_log2;
	return 0;
}

static int test_rid_dma(void)
{
	TRY(attach(&rid, NO_PASID));
	fill_buf(0x1000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, NO_PASID) == IPTD_STATUS_OK, "DMA write without PASID: status %u",
	      rd(IPTD_DMA_STATUS));
	return page_has(&rid, 0x1000, "RID page");
}

static int test_pasid_attach(void)
{
	TRY(attach(&sa, PASID_A));
	return attach(&sb, PASID_B);
}

static int test_pasid_dma_lands_in_its_domain(void)
{
	fill_buf(0xa000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_A) == IPTD_STATUS_OK, "DMA write, PASID %d: status %u",
	      PASID_A, rd(IPTD_DMA_STATUS));
	TRY(page_has(&sa, 0xa000, "PASID 5 page"));
	TRY(untouched(&sb, FILL_B, "PASID 9"));
	TRY(page_has(&rid, 0x1000, "RID page"));

	fill_buf(0xb000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK, "DMA write, PASID %d: status %u",
	      PASID_B, rd(IPTD_DMA_STATUS));
	TRY(page_has(&sb, 0xb000, "PASID 9 page"));
	TRY(page_has(&sa, 0xa000, "PASID 5 page"));

	fill_buf(0x2000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, NO_PASID) == IPTD_STATUS_OK, "DMA write without PASID: status %u",
	      rd(IPTD_DMA_STATUS));
	TRY(page_has(&rid, 0x2000, "RID page"));
	TRY(page_has(&sa, 0xa000, "PASID 5 page"));
	return page_has(&sb, 0xb000, "PASID 9 page");
}

static int test_pasid_dma_read(void)
{
	fill_buf(0);
	CHECK(dma(IPTD_DMA_CMD_READ, PASID_B) == IPTD_STATUS_OK, "DMA read, PASID %d: status %u",
	      PASID_B, rd(IPTD_DMA_STATUS));
	for (int i = 0; i < 4; i++)
		CHECK(rd(IPTD_BUF + 4 * i) == 0xb000u + i, "read word %d: %#x, want %#x", i,
		      rd(IPTD_BUF + 4 * i), 0xb000 + i);
	return 0;
}

/* A PASID beyond the reported width is refused with EINVAL. */
static int test_bad_pasid_refused(void)
{
	const uint32_t bad[] = { 1u << max_pasid_log2, 0x100000 };

	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vfio_device_attach_iommufd_pt at = {
			.argsz = sizeof(at),
			.flags = VFIO_DEVICE_ATTACH_PASID,
			.pt_id = sa.hwpt,
			.pasid = bad[i],
		};
		int r = ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);

		CHECK(r && errno == EINVAL, "attach PASID %#x: %s, want EINVAL", bad[i],
		      r ? strerror(errno) : "accepted");
	}
	/* Nothing changed: PASID 9 still lands in its own page. */
	fill_buf(0xb200);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK, "DMA write, PASID %d: status %u",
	      PASID_B, rd(IPTD_DMA_STATUS));
	return page_has(&sb, 0xb200, "PASID 9 page");
}

/* Replacing PASID 9's domain moves its DMA; putting it back moves it back. */
static int test_pasid_replace(void)
{
	TRY(attach(&sa, PASID_B));
	fill_buf(0xc000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK,
	      "DMA write, PASID %d after replace: status %u", PASID_B, rd(IPTD_DMA_STATUS));
	TRY(page_has(&sa, 0xc000, "PASID 5's page, through PASID 9 after replace"));
	TRY(page_has(&sb, 0xb200, "PASID 9's old page"));
	TRY(attach(&sb, PASID_B));
	fill_buf(0xb000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK,
	      "DMA write, PASID %d after replacing back: status %u", PASID_B, rd(IPTD_DMA_STATUS));
	TRY(page_has(&sb, 0xb000, "PASID 9 page"));
	/* PASID 5 kept its domain all along. */
	fill_buf(0xa000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_A) == IPTD_STATUS_OK, "DMA write, PASID %d: status %u",
	      PASID_A, rd(IPTD_DMA_STATUS));
	return page_has(&sa, 0xa000, "PASID 5 page");
}

/*
 * The RID detached (blocked) while PASIDs have domains: DMA without a PASID
 * faults, the PASIDs still translate; attaching the RID again restores it.
 */
static int test_rid_blocked_pasids_work(void)
{
	struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };

	CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt),
	      "VFIO_DEVICE_DETACH_IOMMUFD_PT(RID): %s", strerror(errno));
	fill_buf(0xdead0000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, NO_PASID) == IPTD_STATUS_DMA_ERROR,
	      "DMA write without PASID, RID detached: status %u, want a DMA error",
	      rd(IPTD_DMA_STATUS));
	TRY(page_has(&rid, 0x2000, "RID page"));
	fill_buf(0xb300);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK,
	      "DMA write, PASID %d, RID detached: status %u", PASID_B, rd(IPTD_DMA_STATUS));
	TRY(page_has(&sb, 0xb300, "PASID 9 page"));
	TRY(attach(&rid, NO_PASID));
	fill_buf(0x3000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, NO_PASID) == IPTD_STATUS_OK,
	      "DMA write without PASID, RID attached again: status %u", rd(IPTD_DMA_STATUS));
	TRY(page_has(&rid, 0x3000, "RID page"));
	fill_buf(0xb000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK, "DMA write, PASID %d: status %u",
	      PASID_B, rd(IPTD_DMA_STATUS));
	return page_has(&sb, 0xb000, "PASID 9 page");
}

static int test_unattached_pasid_faults(void)
{
	fill_buf(0xdead0000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_NONE) == IPTD_STATUS_DMA_ERROR,
	      "DMA write with PASID %d, attached to nothing: status %u, want a DMA error", PASID_NONE,
	      rd(IPTD_DMA_STATUS));
	TRY(page_has(&rid, 0x3000, "RID page"));
	TRY(page_has(&sa, 0xa000, "PASID 5 page"));
	return page_has(&sb, 0xb000, "PASID 9 page");
}

static int test_pasid_detach(void)
{
	struct vfio_device_detach_iommufd_pt dt = {
		.argsz = sizeof(dt), .flags = VFIO_DEVICE_DETACH_PASID, .pasid = PASID_A,
	};

	CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt),
	      "VFIO_DEVICE_DETACH_IOMMUFD_PT(pasid %d): %s", PASID_A, strerror(errno));
	fill_buf(0xdead0000);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_A) == IPTD_STATUS_DMA_ERROR,
	      "DMA write with detached PASID %d: status %u, want a DMA error", PASID_A,
	      rd(IPTD_DMA_STATUS));
	TRY(page_has(&sa, 0xa000, "PASID 5 page"));
	/* the other PASID is still attached */
	fill_buf(0xb100);
	CHECK(dma(IPTD_DMA_CMD_WRITE, PASID_B) == IPTD_STATUS_OK, "DMA write, PASID %d: status %u",
	      PASID_B, rd(IPTD_DMA_STATUS));
	return page_has(&sb, 0xb100, "PASID 9 page");
}

/* Each case builds on the one before: after a failure, the rest cannot run. */
static const struct ktap_case cases[] = {
	{ "pasid_enabled_by_the_kernel", test_pasid_enabled },
	{ "max_pasid_reported", test_max_pasid_reported },
	{ "rid_dma_in_a_pasid_capable_domain", test_rid_dma },
	{ "pasid_attach", test_pasid_attach },
	{ "pasid_dma_lands_in_its_domain", test_pasid_dma_lands_in_its_domain },
	{ "pasid_dma_read", test_pasid_dma_read },
	{ "bad_pasid_refused", test_bad_pasid_refused },
	{ "pasid_replace", test_pasid_replace },
	{ "rid_blocked_pasids_keep_working", test_rid_blocked_pasids_work },
	{ "unattached_pasid_faults", test_unattached_pasid_faults },
	{ "detached_pasid_faults", test_pasid_detach },
};

static int setup(const char *dev)
{
	return ctx_open(&c, "iommufd", dev) || iptd_space_init(&c, &rid, c.ioas, IOVA, FILL_RID) ||
	       iptd_space_init(&c, &sa, 0, IOVA, FILL_A) ||
	       iptd_space_init(&c, &sb, 0, IOVA, FILL_B) ? -1 : 0;
}

static void teardown(void)
{
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-pasid", &iptd_id, argc, argv, bdf, setup, teardown, cases,
			    sizeof(cases) / sizeof(cases[0]), 1);
}
