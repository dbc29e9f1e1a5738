// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-edu: end-to-end DMA through the IOMMU with QEMU's "edu" device.
 *
 * The device is bound to vfio-pci and driven from user space through one of
 * three VFIO back ends:
 *
 *   iommufd  - the device cdev, VFIO_DEVICE_BIND_IOMMUFD, an IOAS (seed 000)
 *   iommufd-s2 - the same, attached to an IOMMU_HWPT_ALLOC_NEST_PARENT HWPT on
 *              the IOAS: a stage 2 domain on SMMUv3. On an SMMU without both
 *              stages (IDR0), only that the HWPT is refused is checked.
 *   iommufd-pasid - the same, attached to an IOMMU_HWPT_ALLOC_PASID HWPT on
 *              the IOAS (a domain PASIDs may share): the round trip and the
 *              isolation checks. On an SMMU without stage 1, only that the
 *              HWPT is refused is checked (the C driver's rule).
 *   type1v2  - the legacy group + /dev/vfio/vfio container
 *   compat   - the group with /dev/iommu as its container (iommufd's
 *              type1 compatibility layer)
 *
 * For each back end it checks that a mapped buffer round-trips through the
 * device (RAM -> device -> RAM), that DMA to or from an IOVA that is not
 * mapped moves no data, and that the device's MSI (a DMA write to the GIC ITS
 * doorbell, translated by the IOMMU through its software MSI window) arrives. The unmapped IOVAs are the *physical* addresses of
 * pages this program owns, so an IOMMU that let the DMA through untranslated
 * (bypass, or a stale TLB entry) would visibly change them. Hugetlb pages of
 * 2 MiB and 1 GiB, mapped at IOVAs aligned to their size (so by block
 * descriptors), are DMAed through and must be out of reach once unmapped
 * (huge_dma()). Last, the IOMMU driver must have logged a translation fault
 * for the device's StreamID, as the firmware maps its requester ID (device
 * tree iommu-map or ACPI IORT; "-s SID" instead). Output is KTAP.
 *
 * The VFIO plumbing is vfio-lib.h's, shared with vfio-igb.c.
 *
 * Usage: vfio-edu [-d BDF] [-s SID] test [BACKEND...] | info | map-at IOVA
 *                           | busy SECONDS | storm SECONDS MAX_LOG_LINES
 * (the edu at BDF, by default the one with the lowest BDF; map-at maps one
 * page at IOVA through iommufd and says whether that worked; busy keeps
 * round trips going through iommufd for up to SECONDS, to have DMA in flight
 * while something else happens; storm makes the device fault for SECONDS,
 * see storm())
 *
 * edu needs dma_mask=0xffffffffffffffff on the QEMU command line for the
 * physical-address checks (its default 28-bit mask clamps IOVAs).
 */
#include "vfio-lib.h"
#include "edu.h"

#include <pthread.h>
#include <sched.h>

#define IOVA_A 0x100000UL	/* source page */
#define IOVA_B 0x101000UL	/* destination page */
#define IOVA_C 0x200000UL	/* mapped, then unmapped */

static const struct pci_id edu = { "edu", EDU_VENDOR, EDU_DEVICE };

/* SMMU_IDR0 as IOMMU_GET_HW_INFO reports it (0 until hw_info() ran). */
static uint32_t smmu_idr0;
/* Whether the IOMMU can nest: SMMU IDR0.S1P and S2P, VT-d ECAP.NEST (hw_info()). */
static int iommu_nests;

/* ctx_open() of an edu: BAR0 must show edu's identification register. */
static int edu_open(struct ctx *c, const char *backend, const char *bdf)
{
	if (ctx_open(c, backend, bdf))
		return -1;
	CHECK(*(volatile uint32_t *)c->bar == 0x010000edu, "BAR0 id reads %#x, not edu",
	      *(volatile uint32_t *)c->bar);
	return 0;
}

/* Pages: 0 src, 1 dst, 2 never mapped, 3 never mapped, 4 mapped then unmapped. */
static uint8_t *pages;

static int t_roundtrip(struct ctx *c)
{
	fill(pages, 0x5a);
	memset(pages + PAGE, 0, PAGE);
	if (edu_dma(c, IOVA_A, PAGE, 0) || edu_dma(c, IOVA_B, PAGE, 1))
		return -1;
	CHECK(same(pages + PAGE, 0x5a), "bytes read back differ from the bytes sent");
	return 0;
}

static int t_from_unmapped(struct ctx *c)
{
	uint8_t *secret = pages + 2 * PAGE;
	uint64_t pa = phys_of(secret);

	CHECK(pa, "cannot find the physical address of a test page");
	fill(secret, 0xc3);
	/* Device buffer := known pattern, then DMA from the unmapped IOVA. */
	fill(pages, 0x11);
	if (edu_dma(c, IOVA_A, PAGE, 0) || edu_dma(c, pa, PAGE, 0))
		return -1;
	memset(pages + PAGE, 0, PAGE);
	if (edu_dma(c, IOVA_B, PAGE, 1))
		return -1;
	CHECK(!same(pages + PAGE, 0xc3),
	      "device read an unmapped IOVA (= PA %#lx of a private page)", (unsigned long)pa);
	return 0;
}

static int t_to_unmapped(struct ctx *c)
{
	uint8_t *victim = pages + 3 * PAGE;
	uint64_t pa = phys_of(victim);

	CHECK(pa, "cannot find the physical address of a test page");
	memset(victim, 0, PAGE);
	fill(pages, 0x77);
	if (edu_dma(c, IOVA_A, PAGE, 0) || edu_dma(c, pa, PAGE, 1))
		return -1;
	CHECK(all_zero(victim), "device wrote an unmapped IOVA (= PA %#lx of a private page)",
	      (unsigned long)pa);
	return 0;
}

static int t_after_unmap(struct ctx *c)
{
	uint8_t *pg = pages + 4 * PAGE;

	if (ctx_map(c, pg, IOVA_C, PAGE))
		return -1;
	memset(pg, 0, PAGE);
	fill(pages, 0x99);
	/* Prime the IOMMU's TLB with the translation, and check it works. */
	if (edu_dma(c, IOVA_A, PAGE, 0) || edu_dma(c, IOVA_C, PAGE, 1))
		return -1;
	CHECK(same(pg, 0x99), "DMA to a mapped IOVA did not arrive");
	memset(pg, 0, PAGE);
	if (ctx_unmap(c, IOVA_C, PAGE))
		return -1;
	if (edu_dma(c, IOVA_C, PAGE, 1))
		return -1;
	CHECK(all_zero(pg), "DMA to a just-unmapped IOVA reached the old page (stale TLB)");
	return 0;
}

static int t_msi(struct ctx *c)
{
	volatile uint32_t *r = (volatile uint32_t *)c->bar;
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_MSI_IRQ_INDEX };
	int fd, ret = -1;

	CHECK(!ioctl(c->dev, VFIO_DEVICE_GET_IRQ_INFO, &info), "VFIO_DEVICE_GET_IRQ_INFO: %s",
	      strerror(errno));
	CHECK(info.count >= 1, "edu reports no MSI vector");
	fd = eventfd(0, EFD_NONBLOCK);
	CHECK(fd >= 0, "eventfd: %s", strerror(errno));
	if (set_irqs(c, VFIO_PCI_MSI_IRQ_INDEX, &fd, 1))
		goto out;
	r[EDU_IRQ_RAISE / 4] = 0x1;
	if (wait_irq(fd, 5000))
		ret = 0;
	else
		fail("no MSI arrived within 5 s (status %#x): the write to the MSI doorbell did not "
		     "get through the IOMMU", r[EDU_IRQ_STATUS / 4]);
	r[EDU_IRQ_ACK / 4] = 0x1;
	if (set_irqs(c, VFIO_PCI_MSI_IRQ_INDEX, NULL, 0))
		ret = -1;
out:
	close(fd);
	return ret;
}

/*
 * Cache coherency enforcement as the C driver reports it: a domain blocks
 * no-snoop DMA only where the root complex is CANWBS (the IOMMU's
 * ENFORCE_CACHE_COHERENCY capability and enforce_cache_coherency). VFIO's
 * containers report it as the VFIO_DMA_CC_IOMMU extension. On iommufd, a HWPT
 * allocated for a device with the capability must be made coherent (the core
 * WARNs and fails the allocation otherwise).
 */
static int t_cache_coherency(struct ctx *c)
{
	int want = firmware_canwbs();

	CHECK(want >= 0, "/sys/firmware/acpi/tables/IORT is malformed");
	if (c->container >= 0) {
		int got = ioctl(c->container, VFIO_CHECK_EXTENSION, VFIO_DMA_CC_IOMMU);

		CHECK(got == want, "VFIO_CHECK_EXTENSION(VFIO_DMA_CC_IOMMU) = %d, but the firmware "
		      "says the root complex is %sCANWBS", got, want ? "" : "not ");
	} else {
		struct iommu_hwpt_alloc hwpt = {
			.size = sizeof(hwpt),
			.dev_id = c->devid,
			.pt_id = c->ioas,
			.data_type = IOMMU_HWPT_DATA_NONE,
		};
		struct iommu_destroy d = { .size = sizeof(d) };

		CHECK(!ioctl(c->iommufd, IOMMU_HWPT_ALLOC, &hwpt), "IOMMU_HWPT_ALLOC (root complex "
		      "%sCANWBS): %s", want ? "" : "not ", strerror(errno));
		d.id = hwpt.out_hwpt_id;
		CHECK(!ioctl(c->iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY: %s", strerror(errno));
	}
	return 0;
}

#define SZ_2M (2UL << 20)
#define SZ_1G (1UL << 30)
#define IOVA_HUGE_2M 0x200000000UL	/* 8 GiB: 2 MiB and 1 GiB aligned */
#define IOVA_HUGE_1G 0x400000000UL	/* 16 GiB */

/*
 * DMA through one hugetlb page of size bytes mapped at a size-aligned IOVA,
 * which lets the IOMMU driver map it with one block descriptor (level 2 for
 * 2 MiB, level 1 for 1 GiB with 4 KiB pages): at its first, a middle and its
 * last 4 KiB, each way; then, once it is unmapped, DMA to the same IOVAs
 * must not reach the page (a block left in the IOTLB by an invalidation
 * that missed it would let it through). The page is physically contiguous
 * (checked through pagemap), so a block is what the driver should use.
 */
static int huge_dma(struct ctx *c, size_t size, uint64_t iova)
{
	const size_t offs[] = { 0, size / 2 + 3 * PAGE, size - PAGE };
	int ret = -1, why;
	uint8_t *h = huge_alloc(size, &why);
	uint64_t pa;

	if (!h)
		return why;
	pa = phys_of(h);
	if (!pa || phys_of(h + size - PAGE) != pa + size - PAGE) {
		fail("the %zu MiB hugepage is not physically contiguous (PA %#lx, last page %#lx)",
		     size >> 20, (unsigned long)pa, (unsigned long)phys_of(h + size - PAGE));
		goto out;
	}
	if (ctx_map(c, h, iova, size))
		goto out;
	for (int i = 0; i < 3; i++) {
		uint8_t *p = h + offs[i], seed = 0x21 + 16 * i;

		/* hugepage -> device -> the small destination page */
		fill(p, seed);
		memset(pages + PAGE, 0, PAGE);
		if (edu_dma(c, iova + offs[i], PAGE, 0) || edu_dma(c, IOVA_B, PAGE, 1))
			goto unmap;
		if (!same(pages + PAGE, seed)) {
			fail("DMA from IOVA %#lx (hugepage + %#zx) read other bytes",
			     (unsigned long)(iova + offs[i]), offs[i]);
			goto unmap;
		}
		/* the small source page -> device -> hugepage */
		fill(pages, seed ^ 0xff);
		memset(p, 0, PAGE);
		if (edu_dma(c, IOVA_A, PAGE, 0) || edu_dma(c, iova + offs[i], PAGE, 1))
			goto unmap;
		if (!same(p, seed ^ 0xff)) {
			fail("DMA to IOVA %#lx (hugepage + %#zx) did not arrive",
			     (unsigned long)(iova + offs[i]), offs[i]);
			goto unmap;
		}
	}
	ret = 0;
unmap:
	if (ctx_unmap(c, iova, size)) {
		ret = -1;
		goto out;
	}
	if (ret)
		goto out;
	fill(pages, 0xe7);
	if (edu_dma(c, IOVA_A, PAGE, 0)) {
		ret = -1;
		goto out;
	}
	for (int i = 0; i < 3 && !ret; i++) {
		memset(h + offs[i], 0, PAGE);
		if (edu_dma(c, iova + offs[i], PAGE, 1))
			ret = -1;
		else if (!all_zero(h + offs[i]))
			ret = fail("DMA to IOVA %#lx after the %zu MiB block was unmapped reached the "
				   "page (stale block translation)", (unsigned long)(iova + offs[i]),
				   size >> 20);
	}
	if (!ret)
		printf("    # %zu MiB hugepage at PA %#lx through IOVA %#lx: DMA at +0, +%#zx, +%#zx "
		       "both ways, blocked after unmap\n", size >> 20, (unsigned long)pa,
		       (unsigned long)iova, offs[1], offs[2]);
out:
	munmap(h, size);
	return ret;
}

static int t_huge_2m(struct ctx *c)
{
	return huge_dma(c, SZ_2M, IOVA_HUGE_2M);
}

static int t_huge_1g(struct ctx *c)
{
	return huge_dma(c, SZ_1G, IOVA_HUGE_1G);
}

/* The first ROUNDTRIP_ISOLATION: the round trip and the isolation checks. */
#define ROUNDTRIP_ISOLATION 4
static const struct vfio_test tests[] = {
	{ "dma_roundtrip", t_roundtrip },
	{ "dma_from_unmapped_blocked", t_from_unmapped },
	{ "dma_to_unmapped_blocked", t_to_unmapped },
	{ "dma_after_unmap_blocked", t_after_unmap },
	{ "msi_through_iommu", t_msi },
	{ "cache_coherency", t_cache_coherency },
	{ "dma_hugepage_2m_block", t_huge_2m },
	{ "dma_hugepage_1g_block", t_huge_1g },
};

/* Open the edu through backend and map the source and destination pages. */
static int edu_setup(struct ctx *c, const char *backend, const char *bdf)
{
	if (edu_open(c, backend, bdf) || ctx_map(c, pages, IOVA_A, 2 * PAGE))
		return -1;
	return 0;
}

static const struct vfio_suite suite = {
	.setup = edu_setup,
	.tests = tests,
	.ntests = sizeof(tests) / sizeof(tests[0]),
};

/*
 * A PASID-capable HWPT is the same domain as the IOAS's: its round trip and
 * isolation, not again the interrupt and hugepage checks.
 */
static const struct vfio_suite pasid_suite = {
	.setup = edu_setup,
	.tests = tests,
	.ntests = ROUNDTRIP_ISOLATION,
};

/* SMMU_IDR0.S1P and S2P: both stages, so nesting. */
#define IDR0_NESTING 0x3
/* SMMU_IDR0.S1P: stage 1, which PASID-capable domains need. */
#define IDR0_S1P 0x2

/*
 * A paging HWPT with @flags (named @what) the IOMMU cannot give must be
 * refused with EOPNOTSUPP, as the C driver refuses it: NEST_PARENT on an SMMU
 * without nesting (even where stage 2 exists), PASID on one without stage 1.
 */
static int hwpt_refused(const char *bdf, uint32_t flags, const char *what)
{
	struct ctx c;
	int ret = -1;

	failmsg[0] = 0;
	if (!edu_open(&c, "iommufd", bdf)) {
		struct iommu_hwpt_alloc hwpt = {
			.size = sizeof(hwpt),
			.flags = flags,
			.dev_id = c.devid,
			.pt_id = c.ioas,
			.data_type = IOMMU_HWPT_DATA_NONE,
		};

		if (!ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &hwpt))
			fail("IOMMU_HWPT_ALLOC(%s) gave HWPT %u", what, hwpt.out_hwpt_id);
		else if (errno != EOPNOTSUPP)
			fail("IOMMU_HWPT_ALLOC(%s): %s, not EOPNOTSUPP", what, strerror(errno));
		else
			ret = 0;
	}
	ctx_close(&c);
	return ret;
}

/* hwpt_refused() on @bdf as back end number @num's one subtest, @test, because @why. */
static int refused_backend(const char *backend, const char *bdf, int num, uint32_t flags,
			   const char *what, const char *test, const char *why)
{
	int failed = hwpt_refused(bdf, flags, what);

	printf("    # Subtest: %s\n    1..1\n", backend);
	if (failed)
		printf("    # %s: %s\n", test, failmsg);
	printf("    %s 1 %s # %s\n", failed ? "not ok" : "ok", test, why);
	printf("%s %d %s\n", failed ? "not ok" : "ok", num, backend);
	return failed;
}

/* /dev/kmsg, read from where it ended when the program started; -1 if it cannot be read. */
static int kmsg = -1;

/* The text of the next /dev/kmsg record into @rec (its first line), NULL when none is left. */
static char *kmsg_next(char *rec, size_t size)
{
	for (;;) {
		ssize_t n = read(kmsg, rec, size - 1);
		char *msg;

		if (n < 0 && errno == EPIPE)
			continue;	/* overwritten before it was read */
		if (n <= 0)
			return NULL;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		msg[strcspn(msg, "\n")] = 0;
		return msg;
	}
}

#ifdef __x86_64__
/*
 * VT-d: the isolation checks made the device fault, and the IOMMU driver must
 * have logged the fault record naming the device by its source-id (its PCI
 * requester ID, no firmware lookup needed). Both VT-d drivers format a record
 * alike: "[DMA Read NO_PASID] Request device [0000:00:01.0] fault addr ...".
 * QEMU records one fault and drops the next ones while it is pending, so one
 * line is all there may be. A log the rate limit emptied is reported as a skip.
 */
static int fault_reported(const char *bdf, char *line, size_t len)
{
	char rec[8192], pat[64];
	int suppressed = 0;

	CHECK(kmsg >= 0, "cannot read /dev/kmsg");
	snprintf(pat, sizeof(pat), "Request device [%s] fault addr", bdf);
	for (char *msg; (msg = kmsg_next(rec, sizeof(rec)));) {
		if ((strstr(msg, "dmar") || strstr(msg, "intel_iommu_rs")) &&
		    (strstr(msg, "callbacks suppressed") || strstr(msg, "held back (rate limit)")))
			suppressed = 1;
		if (strstr(msg, pat)) {
			snprintf(line, len, "source-id of %s: %s", bdf, msg);
			return 0;
		}
	}
	if (suppressed)
		return skip("no fault record for %s's source-id, and the IOMMU driver's fault log "
			    "was rate limited", bdf);
	return fail("the IOMMU driver logged no DMA remapping fault record for %s's source-id",
		    bdf);
}
#else
/*
 * The isolation checks made the device fault: the IOMMU driver must have
 * logged a translation fault naming one of the StreamIDs the firmware gives
 * the device (the C driver: "event: F_TRANSLATION client: ... sid: 0x8 ...",
 * the Rust one: "event: F_TRANSLATION sid 0x8 ..."). A log that the C
 * driver's rate limit emptied is reported as a skip, saying so.
 */
static int fault_reported(const char *bdf, char *line, size_t len)
{
	uint32_t sids[2];
	const char *fw = "";
	char rec[8192], pat[2][2][32];
	int nr = device_stream_ids(bdf, sids, &fw), suppressed = 0;

	if (nr < 0)
		return -1;
	CHECK(kmsg >= 0, "cannot read /dev/kmsg");
	for (int i = 0; i < nr; i++) {
		snprintf(pat[i][0], sizeof(pat[i][0]), "sid: %#x ", sids[i]);
		snprintf(pat[i][1], sizeof(pat[i][1]), "sid %#x ", sids[i]);
	}
	for (char *msg; (msg = kmsg_next(rec, sizeof(rec)));) {
		/* The C driver's rate limit, then the Rust one's. */
		if (strstr(msg, "smmu") && (strstr(msg, "callbacks suppressed") ||
					    strstr(msg, "held back (rate limit)")))
			suppressed = 1;
		if (!strstr(msg, "F_TRANSLATION"))
			continue;
		for (int i = 0; i < nr; i++)
			if (strstr(msg, pat[i][0]) || strstr(msg, pat[i][1])) {
				snprintf(line, len, "StreamID %#x (%s): %s", sids[i], fw, msg);
				return 0;
			}
	}
	if (suppressed)
		return skip("no F_TRANSLATION line for StreamID %#x%s (%s), and the IOMMU driver's "
			    "fault log was rate limited", sids[0], nr > 1 ? " or its alias" : "", fw);
	if (nr > 1)
		return fail("the IOMMU driver logged no F_TRANSLATION event for %s's StreamIDs %#x "
			    "and %#x (alias) (%s)", bdf, sids[0], sids[1], fw);
	return fail("the IOMMU driver logged no F_TRANSLATION event for %s's StreamID %#x (%s)",
		    bdf, sids[0], fw);
}
#endif

/* Run every test against one back end as KTAP subtest number num. */
static int run_backend(const char *backend, const char *bdf, int num)
{
	if (!strcmp(backend, "iommufd-s2") && !iommu_nests)
		/* Without both stages there is no nesting: the driver must say so. */
		return refused_backend(backend, bdf, num, IOMMU_HWPT_ALLOC_NEST_PARENT, "NEST_PARENT",
				       "nest_parent_refused", smmu_idr0 ? "SMMU IDR0 has no nesting"
				       : "VT-d ECAP has no nesting");
	if (!strcmp(backend, "iommufd-pasid")) {
		/* SMMUv3 shares stage 1 tables by PASID; VT-d either stage. */
		if (smmu_idr0 && !(smmu_idr0 & IDR0_S1P))
			return refused_backend(backend, bdf, num, IOMMU_HWPT_ALLOC_PASID, "PASID",
					       "pasid_refused", "SMMU IDR0 has no stage 1");
		return run_suite(&pasid_suite, backend, bdf, num);
	}
	return run_suite(&suite, backend, bdf, num);
}

/* IOMMU_GET_HW_INFO through a bound cdev: the IOMMU's identity as iommufd reports it. */
static int hw_info(const char *bdf, int print)
{
	struct ctx c;
	union {
		struct iommu_hw_info_arm_smmuv3 smmu;
		struct iommu_hw_info_vtd vtd;
	} data = { 0 };
	struct iommu_hw_info_arm_smmuv3 smmu;
	struct iommu_hw_info info = { .size = sizeof(info) };
	int ret = -1;

	failmsg[0] = 0;
	if (edu_open(&c, "iommufd", bdf))
		goto out;
	info.dev_id = c.devid;
	info.data_len = sizeof(data);
	info.data_uptr = (uintptr_t)&data;
	if (ioctl(c.iommufd, IOMMU_GET_HW_INFO, &info)) {
		fail("IOMMU_GET_HW_INFO: %s", strerror(errno));
		goto out;
	}
#ifdef __x86_64__
	/* VT-d: CAP and ECAP; nesting where ECAP.NEST (bit 26) is set. */
	if (info.out_data_type != IOMMU_HW_INFO_TYPE_INTEL_VTD) {
		fail("hw_info type %u, expected INTEL_VTD (%u)", info.out_data_type,
		     IOMMU_HW_INFO_TYPE_INTEL_VTD);
		goto out;
	}
	if (!data.vtd.cap_reg || !data.vtd.ecap_reg) {
		fail("hw_info CAP/ECAP are zero");
		goto out;
	}
	iommu_nests = (data.vtd.ecap_reg >> 26) & 1;
	if (print)
		printf("VT-d (IOMMU_GET_HW_INFO): CAP=%#018llx ECAP=%#018llx flags=%#x "
		       "capabilities=%#llx\n", (unsigned long long)data.vtd.cap_reg,
		       (unsigned long long)data.vtd.ecap_reg, data.vtd.flags,
		       (unsigned long long)info.out_capabilities);
	ret = 0;
	goto out;
#endif
	smmu = data.smmu;
	if (info.out_data_type != IOMMU_HW_INFO_TYPE_ARM_SMMUV3) {
		fail("hw_info type %u, expected ARM_SMMUV3 (%u)", info.out_data_type,
		     IOMMU_HW_INFO_TYPE_ARM_SMMUV3);
		goto out;
	}
	if (!smmu.idr[0] || !smmu.idr[1] || !smmu.idr[5]) {
		fail("hw_info IDR0/IDR1/IDR5 are zero");
		goto out;
	}
	smmu_idr0 = smmu.idr[0];
	iommu_nests = (smmu_idr0 & IDR0_NESTING) == IDR0_NESTING;
	if (print) {
		uint32_t i0 = smmu.idr[0], i1 = smmu.idr[1], i3 = smmu.idr[3], i5 = smmu.idr[5];
		static const int oas[] = { 32, 36, 40, 42, 44, 48, 52, 56 };

		printf("SMMUv3 (IOMMU_GET_HW_INFO): IDR0=%#010x IDR1=%#010x IDR3=%#010x IDR5=%#010x "
		       "IIDR=%#x AIDR=%#x\n", i0, i1, i3, i5, smmu.iidr, smmu.aidr);
		printf("  stages:%s%s  stream table: %s  SIDSIZE=%u SSIDSIZE=%u  RIL=%u  OAS=%d bits"
		       "  granules:%s%s%s  capabilities=%#llx\n",
		       (i0 & 2) ? " S1" : "", (i0 & 1) ? " S2" : "",
		       ((i0 >> 27) & 3) ? "2-level" : "linear", i1 & 0x3f, (i1 >> 6) & 0x1f,
		       (i3 >> 10) & 1, oas[i5 & 7], (i5 & 0x10) ? " 4K" : "", (i5 & 0x20) ? " 16K" : "",
		       (i5 & 0x40) ? " 64K" : "", (unsigned long long)info.out_capabilities);
	}
	ret = 0;
out:
	ctx_close(&c);
	return ret;
}

/* Map one page at iova through the iommufd back end; 0 if it was mapped. */
static int map_at(const char *bdf, const char *arg)
{
	struct ctx c;
	char *end;
	unsigned long long iova = strtoull(arg, &end, 0);
	int ret = -1;

	failmsg[0] = 0;
	if (*end || !*arg) {
		fprintf(stderr, "vfio-edu: map-at: '%s' is not an IOVA\n", arg);
		return 2;
	}
	if (!ctx_open(&c, "iommufd", bdf) && !ctx_map(&c, pages, iova, PAGE)) {
		printf("mapped IOVA %#llx\n", iova);
		ret = ctx_unmap(&c, iova, PAGE);
	}
	if (ret)
		printf("%s\n", failmsg);
	ctx_close(&c);
	return ret ? 1 : 0;
}

/* Seconds since t0, on CLOCK_MONOTONIC. */
static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/*
 * Round trips through iommufd for up to seconds, to keep the device's DMA in
 * flight while something else happens (a kexec); prints a "DMAing" line after the
 * first.
 */
static int busy(const char *bdf, const char *arg)
{
	struct timespec t0;
	struct ctx c;
	double limit = atof(arg);
	unsigned long n = 0;

	failmsg[0] = 0;
	if (edu_setup(&c, "iommufd", bdf))
		goto out;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (since(&t0) < limit) {
		if (t_roundtrip(&c))
			goto out;
		if (!n++)
			printf("vfio-edu: busy: edu %s DMAing through the IOMMU\n", bdf);
	}
	ctx_close(&c);
	printf("vfio-edu: busy: %lu round trips in %.0f s\n", n, limit);
	return 0;
out:
	printf("vfio-edu: busy: %s\n", failmsg);
	ctx_close(&c);
	return 1;
}

/* What storm()'s helper threads share with it. */
static struct {
	volatile int stop;	/* the heartbeats end */
	volatile int quiet;	/* the log reader may end once the log is quiet */
	double lateness_ms[64];	/* per CPU: the most a heartbeat was late */
	unsigned long ticks[64];	/* per CPU: heartbeats */
	unsigned long smmu_lines;	/* log records of the SMMU driver */
	unsigned long fault_lines;	/* of them, translation faults */
	unsigned long lost;	/* records overwritten before they were read */
	char first_fault[200];
} storm_state;

#define HEARTBEAT_MS 10

/* One per CPU, pinned: sleeps HEARTBEAT_MS at a time and records how late it wakes. */
static void *heartbeat(void *arg)
{
	long cpu = (long)arg;
	cpu_set_t set;
	struct timespec t0, d = { 0, HEARTBEAT_MS * 1000000L };

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	while (!storm_state.stop) {
		double late;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		clock_nanosleep(CLOCK_MONOTONIC, 0, &d, NULL);
		late = since(&t0) * 1000 - HEARTBEAT_MS;
		if (late > storm_state.lateness_ms[cpu])
			storm_state.lateness_ms[cpu] = late;
		storm_state.ticks[cpu]++;
	}
	return NULL;
}

/* Whether s contains word, ignoring case. */
static int has(const char *s, const char *word)
{
	return strcasestr(s, word) != NULL;
}

/*
 * Counts the kernel log records from the moment it is started (read from
 * /dev/kmsg, so also those that printk overwrites in its ring before anyone
 * reads them: the sequence numbers show the gap) until storm_state.quiet is
 * set and the SMMU driver has said nothing for 2 s more (60 s at most): the
 * tail of a backlog counts too.
 */
static void *log_reader(void *arg)
{
	int fd = (int)(long)arg;
	char rec[8192];
	unsigned long long last = 0;
	int have_last = 0;
	struct timespec last_smmu, quiet_at = { 0, 0 };

	clock_gettime(CLOCK_MONOTONIC, &last_smmu);
	for (;;) {
		unsigned long long seq;
		char *msg, *nl;
		ssize_t n;

		if (storm_state.quiet) {
			if (!quiet_at.tv_sec)
				clock_gettime(CLOCK_MONOTONIC, &quiet_at);
			if ((since(&quiet_at) >= 2 && since(&last_smmu) >= 2) || since(&quiet_at) >= 60)
				break;
		}
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			/* EPIPE: overwritten, the next record's number says how many. */
			if (errno != EPIPE)
				usleep(50000);
			continue;
		}
		rec[n] = 0;
		if (sscanf(rec, "%*u,%llu", &seq) == 1) {
			if (have_last && seq > last + 1)
				storm_state.lost += seq - last - 1;
			last = seq;
			have_last = 1;
		}
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;	/* the record's text, without its dictionary */
		if (!has(msg, "smmu"))
			continue;
		storm_state.smmu_lines++;
		clock_gettime(CLOCK_MONOTONIC, &last_smmu);
		if ((has(msg, "F_TRANSLATION") || has(msg, "event 0x10")) &&
		    !storm_state.fault_lines++)
			snprintf(storm_state.first_fault, sizeof(storm_state.first_fault), "%s", msg);
	}
	return NULL;
}

/*
 * A fault storm: edu DMAs 4 KiB to an IOVA that is not mapped, one transfer
 * after the other, for seconds (QEMU's SMMU records an F_TRANSLATION event
 * per 4-byte beat: about 1024 events a transfer). Meanwhile a heartbeat
 * thread on each CPU checks that user space keeps running, and the kernel
 * log records are counted. KTAP:
 *   storm_faults_reported    the SMMU driver logged translation faults
 *   storm_log_bounded        at most max_lines SMMU log records (rate limit)
 *   storm_guest_responsive   no heartbeat was more than 2 s late
 *   storm_dma_blocked        the unmapped IOVA (the PA of a page of ours)
 *                            was never written
 *   dma_roundtrip_after_storm  the device still DMAs through the IOMMU
 */
static int storm(const char *bdf, const char *secs_arg, const char *max_arg)
{
	uint8_t *victim = pages + 3 * PAGE;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double secs = atof(secs_arg), worst = 0;
	unsigned long max_lines = strtoul(max_arg, NULL, 0), dmas = 0;
	pthread_t hb[64], reader;
	struct timespec t0;
	char beats[512] = "";
	struct ctx c;
	uint64_t pa;
	int kmsg, failed = 0, ok, dma_failed = 0;
	size_t len = 0;

	if (ncpu < 1 || ncpu > 64)
		ncpu = 1;
	printf("KTAP version 1\n1..5\n");
	memset(victim, 0, PAGE);
	pa = phys_of(victim);
	failmsg[0] = 0;
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (!pa || kmsg < 0 || lseek(kmsg, 0, SEEK_END) < 0 || edu_setup(&c, "iommufd", bdf)) {
		printf("# storm setup: %s\n", !pa ? "no physical address for the victim page" :
		       kmsg < 0 ? "cannot read /dev/kmsg" : failmsg);
		for (int i = 1; i <= 5; i++)
			printf("not ok %d storm_setup\n", i);
		return 1;
	}
	pthread_create(&reader, NULL, log_reader, (void *)(long)kmsg);
	for (long i = 0; i < ncpu; i++)
		pthread_create(&hb[i], NULL, heartbeat, (void *)i);
	fill(pages, 0x3c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (edu_dma(&c, IOVA_A, PAGE, 0))
		dma_failed = 1;
	while (!dma_failed && since(&t0) < secs) {
		if (edu_dma(&c, pa, PAGE, 1))
			dma_failed = 1;
		else
			dmas++;
	}
	storm_state.stop = 1;
	for (long i = 0; i < ncpu; i++)
		pthread_join(hb[i], NULL);
	storm_state.quiet = 1;
	pthread_join(reader, NULL);
	close(kmsg);

	ok = storm_state.fault_lines > 0 && !dma_failed;
	failed |= !ok;
	printf("%s 1 storm_faults_reported # %lu DMAs of 4 KiB to unmapped IOVA %#lx in %.0f s%s; "
	       "first fault line: %s\n", ok ? "ok" : "not ok", dmas, (unsigned long)pa, secs,
	       dma_failed ? " (then a DMA did not complete)" : "",
	       storm_state.fault_lines ? storm_state.first_fault : "none");

	ok = storm_state.smmu_lines + storm_state.lost <= max_lines;
	failed |= !ok;
	printf("%s 2 storm_log_bounded # %lu SMMU log lines (%lu of them faults) and %lu records "
	       "lost, at most %lu allowed\n", ok ? "ok" : "not ok", storm_state.smmu_lines,
	       storm_state.fault_lines, storm_state.lost, max_lines);

	ok = 1;
	for (long i = 0; i < ncpu; i++) {
		/* A heartbeat that never ticked was starved from the start. */
		double late = storm_state.ticks[i] ? storm_state.lateness_ms[i] : secs * 1000;

		if (late > worst)
			worst = late;
		if (len < sizeof(beats))
			len += snprintf(beats + len, sizeof(beats) - len, "%scpu%ld %lu ticks, %.0f ms",
					i ? "; " : "", i, storm_state.ticks[i], late);
	}
	/*
	 * The C driver's event thread (SCHED_FIFO, like every interrupt thread)
	 * drains the storm's ~9000 events a second with cond_resched(), which does
	 * not yield to normal tasks: on its CPU they run only through the deadline
	 * server's 50 ms a second, so a heartbeat there wakes up to ~1.1 s late
	 * (measured). A CPU lost for longer, up to a soft lockup, is not responsive.
	 */
	ok = worst <= 2000;
	failed |= !ok;
	printf("%s 3 storm_guest_responsive # heartbeat every %d ms, latest wake-up: %s\n",
	       ok ? "ok" : "not ok", HEARTBEAT_MS, beats);

	ok = all_zero(victim);
	failed |= !ok;
	printf("%s 4 storm_dma_blocked # the page at PA %#lx %s\n", ok ? "ok" : "not ok",
	       (unsigned long)pa, ok ? "was not written" : "was written by the device");

	failmsg[0] = 0;
	ok = !t_roundtrip(&c);
	failed |= !ok;
	if (!ok)
		printf("# dma_roundtrip_after_storm: %s\n", failmsg);
	printf("%s 5 dma_roundtrip_after_storm\n", ok ? "ok" : "not ok");
	ctx_close(&c);
	return failed;
}

int main(int argc, char **argv)
{
	static const char *const all[] = {
		"iommufd", "iommufd-s2", "iommufd-pasid", "type1v2", "compat"
	};
	const char *const *backends = all;
	int nb = sizeof(all) / sizeof(all[0]), failed = 0, r;
	char bdf[32], line[512];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pci_dev_arg("vfio-edu", &edu, &argc, &argv, bdf))
		return 2;
	if (argc < 2 || (strcmp(argv[1], "test") && strcmp(argv[1], "info") &&
			 (strcmp(argv[1], "map-at") || argc != 3) &&
			 (strcmp(argv[1], "busy") || argc != 3) &&
			 (strcmp(argv[1], "storm") || argc != 4))) {
		fprintf(stderr, "usage: vfio-edu [-d BDF] [-s SID] test "
			"[iommufd|iommufd-s2|iommufd-pasid|type1v2|compat]... "
			"| info | map-at IOVA | busy SECONDS | storm SECONDS MAX_LOG_LINES\n");
		return 2;
	}
	if (pci_dev_default("vfio-edu", &edu, bdf))
		return 1;
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	if (kmsg >= 0 && lseek(kmsg, 0, SEEK_END) < 0) {
		close(kmsg);
		kmsg = -1;
	}
	pages = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (pages == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	if (!strcmp(argv[1], "map-at"))
		return map_at(bdf, argv[2]);
	if (!strcmp(argv[1], "busy"))
		return busy(bdf, argv[2]);
	if (!strcmp(argv[1], "storm"))
		return storm(bdf, argv[2], argv[3]);
	if (!strcmp(argv[1], "info")) {
		if (hw_info(bdf, 1)) {
			printf("IOMMU_GET_HW_INFO failed: %s\n", failmsg);
			return 1;
		}
		failmsg[0] = 0;
		if (run_backend("iommufd", bdf, 1))
			return 1;
		printf("edu %s: 4096 bytes RAM -> device -> RAM through the IOMMU (IOVA %#lx -> %#lx): "
		       "bytes match\n", bdf, IOVA_A, IOVA_B);
		{
			uint32_t sids[2];
			const char *fw = "";
			int nr = device_stream_ids(bdf, sids, &fw);

			if (nr > 0)
				printf("edu %s: StreamID %#x%s (%s)\n", bdf, sids[0],
				       nr > 1 ? ", and its alias's" : "", fw);
		}
		return 0;
	}
	if (argc > 2) {
		backends = (const char *const *)argv + 2;
		nb = argc - 2;
	}
	printf("KTAP version 1\n1..%d\n", nb + 2);
	if (hw_info(bdf, 0)) {
		printf("# hw_info: %s\nnot ok 1 hw_info\n", failmsg);
		failed = 1;
	} else {
		printf("ok 1 hw_info\n");
	}
	for (int i = 0; i < nb; i++)
		failed |= run_backend(backends[i], bdf, i + 2);
	failmsg[0] = 0;
	r = fault_reported(bdf, line, sizeof(line));
	if (r > 0)
		printf("ok %d fault_reported_on_stream_id # SKIP %s\n", nb + 2, failmsg);
	else if (r)
		printf("# fault_reported_on_stream_id: %s\nnot ok %d fault_reported_on_stream_id\n",
		       failmsg, nb + 2);
	else
		printf("ok %d fault_reported_on_stream_id # %s\n", nb + 2, line);
	return failed | (r < 0);
}
