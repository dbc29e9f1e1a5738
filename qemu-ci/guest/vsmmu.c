// SPDX-License-Identifier: GPL-2.0
/*
 * vsmmu: iommufd's virtual SMMU (vIOMMU of type ARM_SMMUV3) as a VMM drives
 * it, with QEMU's edu device behind the SMMU.
 *
 * The edu is bound to vfio-pci and opened through its cdev; a stage 2
 * (IOMMU_HWPT_ALLOC_NEST_PARENT) HWPT on an IOAS is the parent. Whether a
 * vIOMMU may be allocated is the C driver's rule: both stages (IDR0), and the
 * guest unable to make DMA non-coherent: the firmware says the root complex is
 * CANWBS (ACPI IORT), or the SMMU has S2FWB (IDR3). Where it may not, the
 * allocation must be refused with EOPNOTSUPP and nothing else is checked.
 * Where it may, the vIOMMU and its vDEVICE are checked against the uAPI's
 * rules and torn down in every order the uAPI allows. Output is KTAP.
 *
 * With a vIOMMU, the edu then DMAs through a nested stage 1 that this program
 * builds as a guest would: a Context Descriptor and stage 1 page tables in
 * "guest RAM" (memory mapped into the IOAS: its IOVAs are the guest's IPAs,
 * translated by the parent's stage 2), named by a vSTE. It checks that data
 * lands through both stages, that QEMU's SMMU keeps a changed stage 1 PTE's
 * old translation until a TLBI_NH_VA through IOMMU_HWPT_INVALIDATE, that a DMA
 * to an unmapped stage 1 address gives an F_TRANSLATION record carrying the
 * vSID on the vEVENTQ, that a stage 1 PTE pointing outside the IOAS moves no
 * data, that guest RAM unmapped from the parent's stage 2 takes the nested
 * translations through it along (a cached one must not be used), and that a bad vSTE or a batch with a bad command is refused (EIO,
 * with entry_num saying where) and changes nothing. A second vIOMMU, igb's,
 * in the same iommufd can neither be named from edu's nor name edu's stream.
 *
 * vsmmu failnth runs the nesting ioctl sequence under fail-nth fault
 * injection (see t_failnth_sweep), then the nested DMA checks; it needs a
 * vIOMMU, and the kernel's FAULT_INJECTION, FAILSLAB, FAIL_PAGE_ALLOC and
 * FAULT_INJECTION_DEBUG_FS.
 *
 * Usage: vsmmu [-d BDF] test|failnth
 */
#include "vfio-lib.h"
#include "edu.h"

static const struct pci_id edu_id = { "edu", EDU_VENDOR, EDU_DEVICE };

/* IDR0.S1P and S2P; IDR3.FWB. */
#define IDR0_NESTING 0x3
#define IDR3_FWB (1u << 8)

/*
 * Guest RAM: GRAM_PAGES pages at IPA GRAM_IPA (an IOVA of the IOAS). Its
 * pages, by index: the CD, the stage 1 tables (levels 1 to 3), and data.
 */
#define GRAM_IPA 0x40000000UL
#define GRAM_PAGES 16
#define PG_CD 0
#define PG_L1 1
#define PG_L2 2
#define PG_L3 3
#define PG_SRC 8
#define PG_DST 9
#define PG_ALT 10

/* Stage 1 VAs (39 bits, 4 KiB pages: levels 1 to 3) the edu DMAs to. */
#define VA_SRC 0x10000000UL
#define VA_DST 0x10001000UL
#define VA_UNMAPPED 0x10002000UL
#define VA_OUTSIDE 0x10003000UL
#define ASID 7

/* CD word 0 (SMMUv3 CD, 64 bytes), as arm_smmu_make_s1_cd() builds one. */
#define CD0_T0SZ(x) ((uint64_t)(x))
#define CD0_IR0_WBWA (1ULL << 8)
#define CD0_OR0_WBWA (1ULL << 10)
#define CD0_SH0_IS (3ULL << 12)
#define CD0_EPD1 (1ULL << 30)
#define CD0_V (1ULL << 31)
#define CD0_IPS_40 (2ULL << 32)
#define CD0_AA64 (1ULL << 41)
#define CD0_R (1ULL << 45)
#define CD0_A (1ULL << 46)
#define CD0_ASET (1ULL << 47)
#define CD0_ASID(x) ((uint64_t)(x) << 48)
/* MAIR index 0: normal memory, inner and outer write-back. */
#define MAIR_WB 0xffULL

/* Stage 1 descriptors (VMSAv8-64, 4 KiB granule). */
#define PTE_TABLE 0x3ULL
#define PTE_PAGE 0x3ULL
#define PTE_AP_UNPRIV (1ULL << 6)
#define PTE_SH_IS (3ULL << 8)
#define PTE_AF (1ULL << 10)
#define PTE_NG (1ULL << 11)

/* STE word 0 and 1 fields a vSTE may set. */
#define STE0_V 1ULL
#define STE0_CFG_ABORT (0ULL << 1)
#define STE0_CFG_BYPASS (4ULL << 1)
#define STE0_CFG_S1 (5ULL << 1)
#define STE1_S1CIR_WBRA (1ULL << 2)
#define STE1_S1COR_WBRA (1ULL << 4)
#define STE1_S1CSH_IS (3ULL << 6)
#define STE1_EATS_TRANS (1ULL << 28)
/* A bit no vSTE may set: STE.S1STALLD's neighbour STRW, word 1 bit 30. */
#define STE1_STRW_BIT (1ULL << 30)

/* Commands. */
#define CMD_TLBI_NH_VA 0x12
#define CMD_ATC_INV 0x40
#define CMD_CFGI_CD_ALL 0x06
#define EVT_F_TRANSLATION 0x10

struct vsmmu {
	struct ctx c;
	uint32_t s2;		/* the NEST_PARENT HWPT */
	uint32_t idr[6];
};

static int destroy(int fd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &d);
}

/* Opens the edu on a NEST_PARENT HWPT over a new IOAS, and reads the SMMU's IDRs. */
static int vsmmu_open(struct vsmmu *v, const char *bdf)
{
	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hw_info info = { .size = sizeof(info) };

	memset(v, 0, sizeof(*v));
	if (ctx_open(&v->c, "iommufd", bdf))
		return -1;
	info.dev_id = v->c.devid;
	info.data_len = sizeof(smmu);
	info.data_uptr = (uintptr_t)&smmu;
	CHECK(!ioctl(v->c.iommufd, IOMMU_GET_HW_INFO, &info), "IOMMU_GET_HW_INFO: %s",
	      strerror(errno));
	memcpy(v->idr, smmu.idr, sizeof(v->idr));
	if ((v->idr[0] & IDR0_NESTING) != IDR0_NESTING)
		return 0;
	return nest_parent_attach(&v->c, &v->s2);
}

static int viommu_alloc(struct vsmmu *v, uint32_t hwpt, uint32_t *id)
{
	struct iommu_viommu_alloc a = {
		.size = sizeof(a),
		.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
		.dev_id = v->c.devid,
		.hwpt_id = hwpt,
	};
	int r = ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &a);

	*id = a.out_viommu_id;
	return r;
}

static int vdevice_alloc(struct vsmmu *v, uint32_t viommu, uint64_t virt_id, uint32_t *id)
{
	struct iommu_vdevice_alloc a = {
		.size = sizeof(a),
		.viommu_id = viommu,
		.dev_id = v->c.devid,
		.virt_id = virt_id,
	};
	int r = ioctl(v->c.iommufd, IOMMU_VDEVICE_ALLOC, &a);

	*id = a.out_vdevice_id;
	return r;
}

/* Guest RAM and what the nested tests set up in it. */
static uint8_t *gram;

static uint64_t *gpage(int i)
{
	return (uint64_t *)(gram + i * PAGE);
}

static uint64_t ipa(int page)
{
	return GRAM_IPA + page * PAGE;
}

/* Points the stage 1 PTE of va at the IPA out (0: invalid). */
static void s1_map(uint64_t va, uint64_t out)
{
	gpage(PG_L3)[(va >> 12) & 0x1ff] =
		out ? out | PTE_PAGE | PTE_AP_UNPRIV | PTE_SH_IS | PTE_AF | PTE_NG : 0;
	__sync_synchronize();
}

/*
 * Builds, in guest RAM (allocated once), the CD and stage 1 tables of ASID:
 * VA_SRC -> PG_SRC, VA_DST -> PG_DST; VA_UNMAPPED and VA_OUTSIDE invalid.
 */
static int gram_tables(void)
{
	uint64_t *cd;

	if (!gram) {
		gram = mmap(NULL, GRAM_PAGES * PAGE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		CHECK(gram != MAP_FAILED, "mmap guest RAM: %s", strerror(errno));
	}
	memset(gram, 0, GRAM_PAGES * PAGE);
	cd = gpage(PG_CD);
	cd[0] = CD0_T0SZ(25) | CD0_IR0_WBWA | CD0_OR0_WBWA | CD0_SH0_IS | CD0_EPD1 | CD0_V |
		CD0_IPS_40 | CD0_AA64 | CD0_R | CD0_A | CD0_ASET | CD0_ASID(ASID);
	cd[1] = ipa(PG_L1);
	cd[3] = MAIR_WB;
	gpage(PG_L1)[(VA_SRC >> 30) & 0x1ff] = ipa(PG_L2) | PTE_TABLE;
	gpage(PG_L2)[(VA_SRC >> 21) & 0x1ff] = ipa(PG_L3) | PTE_TABLE;
	s1_map(VA_SRC, ipa(PG_SRC));
	s1_map(VA_DST, ipa(PG_DST));
	return 0;
}

/* Builds guest RAM's tables and maps it, but its last page, into the IOAS. */
static int gram_setup(struct vsmmu *v)
{
	if (gram_tables())
		return -1;
	/* The last page is the victim of a DMA that stage 2 must stop. */
	return ctx_map(&v->c, gram, GRAM_IPA, (GRAM_PAGES - 1) * PAGE);
}

static int nested_alloc(struct vsmmu *v, uint32_t viommu, uint64_t ste0, uint64_t ste1,
			uint32_t *id)
{
	struct iommu_hwpt_arm_smmuv3 vste = { .ste = { ste0, ste1 } };
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a),
		.dev_id = v->c.devid,
		.pt_id = viommu,
		.data_type = IOMMU_HWPT_DATA_ARM_SMMUV3,
		.data_len = sizeof(vste),
		.data_uptr = (uintptr_t)&vste,
	};
	int r = ioctl(v->c.iommufd, IOMMU_HWPT_ALLOC, &a);

	*id = a.out_hwpt_id;
	return r;
}

static int attach(struct vsmmu *v, uint32_t pt)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = pt };

	return ioctl(v->c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
}

/* IOMMU_HWPT_INVALIDATE on the vIOMMU with n entries of len bytes; *done: entry_num on return. */
static int invalidate_len(struct vsmmu *v, uint32_t viommu, const void *cmds, uint32_t len,
			  uint32_t n, uint32_t *done)
{
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv),
		.hwpt_id = viommu,
		.data_uptr = (uintptr_t)cmds,
		.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
		.entry_len = len,
		.entry_num = n,
	};
	int r = ioctl(v->c.iommufd, IOMMU_HWPT_INVALIDATE, &inv);

	*done = inv.entry_num;
	return r;
}

/* The same with n commands of the uAPI's size. */
static int invalidate(struct vsmmu *v, uint32_t viommu, uint64_t (*cmds)[2], uint32_t n,
		      uint32_t *done)
{
	return invalidate_len(v, viommu, cmds, sizeof(cmds[0]), n, done);
}

/* The S1 vSTE naming the CD in guest RAM. */
#define VSTE0 (STE0_V | STE0_CFG_S1 | ipa(PG_CD))
#define VSTE1 (STE1_S1CIR_WBRA | STE1_S1COR_WBRA | STE1_S1CSH_IS)

/* Reads vEVENTQ records from fd for up to ms; returns how many, the first in *evt. */
static int read_vevents(int fd, uint64_t evt[4], int ms)
{
	uint8_t buf[4096];
	int got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, ms) == 1) {
		ssize_t n = read(fd, buf, sizeof(buf));
		size_t off = 0;

		if (n <= 0)
			break;
		while (off + sizeof(struct iommufd_vevent_header) <= (size_t)n) {
			struct iommufd_vevent_header h;

			memcpy(&h, buf + off, sizeof(h));
			off += sizeof(h);
			if (h.flags & IOMMU_VEVENTQ_FLAG_LOST_EVENTS)
				continue;
			if (off + 32 > (size_t)n)
				break;
			if (!got)
				memcpy(evt, buf + off, 32);
			got++;
			off += 32;
		}
		ms = 200;
	}
	return got;
}

/*
 * The nested stage 1: DMA through both stages, stale PTEs until a TLBI_NH_VA,
 * faults on the vEVENTQ with the vSID, and a PTE outside the IOAS.
 */
static int t_nested_s1_dma(struct vsmmu *v)
{
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					 .veventq_depth = 64 };
	uint64_t cmd[1][2], evt[4], victim_pa;
	uint32_t viommu, vdev, nested, done;
	uint8_t *victim;
	int n;

	if (gram_setup(v))
		return -1;
	victim = gram + (GRAM_PAGES - 1) * PAGE;
	/* The last guest RAM page is not in the IOAS: its PA is an IPA outside it. */
	victim_pa = phys_of(victim);
	CHECK(victim_pa, "no physical address for the victim page");
	CHECK(victim_pa < GRAM_IPA || victim_pa >= GRAM_IPA + GRAM_PAGES * PAGE,
	      "the victim page's PA %#lx falls in the IOAS's guest RAM", (unsigned long)victim_pa);
	CHECK(!viommu_alloc(v, v->s2, &viommu), "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(!vdevice_alloc(v, viommu, VSID, &vdev), "IOMMU_VDEVICE_ALLOC: %s", strerror(errno));
	q.viommu_id = viommu;
	CHECK(!ioctl(v->c.iommufd, IOMMU_VEVENTQ_ALLOC, &q), "IOMMU_VEVENTQ_ALLOC: %s",
	      strerror(errno));
	CHECK(!nested_alloc(v, viommu, VSTE0, VSTE1, &nested), "nested HWPT from a S1 vSTE: %s",
	      strerror(errno));
	CHECK(!attach(v, nested), "attach to the nested HWPT: %s", strerror(errno));

	/* Round trip through both stages. */
	fill((uint8_t *)gpage(PG_SRC), 0x5a);
	if (!(!edu_dma(&v->c, VA_SRC, PAGE, 0) && !edu_dma(&v->c, VA_DST, PAGE, 1)))
		return -1;
	CHECK(same((uint8_t *)gpage(PG_DST), 0x5a),
	      "VA %#lx -> device -> VA %#lx through stage 1 and 2: data did not land",
	      VA_SRC, VA_DST);

	/* A changed PTE is not seen until the guest invalidates it. */
	s1_map(VA_DST, ipa(PG_ALT));
	fill((uint8_t *)gpage(PG_SRC), 0xa5);
	if (!(!edu_dma(&v->c, VA_SRC, PAGE, 0) && !edu_dma(&v->c, VA_DST, PAGE, 1)))
		return -1;
	CHECK(same((uint8_t *)gpage(PG_DST), 0xa5) && !same((uint8_t *)gpage(PG_ALT), 0xa5),
	      "without invalidation, the DMA did not use the cached (old) stage 1 PTE");
	cmd[0][0] = CMD_TLBI_NH_VA | ((uint64_t)ASID << 48);
	cmd[0][1] = VA_DST | 1 /* LEAF */;
	CHECK(!invalidate(v, viommu, cmd, 1, &done), "IOMMU_HWPT_INVALIDATE(TLBI_NH_VA): %s",
	      strerror(errno));
	CHECK(done == 1, "TLBI_NH_VA: entry_num %u, not 1", done);
	fill((uint8_t *)gpage(PG_SRC), 0x3c);
	if (!(!edu_dma(&v->c, VA_SRC, PAGE, 0) && !edu_dma(&v->c, VA_DST, PAGE, 1)))
		return -1;
	CHECK(same((uint8_t *)gpage(PG_ALT), 0x3c),
	      "after TLBI_NH_VA the DMA did not use the new stage 1 PTE");

	/* A stage 1 fault reaches the vEVENTQ, with the vSID. */
	if (!(!edu_dma(&v->c, VA_UNMAPPED, PAGE, 1)))
		return -1;
	n = read_vevents(q.out_veventq_fd, evt, 2000);
	CHECK(n > 0, "no vEVENTQ record for a DMA to the unmapped stage 1 VA %#lx", VA_UNMAPPED);
	CHECK((evt[0] & 0xff) == EVT_F_TRANSLATION && (evt[0] >> 32) == VSID,
	      "first vEVENT: event %#lx, SID %#lx; want F_TRANSLATION (%#x) on vSID %#x",
	      (unsigned long)(evt[0] & 0xff), (unsigned long)(evt[0] >> 32), EVT_F_TRANSLATION,
	      VSID);

	/*
	 * A stage 1 PTE pointing outside the IOAS, at the physical address of a
	 * page of ours: stage 2 must stop the DMA (bypassing it would write the page).
	 */
	s1_map(VA_OUTSIDE, victim_pa);
	cmd[0][1] = VA_OUTSIDE | 1;
	CHECK(!invalidate(v, viommu, cmd, 1, &done), "IOMMU_HWPT_INVALIDATE(TLBI_NH_VA): %s",
	      strerror(errno));
	if (!(!edu_dma(&v->c, VA_OUTSIDE, PAGE, 1)))
		return -1;
	CHECK(all_zero(victim), "a DMA through a stage 1 PTE outside the IOAS (IPA %#lx) wrote "
	      "that physical page: stage 2 was bypassed", (unsigned long)victim_pa);
	/* Stage 2 faults are the host's: none is forwarded. */
	n = read_vevents(q.out_veventq_fd, evt, 1000);
	CHECK(n == 0, "%d vEVENTs after a stage 2 fault (first: event %#lx SID %#lx); stage 2 "
	      "faults must not be forwarded", n, (unsigned long)(evt[0] & 0xff),
	      (unsigned long)(evt[0] >> 32));

	/*
	 * The parent's stage 2 loses guest RAM: a later DMA to VA_DST must not reach
	 * the page the guest's PTE still names. QEMU's SMMU, as hardware may, keeps
	 * what both stages gave VA_DST under the guest's ASID, which TLBI_S2_IPA
	 * does not reach: the host must also invalidate the VMID's stage 1 entries.
	 */
	CHECK(!ctx_unmap(&v->c, GRAM_IPA, (GRAM_PAGES - 1) * PAGE),
	      "IOMMU_IOAS_UNMAP(guest RAM): %s", strerror(errno));
	memset(gpage(PG_ALT), 0, PAGE);
	if (!(!edu_dma(&v->c, VA_DST, PAGE, 1)))
		return -1;
	CHECK(all_zero((uint8_t *)gpage(PG_ALT)), "a DMA after guest RAM left stage 2 wrote the "
	      "page: the nested translation cached before the unmap was used");

	CHECK(!attach(v, v->s2), "attach back to the NEST_PARENT HWPT: %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, nested), "IOMMU_DESTROY(nested HWPT): %s", strerror(errno));
	/* The fd holds the vEVENTQ: closed first. */
	close(q.out_veventq_fd);
	CHECK(!destroy(v->c.iommufd, q.out_veventq_id), "IOMMU_DESTROY(vEVENTQ): %s",
	      strerror(errno));
	CHECK(!destroy(v->c.iommufd, vdev), "IOMMU_DESTROY(vDEVICE): %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, viommu), "IOMMU_DESTROY(vIOMMU): %s", strerror(errno));
	return 0;
}

/* Bad vSTEs and bad command batches are refused, as C refuses them, and change nothing. */
static int t_nested_bad_input(struct vsmmu *v)
{
	uint64_t cmds[3][2], wide[2][3] = { 0 }, narrow[2];
	uint32_t viommu, vdev, nested, done;

	CHECK(!viommu_alloc(v, v->s2, &viommu), "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(nested_alloc(v, viommu, VSTE0, VSTE1 | STE1_STRW_BIT, &nested) && errno == EIO,
	      "vSTE with STRW set: %s, not EIO", errno ? strerror(errno) : "accepted");
	CHECK(nested_alloc(v, viommu, STE0_V | (6ULL << 1), 0, &nested) && errno == EIO,
	      "vSTE with Config 0b110: %s, not EIO", errno ? strerror(errno) : "accepted");
	CHECK(nested_alloc(v, viommu, VSTE0, VSTE1 | (2ULL << 28), &nested) && errno == EIO,
	      "vSTE with EATS 0b10: %s, not EIO", errno ? strerror(errno) : "accepted");
	/* A translating vSTE needs the device's vDEVICE on the vIOMMU to attach. */
	CHECK(!nested_alloc(v, viommu, VSTE0, VSTE1, &nested), "S1 vSTE: %s", strerror(errno));
	CHECK(attach(v, nested), "attached to a S1 nested HWPT without a vDEVICE");
	CHECK(!destroy(v->c.iommufd, nested), "IOMMU_DESTROY(nested): %s", strerror(errno));
	/* Abort and bypass need none. */
	CHECK(!nested_alloc(v, viommu, STE0_V | STE0_CFG_BYPASS, 0, &nested),
	      "bypass vSTE: %s", strerror(errno));
	CHECK(!attach(v, nested), "attach to a bypass nested HWPT: %s", strerror(errno));
	CHECK(!attach(v, v->s2), "attach back: %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, nested), "IOMMU_DESTROY(nested): %s", strerror(errno));
	CHECK(!nested_alloc(v, viommu, STE0_V | STE0_CFG_ABORT, 0, &nested),
	      "abort vSTE: %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, nested), "IOMMU_DESTROY(nested): %s", strerror(errno));

	CHECK(!vdevice_alloc(v, viommu, VSID, &vdev), "IOMMU_VDEVICE_ALLOC: %s", strerror(errno));
	/* Two good commands, then one this SMMU cannot have (ATC_INV without ATS). */
	cmds[0][0] = CMD_CFGI_CD_ALL | ((uint64_t)VSID << 32);
	cmds[0][1] = 0;
	cmds[1][0] = CMD_TLBI_NH_VA | ((uint64_t)ASID << 48);
	cmds[1][1] = VA_SRC | 1;
	cmds[2][0] = CMD_ATC_INV | ((uint64_t)VSID << 32);
	cmds[2][1] = 0;
	CHECK(invalidate(v, viommu, cmds, 3, &done) && errno == EIO,
	      "a batch ending in ATC_INV on an SMMU without ATS: %s, not EIO",
	      errno ? strerror(errno) : "accepted");
	CHECK(done == 2, "entry_num %u after the third command failed, not 2", done);
	/*
	 * Entries longer than a command must be zero beyond it (E2BIG, and none handled: a VMM
	 * must not take them for done); shorter ones, an older layout, are zero-extended.
	 */
	wide[0][0] = CMD_CFGI_CD_ALL | ((uint64_t)VSID << 32);
	wide[1][0] = CMD_TLBI_NH_VA | ((uint64_t)ASID << 48);
	wide[1][1] = VA_SRC | 1;
	CHECK(!invalidate_len(v, viommu, wide, sizeof(wide[0]), 2, &done) && done == 2,
	      "two 24-byte entries with zero tails: %s, entry_num %u; not accepted, 2",
	      strerror(errno), done);
	wide[1][2] = 1;
	CHECK(invalidate_len(v, viommu, wide, sizeof(wide[0]), 2, &done) && errno == E2BIG &&
	      done == 0, "a 24-byte entry with a nonzero tail: %s, entry_num %u; not E2BIG, 0",
	      errno ? strerror(errno) : "accepted", done);
	narrow[0] = CMD_CFGI_CD_ALL | ((uint64_t)VSID << 32);
	narrow[1] = CMD_TLBI_NH_VA | ((uint64_t)ASID << 48);
	CHECK(!invalidate_len(v, viommu, narrow, sizeof(narrow[0]), 2, &done) && done == 2,
	      "two 8-byte entries: %s, entry_num %u; not accepted, 2", strerror(errno), done);
	/* An unknown vSID. */
	cmds[0][0] = CMD_CFGI_CD_ALL | ((uint64_t)(VSID + 1) << 32);
	CHECK(invalidate(v, viommu, cmds, 1, &done) && errno == EIO && done == 0,
	      "CFGI_CD_ALL of an unknown vSID: %s, entry_num %u; not EIO, 0",
	      errno ? strerror(errno) : "accepted", done);
	CHECK(!destroy(v->c.iommufd, vdev), "IOMMU_DESTROY(vDEVICE): %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, viommu), "IOMMU_DESTROY(vIOMMU): %s", strerror(errno));
	return 0;
}

/* A vIOMMU of another type than ARM_SMMUV3, or with flags, is refused as the core says. */
static int t_viommu_bad_requests(struct vsmmu *v)
{
	struct iommu_viommu_alloc a = {
		.size = sizeof(a),
		.type = IOMMU_VIOMMU_TYPE_DEFAULT,
		.dev_id = v->c.devid,
		.hwpt_id = v->s2,
	};

	CHECK(ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &a) && errno == EOPNOTSUPP,
	      "vIOMMU of type DEFAULT: %s, not EOPNOTSUPP", strerror(errno));
	a.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
	a.flags = 1;
	CHECK(ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &a) && errno == EOPNOTSUPP,
	      "vIOMMU with flags: %s, not EOPNOTSUPP", strerror(errno));
	return 0;
}

/* The parent must be a NEST_PARENT HWPT: the IOAS's auto domain is not. */
static int t_viommu_needs_nest_parent(struct vsmmu *v)
{
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt),
		.dev_id = v->c.devid,
		.pt_id = v->c.ioas,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	uint32_t id;

	CHECK(!ioctl(v->c.iommufd, IOMMU_HWPT_ALLOC, &hwpt), "IOMMU_HWPT_ALLOC: %s",
	      strerror(errno));
	CHECK(viommu_alloc(v, hwpt.out_hwpt_id, &id) && errno == EINVAL,
	      "vIOMMU on a HWPT that is no NEST_PARENT: %s, not EINVAL",
	      errno ? strerror(errno) : "allocated");
	CHECK(!destroy(v->c.iommufd, hwpt.out_hwpt_id), "IOMMU_DESTROY(HWPT): %s",
	      strerror(errno));
	return 0;
}

/*
 * A vIOMMU and a vDEVICE; what holds what: the vIOMMU holds its parent, the
 * vDEVICE its vIOMMU, and both are refused a second time.
 */
static int t_viommu_vdevice_lifetimes(struct vsmmu *v)
{
	uint32_t viommu, vdev, other;

	CHECK(!viommu_alloc(v, v->s2, &viommu), "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(destroy(v->c.iommufd, v->s2) && errno == EBUSY,
	      "destroying the parent of a vIOMMU: %s, not EBUSY", strerror(errno));
	CHECK(!vdevice_alloc(v, viommu, VSID, &vdev), "IOMMU_VDEVICE_ALLOC(vSID %#x): %s", VSID,
	      strerror(errno));
	CHECK(vdevice_alloc(v, viommu, VSID + 1, &other) && errno == EEXIST,
	      "a second vDEVICE for the device: %s, not EEXIST",
	      errno ? strerror(errno) : "allocated");
	CHECK(destroy(v->c.iommufd, viommu) && errno == EBUSY,
	      "destroying a vIOMMU with a vDEVICE: %s, not EBUSY", strerror(errno));
	CHECK(!destroy(v->c.iommufd, vdev), "IOMMU_DESTROY(vDEVICE): %s", strerror(errno));
	/* The vSID is free again, on a new vDEVICE. */
	CHECK(!vdevice_alloc(v, viommu, VSID, &vdev), "IOMMU_VDEVICE_ALLOC again: %s",
	      strerror(errno));
	CHECK(!destroy(v->c.iommufd, vdev), "IOMMU_DESTROY(vDEVICE): %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, viommu), "IOMMU_DESTROY(vIOMMU): %s", strerror(errno));
	return 0;
}

static const struct pci_id igb_id = { "igb", 0x8086, 0x10c9 };

/*
 * Two vIOMMUs in one iommufd, edu's and igb's, each with its vDEVICE: neither
 * can name the other's stream, in an invalidation or a vDEVICE.
 */
static int t_viommus_isolated(struct vsmmu *v)
{
	struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd) };
	char bdf[32] = "", path[64];
	uint64_t cmd[1][2];
	uint32_t a, b, vdev_a, vdev_b, done;
	int fd;

	CHECK(!pci_dev_default("vsmmu", &igb_id, bdf), "no igb to give the second vIOMMU");
	CHECK(!bind_vfio(bdf), "%s", "binding igb to vfio-pci failed");
	CHECK(!cdev_path(bdf, path, sizeof(path)), "%s has no vfio cdev", bdf);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	bind.iommufd = v->c.iommufd;
	CHECK(!ioctl(fd, VFIO_DEVICE_BIND_IOMMUFD, &bind), "igb VFIO_DEVICE_BIND_IOMMUFD: %s",
	      strerror(errno));
	CHECK(!viommu_alloc(v, v->s2, &a), "edu's IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(!vdevice_alloc(v, a, VSID, &vdev_a), "edu's vDEVICE: %s", strerror(errno));
	{
		struct iommu_viommu_alloc va = {
			.size = sizeof(va),
			.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
			.dev_id = bind.out_devid,
			.hwpt_id = v->s2,
		};

		CHECK(!ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &va), "igb's IOMMU_VIOMMU_ALLOC: %s",
		      strerror(errno));
		b = va.out_viommu_id;
	}
	vd.viommu_id = b;
	vd.dev_id = bind.out_devid;
	vd.virt_id = VSID + 1;
	CHECK(!ioctl(v->c.iommufd, IOMMU_VDEVICE_ALLOC, &vd), "igb's vDEVICE: %s",
	      strerror(errno));
	vdev_b = vd.out_vdevice_id;
	/* Each vIOMMU knows its own vSID only. */
	cmd[0][1] = 0;
	cmd[0][0] = CMD_CFGI_CD_ALL | ((uint64_t)VSID << 32);
	CHECK(!invalidate(v, a, cmd, 1, &done) && done == 1, "CFGI_CD_ALL of edu's vSID on "
	      "edu's vIOMMU: %s", strerror(errno));
	CHECK(invalidate(v, b, cmd, 1, &done) && errno == EIO && done == 0,
	      "CFGI_CD_ALL of edu's vSID on igb's vIOMMU: %s, entry_num %u; not EIO, 0",
	      errno ? strerror(errno) : "accepted", done);
	cmd[0][0] = CMD_CFGI_CD_ALL | ((uint64_t)(VSID + 1) << 32);
	CHECK(invalidate(v, a, cmd, 1, &done) && errno == EIO && done == 0,
	      "CFGI_CD_ALL of igb's vSID on edu's vIOMMU: %s, entry_num %u; not EIO, 0",
	      errno ? strerror(errno) : "accepted", done);
	CHECK(!invalidate(v, b, cmd, 1, &done) && done == 1, "CFGI_CD_ALL of igb's vSID on "
	      "igb's vIOMMU: %s", strerror(errno));
	/* igb's device cannot become a vDEVICE of edu's vIOMMU too. */
	vd.viommu_id = a;
	vd.virt_id = VSID + 2;
	CHECK(ioctl(v->c.iommufd, IOMMU_VDEVICE_ALLOC, &vd) && errno == EEXIST,
	      "igb's second vDEVICE, on edu's vIOMMU: %s, not EEXIST",
	      errno ? strerror(errno) : "allocated");
	CHECK(!destroy(v->c.iommufd, vdev_b) && !destroy(v->c.iommufd, b) &&
	      !destroy(v->c.iommufd, vdev_a) && !destroy(v->c.iommufd, a),
	      "IOMMU_DESTROY: %s", strerror(errno));
	close(fd);
	return 0;
}

/* Two vIOMMUs on one parent, each with its own IDs; closing the iommufd frees them all. */
static int t_viommu_two_and_close(struct vsmmu *v)
{
	uint32_t a, b, vdev;

	CHECK(!viommu_alloc(v, v->s2, &a), "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(!viommu_alloc(v, v->s2, &b), "a second IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(a != b, "two vIOMMUs with the same ID %u", a);
	CHECK(!vdevice_alloc(v, b, VSID, &vdev), "IOMMU_VDEVICE_ALLOC on the second: %s",
	      strerror(errno));
	/* Left for ctx_close(): closing the iommufd destroys them in the core's order. */
	return 0;
}

/*
 * The fail-nth sweep (failnth_sweep() in vfio-lib.h) of a VMM's nesting
 * sequence: IOAS, map, NEST_PARENT HWPT, attach, vIOMMU, vDEVICE, vEVENTQ,
 * nested HWPT, replace, invalidate, replace back and forth.
 */
#define FN_STEPS 14

static const char *const fn_names[FN_STEPS] = {
	"IOMMU_IOAS_ALLOC", "IOMMU_IOAS_MAP", "IOMMU_HWPT_ALLOC(NEST_PARENT)",
	"ATTACH(NEST_PARENT)", "IOMMU_VIOMMU_ALLOC", "IOMMU_VDEVICE_ALLOC",
	"IOMMU_VEVENTQ_ALLOC", "IOMMU_HWPT_ALLOC(nested)", "ATTACH(nested)",
	"IOMMU_HWPT_INVALIDATE", "ATTACH(NEST_PARENT) again", "IOMMU_HWPT_ALLOC(bypass vSTE)",
	"ATTACH(bypass)", "ATTACH(nested) again",
};

/* What one run made, for undoing it. */
struct fn_objs {
	uint32_t ioas, s2, viommu, vdev, veventq, nested, bypass;
	int veventq_fd, attached;
};

static int fn_attach(struct vsmmu *v, struct fn_objs *o, uint32_t pt)
{
	int r = attach(v, pt);

	o->attached |= !r;
	return r;
}

/*
 * One run of the sequence on the open device (detached); returns the step
 * that failed, or FN_STEPS. *err: its errno.
 */
static int fn_sequence(struct vsmmu *v, struct fn_objs *o, int *err)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)gram,
		.length = (GRAM_PAGES - 1) * PAGE,
		.iova = GRAM_IPA,
	};
	struct iommu_hwpt_alloc s2 = {
		.size = sizeof(s2),
		.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = v->c.devid,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct iommu_veventq_alloc q = { .size = sizeof(q), .type = IOMMU_VEVENTQ_TYPE_ARM_SMMUV3,
					 .veventq_depth = 64 };
	uint64_t cmds[2][2] = {
		{ CMD_CFGI_CD_ALL | ((uint64_t)VSID << 32), 0 },
		{ CMD_TLBI_NH_VA | ((uint64_t)ASID << 48), VA_DST | 1 },
	};
	uint32_t done;
	int step = 0;

#define FN(call) do { errno = 0; if (call) { *err = errno; return step; } step++; } while (0)
	FN(ioctl(v->c.iommufd, IOMMU_IOAS_ALLOC, &ioas));
	o->ioas = ioas.out_ioas_id;
	map.ioas_id = o->ioas;
	FN(ioctl(v->c.iommufd, IOMMU_IOAS_MAP, &map));
	s2.pt_id = o->ioas;
	FN(ioctl(v->c.iommufd, IOMMU_HWPT_ALLOC, &s2));
	o->s2 = s2.out_hwpt_id;
	FN(fn_attach(v, o, o->s2));
	FN(viommu_alloc(v, o->s2, &o->viommu));
	FN(vdevice_alloc(v, o->viommu, VSID, &o->vdev));
	q.viommu_id = o->viommu;
	FN(ioctl(v->c.iommufd, IOMMU_VEVENTQ_ALLOC, &q));
	o->veventq = q.out_veventq_id;
	o->veventq_fd = q.out_veventq_fd;
	FN(nested_alloc(v, o->viommu, VSTE0, VSTE1, &o->nested));
	FN(fn_attach(v, o, o->nested));
	done = 2;
	FN(invalidate(v, o->viommu, cmds, 2, &done) || done != 2);
	FN(fn_attach(v, o, o->s2));
	FN(nested_alloc(v, o->viommu, STE0_V | STE0_CFG_BYPASS, 0, &o->bypass));
	FN(fn_attach(v, o, o->bypass));
	FN(fn_attach(v, o, o->nested));
#undef FN
	return step;
}

/* Undoes a run; 0 if every object went. */
static int fn_undo(struct vsmmu *v, struct fn_objs *o)
{
	struct vfio_device_detach_iommufd_pt det = { .argsz = sizeof(det) };
	const struct { uint32_t id; const char *what; } objs[] = {
		{ o->nested, "nested HWPT" }, { o->bypass, "bypass HWPT" },
		{ o->veventq, "vEVENTQ" }, { o->vdev, "vDEVICE" }, { o->viommu, "vIOMMU" },
		{ o->s2, "NEST_PARENT HWPT" }, { o->ioas, "IOAS" },
	};

	if (o->attached)
		CHECK(!ioctl(v->c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &det),
		      "VFIO_DEVICE_DETACH_IOMMUFD_PT: %s", strerror(errno));
	if (o->veventq_fd >= 0)
		close(o->veventq_fd);
	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
		if (objs[i].id)
			CHECK(!destroy(v->c.iommufd, objs[i].id), "IOMMU_DESTROY(%s %u): %s",
			      objs[i].what, objs[i].id, strerror(errno));
	return 0;
}

/* One run's state for failnth_sweep(). */
struct fn_ctx {
	struct vsmmu *v;
	struct fn_objs o;
};

static void fn_reset_cb(void *p)
{
	struct fn_ctx *x = p;

	x->o = (struct fn_objs){ .veventq_fd = -1 };
}

static int fn_run_cb(void *p, int *err)
{
	struct fn_ctx *x = p;

	return fn_sequence(x->v, &x->o, err);
}

static int fn_undo_cb(void *p)
{
	struct fn_ctx *x = p;

	return fn_undo(x->v, &x->o);
}

static int t_failnth_sweep(struct vsmmu *v)
{
	struct vfio_device_detach_iommufd_pt det = { .argsz = sizeof(det) };
	struct fn_ctx x = { .v = v };
	const struct failnth_seq seq = {
		.names = fn_names, .steps = FN_STEPS, .ctx = &x,
		.reset = fn_reset_cb, .run = fn_run_cb, .undo = fn_undo_cb,
	};

	if (gram_tables())
		return -1;
	CHECK(!ioctl(v->c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &det),
	      "VFIO_DEVICE_DETACH_IOMMUFD_PT: %s", strerror(errno));
	if (failnth_sweep(&seq))
		return -1;
	/* The device works afterwards, attached as before. */
	CHECK(!attach(v, v->s2), "attach back to the NEST_PARENT HWPT: %s", strerror(errno));
	return 0;
}

struct vcase {
	const char *name;
	int (*fn)(struct vsmmu *v);
};

static const struct vcase cases[] = {
	{ "viommu_bad_requests", t_viommu_bad_requests },
	{ "viommu_needs_nest_parent", t_viommu_needs_nest_parent },
	{ "viommu_vdevice_lifetimes", t_viommu_vdevice_lifetimes },
	{ "nested_s1_dma", t_nested_s1_dma },
	{ "nested_bad_input", t_nested_bad_input },
	{ "viommus_isolated", t_viommus_isolated },
	{ "viommu_two_and_close", t_viommu_two_and_close },
};

/* vsmmu failnth: the sweep, then the nested DMA checks; a vIOMMU is required. */
static int failnth_main(const char *bdf)
{
	struct vsmmu v;
	int canwbs, r1, r2 = -1;

	printf("KTAP version 1\n1..2\n");
	canwbs = firmware_canwbs();
	failmsg[0] = 0;
	if (vsmmu_open(&v, bdf) || canwbs < 0) {
		r1 = -1;
		if (canwbs < 0)
			fail("malformed IORT");
	} else if ((v.idr[0] & IDR0_NESTING) != IDR0_NESTING || !(canwbs || (v.idr[3] & IDR3_FWB))) {
		r1 = fail("no vIOMMU on this machine (IDR0 %#x, IDR3 %#x, root complex %sCANWBS): "
			  "the sweep needs one", v.idr[0], v.idr[3], canwbs ? "" : "not ");
	} else {
		r1 = t_failnth_sweep(&v);
	}
	if (r1)
		printf("# failnth_sweep: %s\n", failmsg);
	printf("%s 1 failnth_sweep\n", r1 ? "not ok" : "ok");
	/* The device still works through both stages. */
	failmsg[0] = 0;
	if (!r1)
		r2 = t_nested_s1_dma(&v);
	if (r2)
		printf("# nested_s1_dma_after_sweep: %s\n", r1 ? "sweep failed" : failmsg);
	printf("%s 2 nested_s1_dma_after_sweep\n", r2 ? "not ok" : "ok");
	ctx_close(&v.c);
	return r1 || r2;
}

int main(int argc, char **argv)
{
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct vsmmu v;
	char bdf[32];
	int canwbs, allowed, failed = 0;
	uint32_t id;

	if (pci_dev_arg("vsmmu", &edu_id, &argc, &argv, bdf))
		return 2;
	if (argc != 2 || (strcmp(argv[1], "test") && strcmp(argv[1], "failnth"))) {
		fprintf(stderr, "usage: vsmmu [-d BDF] test|failnth\n");
		return 2;
	}
	if (pci_dev_default("vsmmu", &edu_id, bdf))
		return 1;
	if (!strcmp(argv[1], "failnth"))
		return failnth_main(bdf);
	printf("KTAP version 1\n1..%zu\n", n + 1);
	canwbs = firmware_canwbs();
	if (vsmmu_open(&v, bdf) || canwbs < 0) {
		printf("# setup: %s\n", canwbs < 0 ? "malformed IORT" : failmsg);
		for (size_t i = 0; i <= n; i++)
			printf("not ok %zu %s # setup failed\n", i + 1,
			       i ? cases[i - 1].name : "viommu_offered_as_c_does");
		ctx_close(&v.c);
		return 1;
	}
	allowed = (v.idr[0] & IDR0_NESTING) == IDR0_NESTING && (canwbs || (v.idr[3] & IDR3_FWB));

	/* 1: offered exactly where the C driver offers it. */
	failmsg[0] = 0;
	errno = 0;
	if (allowed) {
		if (viommu_alloc(&v, v.s2, &id))
			fail("IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
		else if (destroy(v.c.iommufd, id))
			fail("IOMMU_DESTROY(vIOMMU): %s", strerror(errno));
	} else {
		/* Without nesting there is no NEST_PARENT HWPT: any HWPT will do. */
		if (!viommu_alloc(&v, v.s2 ? v.s2 : v.c.ioas, &id))
			fail("IOMMU_VIOMMU_ALLOC gave vIOMMU %u", id);
		else if (errno != EOPNOTSUPP)
			fail("IOMMU_VIOMMU_ALLOC: %s, not EOPNOTSUPP", strerror(errno));
	}
	failed |= !!failmsg[0];
	if (failmsg[0])
		printf("# viommu_offered_as_c_does: %s\n", failmsg);
	printf("%s 1 viommu_offered_as_c_does # %s: IDR0 %#x, IDR3 %#x, root complex %sCANWBS\n",
	       failmsg[0] ? "not ok" : "ok", allowed ? "offered" : "refused", v.idr[0], v.idr[3],
	       canwbs ? "" : "not ");

	for (size_t i = 0; i < n; i++) {
		int r;

		if (!allowed) {
			printf("ok %zu %s # SKIP no vIOMMU here (refused above, as C does)\n", i + 2,
			       cases[i].name);
			continue;
		}
		failmsg[0] = 0;
		errno = 0;
		r = cases[i].fn(&v);
		failed |= !!r;
		if (r)
			printf("# %s: %s\n", cases[i].name, failmsg);
		printf("%s %zu %s\n", r ? "not ok" : "ok", i + 2, cases[i].name);
	}
	ctx_close(&v.c);
	return failed;
}
