// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-ats-pasid: ATS of iommu-pcie-testdev with PASIDs and behind a
 * vIOMMU, on the project QEMU's SMMUv3 with SubstreamIDs and ATS
 * (qemu-ci/run --smmu-features ssid,ats; the vIOMMU cases need a boot through
 * ACPI with a CANWBS root complex, --iort canwbs, and are skipped without;
 * Documentation/iommu-rs/qemu-model.rst), driven through vfio-pci and iommufd.
 *
 * PASIDs: the RID is attached to a PASID-capable HWPT, PASIDs 5 and 9 to
 * HWPTs of their own, the same IOVA mapped to a different page in each. ATS
 * must be on. A Translation Request with a PASID must return the page of that
 * PASID's domain. Unmapping in a PASID's domain must invalidate the
 * endpoint's ATC for that PASID (the endpoint counts the invalidations and
 * keeps the last one's range and PASID), after which a translated write with
 * the PASID moves nothing while the other PASID's cached translation still
 * works. Replacing a PASID's domain must invalidate that PASID's ATC entries.
 * With the RID blocked, ATS stays on for the PASIDs; once the last PASID
 * leaves, it goes off.
 *
 * vIOMMU: with a nested HWPT whose vSTE bypasses stage 1, ATS is on, a
 * Translation Request gets the parent's stage 2 translation, and unmapping it
 * from the parent invalidates the ATC for it. With a stage 1 vSTE with EATS,
 * ATS is on, a change of the parent's stage 2 invalidates the whole ATC (it
 * holds what both stages give the guest's addresses), and the guest's
 * CMD_ATC_INV through IOMMU_HWPT_INVALIDATE reaches the endpoint, its vSID
 * replaced by the physical StreamID, its address and PASID as the guest gave
 * them. A stage 1 vSTE without EATS turns ATS off: the guest would not
 * invalidate the ATC. Output is KTAP.
 *
 * Usage: smmu-model-ats-pasid [-d BDF] test
 */
#include "vfio-lib.h"
#include "iptd.h"

#define PCI_EXT_CAP_ID_ATS	0x0f
#define PCI_EXT_CAP_ID_PASID	0x1b
#define CAP_CTRL		0x06	/* the Control register of both capabilities */
#define CTRL_ENABLE_ATS		0x8000
#define CTRL_ENABLE_PASID	0x0001

#define IOVA		0x500000UL
#define IOVA_S2		0x700000UL	/* mapped and unmapped to change the parent's stage 2 */
#define CD_IPA		0x800000UL	/* the page a stage 1 vSTE names as its CD table */
#define OFF		0x80
#define NO_PASID	0
#define PASID_A		5
#define PASID_B		9

/* vSTE fields (qword 0: V, Config, S1ContextPtr; qword 1: EATS). */
#define VSTE0_S1	(1ULL | 5ULL << 1)
#define VSTE1_EATS_TRANS (1ULL << 28)
/* CMD_ATC_INV: SSV, SSID, SID in qword 0; Size and Addr in qword 1. */
#define CMD_ATC_INV	0x40ULL
#define CMD_SSV		(1ULL << 11)
#define CMD_SSID(x)	((uint64_t)(x) << 12)
#define CMD_SID(x)	((uint64_t)(x) << 32)

#define TRY(x) do { if (x) return -1; } while (0)

static struct ctx c;
static char bdf[32];
static struct iptd_space rid, sa, sb, sc;
static uint32_t parent, viommu, vdev;
static uint32_t inv_before;

static uint32_t rd(unsigned int off)
{
	return iptd_rd(c.bar, off);
}

static uint64_t rd64(unsigned int off)
{
	return iptd_rd64(c.bar, off);
}

/* A Translation Request for @iova with @pasid (none for 0); returns the ATS status. */
static uint32_t translate(uint64_t iova, uint32_t pasid)
{
	return iptd_translate(c.bar, iova, pasid);
}

/* A translated write of @tag at @iova + OFF with @pasid, through the ATC; the DMA status. */
static uint32_t translated_write(uint64_t iova, uint32_t pasid, uint32_t tag)
{
	return iptd_translated_write(c.bar, iova + OFF, pasid, tag);
}

/* The Control register of the extended capability @id at @cap, or -1 (failmsg set). */
static int cap_ctrl(unsigned int cap, unsigned int id)
{
	char path[96];
	uint8_t cfg[0x200];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	f = fopen(path, "rb");
	if (!f)
		return fail("open %s: %s", path, strerror(errno));
	if (fread(cfg, 1, cap + 8, f) != cap + 8) {
		fclose(f);
		return fail("read %s", path);
	}
	fclose(f);
	if ((cfg[cap] | cfg[cap + 1] << 8) != id)
		return fail("no capability %#x at %#x", id, cap);
	return cfg[cap + CAP_CTRL] | cfg[cap + CAP_CTRL + 1] << 8;
}

/* Whether the kernel has ATS enabled on the endpoint must be @want; @why if not. */
static int ats_is(int want, const char *why)
{
	int ctrl = cap_ctrl(IPTD_ATS_CAP, PCI_EXT_CAP_ID_ATS);

	if (ctrl < 0)
		return -1;
	CHECK(!!(ctrl & CTRL_ENABLE_ATS) == want, "ATS Control %#x: %s", ctrl, why);
	return 0;
}

/* The translation of @iova with @pasid must be @page, read and write. */
static int translates_to(uint64_t iova, uint32_t pasid, uint32_t *page, const char *what)
{
	uint32_t st = translate(iova, pasid), perm = rd(IPTD_ATS_PERM);
	uint64_t pa = phys_of(page);

	CHECK(st == IPTD_STATUS_OK, "Translation Request for %#lx, PASID %u: status %u",
	      (unsigned long)iova, pasid, st);
	CHECK(pa && rd64(IPTD_ATS_ADDR) == pa, "%#lx with PASID %u translated to %#llx, %s is at "
	      "%#llx", (unsigned long)iova, pasid, (unsigned long long)rd64(IPTD_ATS_ADDR), what,
	      (unsigned long long)pa);
	CHECK((perm & 3) == (IPTD_ATS_PERM_READ | IPTD_ATS_PERM_WRITE),
	      "permissions %#x, want read and write", perm);
	return 0;
}

/*
 * Since inv_before, an ATC invalidation must have reached the endpoint, the
 * last one covering [@iova, @iova + @len) (everything if @len is 0) for
 * @pasid (every PASID if 0).
 */
static int invalidated(uint64_t iova, uint64_t len, uint32_t pasid, const char *after)
{
	uint64_t addr = rd64(IPTD_ATC_INV_ADDR), mask = rd64(IPTD_ATC_INV_MASK);
	uint32_t got = rd(IPTD_ATC_INV_PASID), want = pasid ? IPTD_PASID_VALID | pasid : 0;

	CHECK(rd(IPTD_ATC_INV_COUNT) > inv_before, "no ATC invalidation reached the endpoint %s "
	      "(%u before and after)", after, inv_before);
	if (len)
		CHECK(addr <= iova && addr + mask >= iova + len - 1, "the last ATC invalidation "
		      "%s covers %#llx-%#llx, not %#lx-%#lx", after, (unsigned long long)addr,
		      (unsigned long long)(addr + mask), (unsigned long)iova,
		      (unsigned long)(iova + len - 1));
	else
		CHECK(mask == ~0ULL, "the last ATC invalidation %s covers %#llx-%#llx, not "
		      "everything", after, (unsigned long long)addr,
		      (unsigned long long)(addr + mask));
	CHECK(got == want, "the last ATC invalidation %s has PASID field %#x, want %#x", after,
	      got, want);
	return 0;
}

static int detach(uint32_t pasid)
{
	struct vfio_device_detach_iommufd_pt dt = {
		.argsz = sizeof(dt),
		.flags = pasid ? VFIO_DEVICE_DETACH_PASID : 0,
		.pasid = pasid,
	};

	CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt),
	      "VFIO_DEVICE_DETACH_IOMMUFD_PT(pasid %u): %s", pasid, strerror(errno));
	return 0;
}

static int unmap(uint32_t ioas, uint64_t iova)
{
	struct iommu_ioas_unmap u = { .size = sizeof(u), .ioas_id = ioas, .iova = iova,
				      .length = PAGE };

	CHECK(!ioctl(c.iommufd, IOMMU_IOAS_UNMAP, &u), "IOMMU_IOAS_UNMAP %#lx: %s",
	      (unsigned long)iova, strerror(errno));
	return 0;
}

static int test_ats_on_with_pasids(void)
{
	int pasid_ctrl;

	CHECK(rd(IPTD_FEATURES) & IPTD_FEATURE_PASID && rd(IPTD_FEATURES) & IPTD_FEATURE_ATS,
	      "the endpoint lacks PASID or ATS (features %#x)", rd(IPTD_FEATURES));
	TRY(iptd_space_attach(&c, &rid, NO_PASID));
	TRY(iptd_space_attach(&c, &sa, PASID_A));
	TRY(iptd_space_attach(&c, &sb, PASID_B));
	pasid_ctrl = cap_ctrl(IPTD_PASID_CAP, PCI_EXT_CAP_ID_PASID);
	TRY(pasid_ctrl < 0);
	CHECK(pasid_ctrl & CTRL_ENABLE_PASID, "PASID Control %#x: PASID is not enabled",
	      pasid_ctrl);
	TRY(ats_is(1, "ATS is not enabled on the endpoint with PASIDs attached"));
	return 0;
}

static int test_pasid_translations(void)
{
	TRY(translates_to(IOVA, PASID_A, sa.page, "PASID 5's page"));
	TRY(translates_to(IOVA, PASID_B, sb.page, "PASID 9's page"));
	return translates_to(IOVA, NO_PASID, rid.page, "the RID's page");
}

static int test_pasid_unmap_invalidates_its_pasid(void)
{
	uint32_t st;

	CHECK(translated_write(IOVA, PASID_A, 0xa7a00001) == IPTD_STATUS_OK &&
	      sa.page[OFF / 4] == 0xa7a00001, "a translated write with PASID 5 did not land "
	      "(status %u, word %#x)", rd(IPTD_DMA_STATUS), sa.page[OFF / 4]);
	inv_before = rd(IPTD_ATC_INV_COUNT);
	TRY(unmap(sa.ioas, IOVA));
	TRY(invalidated(IOVA, PAGE, PASID_A, "on unmapping PASID 5's page"));
	st = translated_write(IOVA, PASID_A, 0xbad00002);
	CHECK(sa.page[OFF / 4] == 0xa7a00001 && st != IPTD_STATUS_OK, "a translated write with "
	      "PASID 5 after the unmap: status %u, word %#x: the ATC kept the translation", st,
	      sa.page[OFF / 4]);
	st = translate(IOVA, PASID_A);
	CHECK(st == IPTD_STATUS_NO_ACCESS, "Translation Request with PASID 5 after the unmap: "
	      "status %u, want a completion granting no access", st);
	/* PASID 9's translation was not PASID 5's to drop. */
	st = translated_write(IOVA, PASID_B, 0xb9b00003);
	CHECK(st == IPTD_STATUS_OK && sb.page[OFF / 4] == 0xb9b00003, "PASID 9's cached "
	      "translation is gone after PASID 5's unmap (status %u, word %#x)", st,
	      sb.page[OFF / 4]);
	return 0;
}

static int test_pasid_replace_invalidates_its_pasid(void)
{
	uint32_t st;

	inv_before = rd(IPTD_ATC_INV_COUNT);
	TRY(iptd_space_attach(&c, &sc, PASID_B));
	TRY(invalidated(IOVA, PAGE, PASID_B, "on replacing PASID 9's domain"));
	st = translated_write(IOVA, PASID_B, 0xbad00004);
	CHECK(sb.page[OFF / 4] == 0xb9b00003 && st != IPTD_STATUS_OK, "a translated write with "
	      "PASID 9 after its domain was replaced: status %u, old page word %#x: the ATC kept "
	      "the old domain's translation", st, sb.page[OFF / 4]);
	return translates_to(IOVA, PASID_B, sc.page, "PASID 9's new page");
}

static int test_rid_blocked_pasids_keep_ats(void)
{
	uint32_t st;

	TRY(detach(NO_PASID));
	TRY(ats_is(1, "ATS went off with the RID detached while PASID 9 has a domain"));
	TRY(translates_to(IOVA, PASID_B, sc.page, "PASID 9's page"));
	st = translate(IOVA, NO_PASID);
	CHECK(st != IPTD_STATUS_OK || !(rd(IPTD_ATS_PERM) & 3), "Translation Request without "
	      "PASID, RID detached: status %u, permissions %#x", st, rd(IPTD_ATS_PERM));
	return 0;
}

static int test_last_pasid_gone_ats_off(void)
{
	TRY(detach(PASID_A));
	TRY(ats_is(1, "ATS went off with PASID 9 still attached"));
	TRY(detach(PASID_B));
	TRY(ats_is(0, "ATS still on with the RID detached and no PASID attached"));
	return 0;
}

/* The RID on a NEST_PARENT HWPT of rid's IOAS, then a nested HWPT with a bypass vSTE. */
static int test_nested_bypass_ats(void)
{
	uint32_t nested, st;
	int r;

	/* rid's IOAS is the program's: ctx_open() made it */
	TRY(nest_parent_attach(&c, &parent));
	TRY(ats_is(1, "ATS is not enabled on a NEST_PARENT HWPT"));
	r = nested_bypass_attach(&c, parent, 0, &viommu, &vdev, &nested);
	if (r)
		return r;
	TRY(ats_is(1, "ATS is not enabled with a bypass vSTE"));
	TRY(translates_to(IOVA, NO_PASID, rid.page, "the parent's page"));
	inv_before = rd(IPTD_ATC_INV_COUNT);
	TRY(unmap(rid.ioas, IOVA));
	TRY(invalidated(IOVA, PAGE, NO_PASID, "on unmapping from the parent"));
	st = translated_write(IOVA, NO_PASID, 0xbad00005);
	CHECK(st != IPTD_STATUS_OK && rid.page[OFF / 4] != 0xbad00005, "a translated write "
	      "after the parent's unmap: status %u: the ATC kept the translation", st);
	return 0;
}

/* Maps a zeroed page of its own at @iova in the program's IOAS (the parent's). */
static int map_zero_page(uint64_t iova)
{
	void *p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(p, 0, PAGE);
	return ctx_map(&c, p, iova, PAGE);
}

static int nested_s1(uint64_t ste1, uint32_t *id)
{
	struct iommu_hwpt_arm_smmuv3 vste = { .ste = { VSTE0_S1 | CD_IPA, ste1 } };
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a), .dev_id = c.devid, .pt_id = viommu,
		.data_type = IOMMU_HWPT_DATA_ARM_SMMUV3, .data_len = sizeof(vste),
		.data_uptr = (uintptr_t)&vste,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	CHECK(!ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &a), "IOMMU_HWPT_ALLOC(stage 1 vSTE%s): %s",
	      ste1 & VSTE1_EATS_TRANS ? ", EATS" : "", strerror(errno));
	*id = a.out_hwpt_id;
	at.pt_id = *id;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), "attach the stage 1 nested "
	      "HWPT: %s", strerror(errno));
	return 0;
}

static int test_nested_s1_eats(void)
{
	uint32_t nested;

	if (!viommu)
		return skip("no vIOMMU here");
	TRY(map_zero_page(CD_IPA));
	TRY(nested_s1(VSTE1_EATS_TRANS, &nested));
	TRY(ats_is(1, "ATS is not enabled with a stage 1 vSTE with EATS"));
	return 0;
}

static int test_parent_change_invalidates_whole_atc(void)
{
	if (!viommu)
		return skip("no vIOMMU here");
	TRY(map_zero_page(IOVA_S2));
	inv_before = rd(IPTD_ATC_INV_COUNT);
	TRY(unmap(rid.ioas, IOVA_S2));
	return invalidated(0, 0, NO_PASID, "on unmapping from the parent of a stage 1 vSTE");
}

static int guest_atc_inv(uint64_t addr, uint32_t ssid)
{
	uint64_t cmd[2] = {
		CMD_ATC_INV | CMD_SID(VSID) | (ssid ? CMD_SSV | CMD_SSID(ssid) : 0),
		addr,	/* Size 0: one page */
	};
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv), .hwpt_id = viommu, .data_uptr = (uintptr_t)cmd,
		.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3, .entry_len = sizeof(cmd),
		.entry_num = 1,
	};

	inv_before = rd(IPTD_ATC_INV_COUNT);
	CHECK(!ioctl(c.iommufd, IOMMU_HWPT_INVALIDATE, &inv) && inv.entry_num == 1,
	      "IOMMU_HWPT_INVALIDATE(ATC_INV, vSID %#x): %s, entry_num %u", VSID,
	      strerror(errno), inv.entry_num);
	return 0;
}

static int test_guest_atc_inv_reaches_endpoint(void)
{
	if (!viommu)
		return skip("no vIOMMU here");
	TRY(guest_atc_inv(0x12345000, 0));
	TRY(invalidated(0x12345000, PAGE, NO_PASID, "for the guest's ATC_INV"));
	CHECK(rd64(IPTD_ATC_INV_MASK) == PAGE - 1, "the guest's one-page ATC_INV reached the "
	      "endpoint as %#llx bytes", (unsigned long long)rd64(IPTD_ATC_INV_MASK) + 1);
	TRY(guest_atc_inv(0x6000, 3));
	return invalidated(0x6000, PAGE, 3, "for the guest's ATC_INV with SubstreamID 3");
}

static int test_nested_s1_without_eats_ats_off(void)
{
	uint32_t nested;

	if (!viommu)
		return skip("no vIOMMU here");
	TRY(nested_s1(0, &nested));
	TRY(ats_is(0, "ATS still on with a stage 1 vSTE without EATS"));
	return 0;
}

/* Each case builds on the one before: after a failure, the rest cannot run. */
static const struct ktap_case cases[] = {
	{ "ats_on_with_pasids", test_ats_on_with_pasids },
	{ "pasid_translation_requests", test_pasid_translations },
	{ "pasid_unmap_invalidates_the_pasid", test_pasid_unmap_invalidates_its_pasid },
	{ "pasid_replace_invalidates_the_pasid", test_pasid_replace_invalidates_its_pasid },
	{ "rid_blocked_pasids_keep_ats", test_rid_blocked_pasids_keep_ats },
	{ "last_pasid_gone_ats_off", test_last_pasid_gone_ats_off },
	{ "nested_bypass_ats", test_nested_bypass_ats },
	{ "nested_s1_eats_ats_on", test_nested_s1_eats },
	{ "parent_change_invalidates_whole_atc", test_parent_change_invalidates_whole_atc },
	{ "guest_atc_inv_reaches_endpoint", test_guest_atc_inv_reaches_endpoint },
	{ "nested_s1_without_eats_ats_off", test_nested_s1_without_eats_ats_off },
};

static int setup(const char *dev)
{
	return ctx_open(&c, "iommufd", dev) || iptd_space_init(&c, &rid, c.ioas, IOVA, 0x11) ||
	       iptd_space_init(&c, &sa, 0, IOVA, 0xaa) || iptd_space_init(&c, &sb, 0, IOVA, 0xbb) ||
	       iptd_space_init(&c, &sc, 0, IOVA, 0xcc) ? -1 : 0;
}

static void teardown(void)
{
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-ats-pasid", &iptd_id, argc, argv, bdf, setup, teardown,
			    cases, sizeof(cases) / sizeof(cases[0]), 1);
}
