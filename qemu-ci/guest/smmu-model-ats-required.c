// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-ats-required: a device that needs ATS whatever its translation
 * (Linux's pci_ats_required(): CXL.cache devices), on the project QEMU's
 * SMMUv3 with SubstreamIDs and ATS, the endpoint iommu-pcie-testdev saying
 * it is CXL.cache capable (qemu-ci/run --smmu-features ssid,ats,cxl-cache
 * --append iommu.passthrough=1; Documentation/iommu-rs/qemu-model.rst).
 *
 * In its identity default domain, with no driver, the endpoint must have
 * ATS on (the SMMU driver gives it a CD table STE whose S1DSS bypasses, with
 * EATS), and a Translation Request must return its own address with read and
 * write. Bound to vfio-pci and to iommufd, the device is blocked: ATS goes
 * off, as in the C driver (a blocked device does no DMA). On an IOAS with a
 * page mapped, ATS is on and a Translation Request returns the page. Given
 * back (vfio-pci unbound), the identity domain has ATS again. Output is
 * KTAP.
 *
 * Usage: smmu-model-ats-required [-d BDF] test
 */
#include <linux/pci_regs.h>

#include "vfio-lib.h"
#include "iptd.h"

#define ATS_CTRL		0x06
#define ATS_CTRL_ENABLE		0x8000
#define CXL_DVSEC_OFFSET	0x130
#define CXL_VENDOR_ID		0x1e98

#define IOVA		0x600000UL
#define IDENTITY_ADDR	0x40123000UL	/* any address: identity translates it to itself */

#define TRY(x) do { if (x) return -1; } while (0)

static char bdf[32];
static volatile uint8_t *bar;	/* BAR 0 through sysfs, or through vfio (c.bar) */
static struct ctx c = { .iommufd = -1, .container = -1, .group = -1, .dev = -1 };


/* Config space through sysfs (the device itself, not vfio's view). */
static int cfg_rw(unsigned int off, void *buf, size_t len, int write)
{
	return iptd_cfg_rw(bdf, off, buf, len, write);
}

/* Whether the kernel has ATS enabled on the endpoint must be @want; @why if not. */
static int ats_is(int want, const char *why)
{
	uint16_t id, ctrl;

	TRY(cfg_rw(IPTD_ATS_CAP, &id, 2, 0));
	CHECK(id == PCI_EXT_CAP_ID_ATS, "no ATS capability at %#x", IPTD_ATS_CAP);
	TRY(cfg_rw(IPTD_ATS_CAP + ATS_CTRL, &ctrl, 2, 0));
	CHECK(!!(ctrl & ATS_CTRL_ENABLE) == want, "ATS Control %#x: %s", ctrl, why);
	return 0;
}

/* A Translation Request for @addr must return @pa with read and write. */
static int translates(uint64_t addr, uint64_t pa, const char *what)
{
	uint32_t st = iptd_translate(bar, addr, 0), perm = iptd_rd(bar, IPTD_ATS_PERM);
	uint64_t got = iptd_rd64(bar, IPTD_ATS_ADDR);

	CHECK(st == IPTD_STATUS_OK, "Translation Request for %#lx (%s): status %u",
	      (unsigned long)addr, what, st);
	CHECK(got == pa, "%#lx (%s) translated to %#llx, want %#llx", (unsigned long)addr, what,
	      (unsigned long long)got, (unsigned long long)pa);
	CHECK((perm & 3) == (IPTD_ATS_PERM_READ | IPTD_ATS_PERM_WRITE),
	      "permissions %#x (%s), want read and write", perm, what);
	return 0;
}

static int test_says_cxl_cache(void)
{
	uint32_t hdr[3];

	TRY(cfg_rw(CXL_DVSEC_OFFSET, hdr, sizeof(hdr), 0));
	CHECK((hdr[0] & 0xffff) == PCI_EXT_CAP_ID_DVSEC && (hdr[1] & 0xffff) == CXL_VENDOR_ID,
	      "no CXL DVSEC at %#x (%#x %#x): boot with --smmu-features ...,cxl-cache",
	      CXL_DVSEC_OFFSET, hdr[0], hdr[1]);
	return 0;
}

static int test_identity_keeps_ats(void)
{
	char path[96], type[32] = "";
	int grp = group_number(bdf);
	FILE *f;

	CHECK(grp >= 0, "%s has no IOMMU group", bdf);
	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/type", grp);
	f = fopen(path, "r");
	CHECK(f && fgets(type, sizeof(type), f), "read %s", path);
	fclose(f);
	if (strncmp(type, "identity", 8))
		return skip("the default domain is %.*s, not identity (boot with "
			    "iommu.passthrough=1)", (int)strcspn(type, "\n"), type);
	return ats_is(1, "ATS is off in the identity domain of a device that needs it");
}

static int test_identity_translation(void)
{
	return translates(IDENTITY_ADDR, IDENTITY_ADDR, "identity domain");
}

static int test_blocked_ats_off(void)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	char path[64];

	munmap((void *)bar, IPTD_BAR_SIZE);
	bar = NULL;
	CHECK(!bind_vfio(bdf), "%s", failmsg);
	CHECK(!cdev_path(bdf, path, sizeof(path)), "%s has no vfio cdev", bdf);
	c.dev = open(path, O_RDWR);
	CHECK(c.dev >= 0, "open %s: %s", path, strerror(errno));
	c.iommufd = open("/dev/iommu", O_RDWR);
	CHECK(c.iommufd >= 0, "open /dev/iommu: %s", strerror(errno));
	bind.iommufd = c.iommufd;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), "VFIO_DEVICE_BIND_IOMMUFD: %s",
	      strerror(errno));
	c.devid = bind.out_devid;
	return ats_is(0, "ATS is on with the device blocked");
}

static int test_paging_ats(void)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	uint16_t cmd;
	void *page;

	CHECK(!ioctl(c.iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC: %s",
	      strerror(errno));
	c.ioas = at.pt_id = alloc.out_ioas_id;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), "ATTACH(IOAS): %s",
	      strerror(errno));
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(page != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(page, 0, PAGE);
	TRY(ctx_map(&c, page, IOVA, PAGE));
	TRY(ats_is(1, "ATS is off on a paging domain"));
	c.bar = bar = ctx_mmap_region(&c, VFIO_PCI_BAR0_REGION_INDEX, &c.bar_size);
	CHECK(bar, "%s", failmsg);
	TRY(cfg_rw(PCI_COMMAND, &cmd, 2, 0));
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	TRY(cfg_rw(PCI_COMMAND, &cmd, 2, 1));
	return translates(IOVA, phys_of(page), "the mapped page");
}

/* Opens BAR 0 through sysfs, memory decoding and bus mastering on. */
static int sysfs_bar(void)
{
	bar = iptd_sysfs_bar(bdf);
	return bar ? 0 : -1;
}

static int test_given_back_ats_on(void)
{
	char path[96];

	ctx_close(&c);
	memset(&c, 0, sizeof(c));
	c.iommufd = c.container = c.group = c.dev = -1;
	bar = NULL;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
	CHECK(!write_str(path, bdf), "unbind %s from vfio-pci: %s", bdf, strerror(errno));
	TRY(ats_is(1, "ATS is off in the identity domain after vfio-pci gave the device back"));
	TRY(sysfs_bar());
	return translates(IDENTITY_ADDR, IDENTITY_ADDR, "identity domain, given back");
}

/* Each case builds on the one before: after a failure, the rest cannot run. */
static const struct ktap_case cases[] = {
	{ "endpoint_says_cxl_cache", test_says_cxl_cache },
	{ "identity_keeps_ats", test_identity_keeps_ats },
	{ "identity_translation_request", test_identity_translation },
	{ "blocked_ats_off", test_blocked_ats_off },
	{ "paging_domain_ats", test_paging_ats },
	{ "given_back_identity_ats_on", test_given_back_ats_on },
};

static int setup(const char *dev)
{
	(void)dev;
	return sysfs_bar();
}

static void teardown(void)
{
	if (c.bar || c.dev >= 0 || c.iommufd >= 0)
		ctx_close(&c);
	else if (bar)
		munmap((void *)bar, IPTD_BAR_SIZE);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-ats-required", &iptd_id, argc, argv, bdf, setup,
			    teardown, cases, sizeof(cases) / sizeof(cases[0]), 1);
}
