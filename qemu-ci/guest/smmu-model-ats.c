// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-ats: ATS of iommu-pcie-testdev behind the project QEMU's SMMUv3
 * with ATS (qemu-ci/run --smmu-features ats; Documentation/iommu-rs/qemu-model.rst),
 * driven through vfio-pci and iommufd.
 *
 * The endpoint is bound to vfio-pci and opened through its cdev, its RID
 * attached to an IOAS with one page mapped. The kernel must have enabled ATS
 * on it (its ATS Control register). A Translation Request for the IOVA must
 * return the physical address of the page with read and write permission, and
 * a translated write through the endpoint's ATC must land there. Unmapping
 * the page must invalidate the endpoint's ATC for a range covering it (the
 * endpoint counts the invalidations it receives and keeps the last one's
 * range), after which a translated write moves nothing and a new Translation
 * Request grants no access. Output is KTAP.
 *
 * Usage: smmu-model-ats [-d BDF] test
 */
#include "vfio-lib.h"
#include "iptd.h"

/* PCIe ATS extended capability */
#define PCI_EXT_CAP_ID_ATS	0x0f
#define PCI_ATS_CTRL		0x06
#define PCI_ATS_CTRL_ENABLE	0x8000

#define IOVA		0x300000UL
#define OFF		0x40

#define TRY(x) do { if (x) return -1; } while (0)

static struct ctx c;
static char bdf[32];
static uint32_t *page;
static uint64_t page_pa;
static uint32_t inv_before;

static uint32_t rd(unsigned int off)
{
	return iptd_rd(c.bar, off);
}

static uint64_t rd64(unsigned int off)
{
	return iptd_rd64(c.bar, off);
}

/* A Translation Request for IOVA; returns the endpoint's ATS status. */
static uint32_t translate(void)
{
	return iptd_translate(c.bar, IOVA, 0);
}

/* A translated write of @tag at IOVA + OFF through the ATC; returns the DMA status. */
static uint32_t translated_write(uint32_t tag)
{
	return iptd_translated_write(c.bar, IOVA + OFF, 0, tag);
}

static int test_ats_enabled(void)
{
	char path[96];
	uint8_t cfg[IPTD_ATS_CAP + 8];
	uint16_t ctrl;
	FILE *f;

	CHECK(rd(IPTD_FEATURES) & IPTD_FEATURE_ATS, "the endpoint has no ATS (features %#x)",
	      rd(IPTD_FEATURES));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	f = fopen(path, "rb");
	CHECK(f, "open %s: %s", path, strerror(errno));
	CHECK(fread(cfg, 1, sizeof(cfg), f) == sizeof(cfg), "read %s", path);
	fclose(f);
	CHECK((cfg[IPTD_ATS_CAP] | cfg[IPTD_ATS_CAP + 1] << 8) == PCI_EXT_CAP_ID_ATS,
	      "no ATS capability at %#x", IPTD_ATS_CAP);
	ctrl = cfg[IPTD_ATS_CAP + PCI_ATS_CTRL] | cfg[IPTD_ATS_CAP + PCI_ATS_CTRL + 1] << 8;
	CHECK(ctrl & PCI_ATS_CTRL_ENABLE,
	      "ATS Control %#x: the kernel did not enable ATS (does the firmware say the root "
	      "complex supports ATS?)", ctrl);
	return 0;
}

static int test_translation(void)
{
	uint32_t st = translate(), perm = rd(IPTD_ATS_PERM);

	CHECK(st == IPTD_STATUS_OK, "Translation Request for IOVA %#lx: status %u", IOVA, st);
	CHECK(rd64(IPTD_ATS_ADDR) == page_pa, "IOVA %#lx translated to %#llx, the page is at %#llx",
	      IOVA, (unsigned long long)rd64(IPTD_ATS_ADDR), (unsigned long long)page_pa);
	CHECK((perm & 3) == (IPTD_ATS_PERM_READ | IPTD_ATS_PERM_WRITE),
	      "permissions %#x, want read and write", perm);
	return 0;
}

static int test_translated_write(void)
{
	uint32_t st = translated_write(0xa7500001);

	CHECK(st == IPTD_STATUS_OK, "translated write: status %u", st);
	CHECK(page[OFF / 4] == 0xa7500001, "translated write did not land (word %#x)",
	      page[OFF / 4]);
	return 0;
}

static int test_unmap_invalidates_atc(void)
{
	uint64_t addr, mask;

	inv_before = rd(IPTD_ATC_INV_COUNT);
	TRY(ctx_unmap(&c, IOVA, PAGE));
	addr = rd64(IPTD_ATC_INV_ADDR);
	mask = rd64(IPTD_ATC_INV_MASK);
	CHECK(rd(IPTD_ATC_INV_COUNT) > inv_before,
	      "no ATC invalidation reached the endpoint on unmap (%u before and after)",
	      inv_before);
	CHECK(addr <= IOVA && addr + mask >= IOVA + PAGE - 1,
	      "the last ATC invalidation covers %#llx-%#llx, not the unmapped page %#lx",
	      (unsigned long long)addr, (unsigned long long)(addr + mask), IOVA);
	CHECK(rd(IPTD_ATC_INV_PASID) == 0, "the last ATC invalidation has PASID field %#x, "
	      "want none", rd(IPTD_ATC_INV_PASID));
	return 0;
}

static int test_translated_write_after_unmap(void)
{
	uint32_t before = page[OFF / 4], st = translated_write(0xbad00002);

	CHECK(page[OFF / 4] == before, "a translated write after the unmap landed (word %#x, was "
	      "%#x, status %u): the ATC kept the translation", page[OFF / 4], before, st);
	CHECK(st != IPTD_STATUS_OK, "a translated write after the unmap succeeded");
	st = translate();
	CHECK(st == IPTD_STATUS_NO_ACCESS, "Translation Request after the unmap: status %u "
	      "(permissions %#x), want a completion granting no access", st, rd(IPTD_ATS_PERM));
	return 0;
}

static const struct ktap_case cases[] = {
	{ "ats_enabled_by_the_kernel", test_ats_enabled },
	{ "translation_request_returns_the_mapping", test_translation },
	{ "translated_write_lands", test_translated_write },
	{ "unmap_invalidates_the_atc", test_unmap_invalidates_atc },
	{ "translated_write_after_unmap_moves_nothing", test_translated_write_after_unmap },
};

static int setup(const char *dev)
{
	TRY(ctx_open(&c, "iommufd", dev));
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(page, 0, PAGE);
	TRY(ctx_map(&c, page, IOVA, PAGE));
	page_pa = phys_of(page);
	CHECK(page_pa, "no physical address for the mapped page (/proc/self/pagemap)");
	return 0;
}

static void teardown(void)
{
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-ats", &iptd_id, argc, argv, bdf, setup, teardown, cases,
			    sizeof(cases) / sizeof(cases[0]), 0);
}
