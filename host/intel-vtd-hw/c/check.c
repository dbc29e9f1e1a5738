// SPDX-License-Identifier: GPL-2.0
/*
 * The C VT-d driver's macros and inline helpers (drivers/iommu/intel/iommu.h and pasid.h,
 * extracted by extract.py) on the vectors of the Rust driver's hw/selftest checks, with the
 * values those checks expect. A mismatch is a disagreement between the Rust tests and the C
 * reference. Run by ../c-crosscheck.sh.
 */
#include "c_defs.h"
static int fails;
/* Compares a C value with the value the Rust selftest expects. */
#define EQ(name, got, want) do { unsigned long long g = (got), w = (want); \
	if (g != w) { fails++; printf("MISMATCH %s: C %#llx, Rust test %#llx\n", name, g, w); } \
	else printf("ok %s\n", name); } while (0)
/* The C driver's __iommu_calculate_agaw() on a SAGAW value. */
static int calc_agaw(unsigned long sagaw, int max_gaw)
{
	int agaw;

	for (agaw = width_to_agaw(max_gaw); agaw >= 0; agaw--)
		if (sagaw & (1UL << agaw))
			break;
	return agaw;
}

/* dmar_match_pci_path() for a device given as hops from its root bus: 0 none, 1 match. */
static int match(int bus, const struct acpi_dmar_pci_path *path, int count,
		 const struct dmar_pci_path *hops, int level)
{
	unsigned char buf[sizeof(struct dmar_pci_notify_info) + 8 * sizeof(struct dmar_pci_path)];
	struct dmar_pci_notify_info *info = (void *)buf;

	info->bus = level ? hops[0].bus : -1;
	info->level = level;
	for (int i = 0; i < level; i++)
		info->path[i] = hops[i];
	return dmar_match_pci_path(info, bus, (struct acpi_dmar_pci_path *)path, count);
}

int main(void)
{
	u64 cap = 0x00d2008c222f0606ULL, ecap = 0xf00f4aULL;
	struct intel_iommu q = { cap, ecap };
	/* regs */
	EQ("ndoms", cap_ndoms(cap), 65536);
	EQ("sagaw", cap_sagaw(cap), 6);
	EQ("mgaw", cap_mgaw(cap), 48);
	EQ("fro", cap_fault_reg_offset(cap), 0x220);
	EQ("nfr", cap_num_fault_regs(cap), 1);
	EQ("mamv", cap_max_amask_val(cap), 18);
	EQ("psi", cap_pgsel_inv(cap), 1);
	EQ("sllps", cap_super_page_val(cap), 3);
	EQ("drd", cap_read_drain(cap), 1);
	EQ("dwd", cap_write_drain(cap), 1);
	EQ("iro", ecap_iotlb_offset(ecap), 0xf0);
	EQ("mhmv", ecap_max_handle_mask(ecap), 15);
	EQ("qi", !!ecap_qis(ecap), 1);
	EQ("pt", ecap_pass_through(ecap), 1);
	EQ("ir", ecap_ir_support(ecap), 1);
	EQ("pss", ecap_pss(19ULL << 35) + 1, 20);
	for (int b = 0; b < 64; b++) {
		u64 e = 1ULL << b, c = 1ULL << b;
		EQ("ecap smts bit", ecap_smts(e), b == 43);
		EQ("ecap flts bit", ecap_flts(e), b == 47);
		EQ("ecap slts bit", ecap_slts(e), b == 46);
		EQ("ecap slads bit", ecap_slads(e), b == 45);
		EQ("ecap nest bit", ecap_nest(e), b == 26);
		EQ("ecap prs bit", ecap_prs(e), b == 29);
		EQ("ecap srs bit", ecap_srs(e), b == 31);
		EQ("ecap pasid bit", ecap_pasid(e), b == 40);
		EQ("ecap sc bit", ecap_sc_support(e), b == 7);
		EQ("ecap dt bit", ecap_dev_iotlb_support(e), b == 2);
		EQ("ecap smpwc bit", ecap_smpwc(e), b == 48);
		EQ("cap cm bit", cap_caching_mode(c), b == 7);
		EQ("cap rwbf bit", cap_rwbf(c), b == 4);
		EQ("cap afl bit", cap_afl(c), b == 3);
		EQ("cap fl1gp bit", cap_fl1gp_support(c), b == 56);
		EQ("cap fl5lp bit", cap_fl5lp_support(c), b == 60);
		EQ("cap esrtps bit", cap_esrtps(c), b == 63);
	}
	EQ("gcmd one-shot mask", ~(DMA_GCMD_SRTP | DMA_GCMD_SFL | DMA_GCMD_WBF | DMA_GCMD_SIRTP) & 0xffffffffu, 0x96ffffff);
	EQ("rtaddr smt", DMA_RTADDR_SMT, 1 << 10);
	EQ("fsts fri", dma_fsts_fault_record_index(0xab << 8 | 2), 0xab);
	/* context entries */
	struct context_entry ce = { 0, 0 };
	context_set_domain_id(&ce, 0xabcd);
	context_set_address_width(&ce, 2);
	context_set_address_root(&ce, 0x1234567000ULL);
	context_set_translation_type(&ce, CONTEXT_TT_MULTI_LEVEL);
	context_set_fault_enable(&ce);
	context_set_present(&ce);
	EQ("context SS lo", ce.lo, 0x1234567000ULL | 1);
	EQ("context SS hi", ce.hi, 2 | 0xabcdULL << 8);
	struct context_entry sm = { 0, 0 };
	sm.lo = 0xffffffff000ULL | context_pdts(7);
	context_set_sm_rid2pasid(&sm, 0xfffff);
	context_set_sm_dte(&sm);
	context_set_sm_pre(&sm);
	context_set_pasid(&sm);
	context_set_present(&sm);
	EQ("SM context lo (no FPD)", sm.lo, 0xffffffff000ULL | 7 << 9 | 0x1d);
	EQ("SM context hi (no RID_PRIV)", sm.hi, 0xfffff);
	/* PASID entries */
	struct pasid_entry pe = { { 0 } };
	pasid_set_domain_id(&pe, 0x1234);
	pasid_set_slptr(&pe, 0xabcdef0000ULL);
	pasid_set_address_width(&pe, 2);
	pasid_set_translation_type(&pe, PASID_ENTRY_PGTT_SL_ONLY);
	pasid_set_fault_enable(&pe);
	pasid_set_page_snoop(&pe, true);
	pasid_set_present(&pe);
	EQ("PASID SS 0", pe.val[0], 0xabcdef0000ULL | 2 << 6 | 2 << 2 | 1);
	EQ("PASID SS 1", pe.val[1], 0x1234 | 1 << 23);
	struct pasid_entry fe = { { 0 } };
	pasid_set_flptr(&fe, 0x500000000ULL);
	pasid_set_flpm(&fe, 1);
	pasid_set_pgsnp(&fe);
	pasid_set_domain_id(&fe, 0x1234);
	pasid_set_address_width(&fe, 2);
	pasid_set_page_snoop(&fe, false);
	pasid_set_translation_type(&fe, PASID_ENTRY_PGTT_FL_ONLY);
	pasid_set_present(&fe);
	EQ("PASID FS 0", fe.val[0], 1 << 6 | 2 << 2 | 1);
	EQ("PASID FS 1", fe.val[1], 0x1234 | 1 << 24);
	EQ("PASID FS 2", fe.val[2], 0x500000000ULL | 1 << 2);
	struct pasid_entry ne = { { 0 } };
	pasid_set_flptr(&ne, 0x6000);
	pasid_set_sre(&ne);
	pasid_set_wpe(&ne);
	pasid_set_eafe(&ne);
	pasid_set_slptr(&ne, 0x7000);
	pasid_set_domain_id(&ne, 0x1234);
	pasid_set_address_width(&ne, 2);
	pasid_set_translation_type(&ne, PASID_ENTRY_PGTT_NESTED);
	pasid_set_present(&ne);
	EQ("PASID nested 0", ne.val[0], 0x7000 | 3 << 6 | 2 << 2 | 1);
	EQ("PASID nested 2", ne.val[2], 0x6000 | 1 << 7 | 1 << 4 | 1);
	struct pasid_entry se = { { 0 } };
	pasid_set_ssade(&se);
	EQ("PASID SSADE", se.val[0], 1 << 9);
	EQ("PASID PT", PASID_ENTRY_PGTT_PT << 6, 4 << 6);
	/* invalidation descriptors */
	EQ("CC global", QI_CC_GRAN(DMA_CCMD_GLOBAL_INVL) | QI_CC_TYPE, 0x11);
	EQ("CC device", QI_CC_FM(3) | QI_CC_SID(0x0318) | QI_CC_DID(0xbeef) | QI_CC_GRAN(DMA_CCMD_DEVICE_INVL) | QI_CC_TYPE,
	   0x31 | 0xbeefULL << 16 | 0x0318ULL << 32 | 3ULL << 48);
	struct qi_desc d;
	q.cap = 1ULL << 55;
	qi_desc_iotlb(&q, 0xbeef, 0x1240000000ULL | 1, 18, DMA_TLB_PSI_FLUSH, &d);
	EQ("IOTLB pages qw0", d.qw0, 0x32 | 1 << 7 | 0xbeefULL << 16);
	EQ("IOTLB pages qw1", d.qw1, 0x1240000000ULL | 1 << 6 | 18);
	q.cap = cap;
	qi_desc_iotlb(&q, 0, 0, 0, DMA_TLB_GLOBAL_FLUSH, &d);
	EQ("IOTLB global qw0", d.qw0, 0x12 | 1 << 6 | 1 << 7);
	qi_desc_dev_iotlb(0x0318, 0xabcd, 8, 0x100000, 0, &d);
	EQ("DEV_TLB page qw0", d.qw0, 0x3 | 0xdULL << 12 | 8 << 16 | 0x0318ULL << 32 | 0xabcULL << 52);
	EQ("DEV_TLB page qw1", d.qw1, 0x100000);
	qi_desc_dev_iotlb(0x0318, 0x0318, 32, 0x100000, 1, &d);
	EQ("DEV_TLB 2 pages qw0", d.qw0, 0x3 | 0x8ULL << 12 | 0x0318ULL << 32 | 0x031ULL << 52);
	EQ("DEV_TLB 2 pages qw1", d.qw1, 0x100000 | 1);
	qi_desc_dev_iotlb(0x0318, 0x0318, 0, 0x100000, 2, &d);
	EQ("DEV_TLB 4 pages qw1", d.qw1, 0x101000 | 1);
	qi_desc_dev_iotlb(0x0318, 0x0318, 40, 0, 0, &d);
	EQ("DEV_TLB depth 40 qw0", d.qw0, 0x3 | 0x8ULL << 12 | 0x0318ULL << 32 | 0x031ULL << 52);
	qi_desc_piotlb(0xbeef, 0xabcde, 0x8000, 3, false, &d);
	EQ("P_IOTLB pages qw0", d.qw0, 0x36 | 0xbeefULL << 16 | 0xabcdeULL << 32);
	EQ("P_IOTLB pages qw1", d.qw1, 0x8000 | 3);
	EQ("P_IOTLB PASID", QI_EIOTLB_PASID(0xabcde) | QI_EIOTLB_DID(0xbeef) | QI_EIOTLB_GRAN(QI_GRAN_NONG_PASID) | QI_EIOTLB_TYPE,
	   0x26 | 0xbeefULL << 16 | 0xabcdeULL << 32);
	qi_desc_dev_iotlb_pasid(0x0318, 0xabcd, 0xabcde, 5, 0x40000, 3, &d);
	EQ("PASID DEV_TLB qw0", d.qw0, 0x8 | 5 << 4 | 0xdULL << 12 | 0x0318ULL << 16 | 0xabcdeULL << 32 | 0xabcULL << 52);
	EQ("PASID DEV_TLB qw1 (G clear)", d.qw1, 0x40000 | 0x3000 | 1 << 11);
	qi_desc_dev_iotlb_pasid(0, 0, 0, 0, 0, 64 - 12, &d);
	EQ("PASID DEV_TLB everything qw1", d.qw1, 0x7ffffffffffff000ULL | 1 << 11);
	EQ("PC PASID", QI_PC_PASID(0xabcde) | QI_PC_DID(0xbeef) | QI_PC_GRAN(QI_PC_PASID_SEL) | QI_PC_TYPE, 0x17 | 0xbeefULL << 16 | 0xabcdeULL << 32);
	EQ("PC global", QI_PC_GRAN(QI_PC_GLOBAL) | QI_PC_TYPE, 0x37);
	EQ("PC domain", QI_PC_DID(0xbeef) | QI_PC_GRAN(QI_PC_ALL_PASIDS) | QI_PC_TYPE, 0x07 | 0xbeefULL << 16);
	EQ("IEC index", QI_IEC_SELECTIVE | QI_IEC_IM(4) | QI_IEC_IIDEX(0x40) | QI_IEC_TYPE, 0x4 | 1 << 4 | 4 << 27 | 0x40ULL << 32);
	EQ("WAIT status", QI_IWD_STATUS_DATA(2) | QI_IWD_STATUS_WRITE | QI_IWD_TYPE, 0x5 | 1 << 5 | 2ULL << 32);
	EQ("WAIT fence drain", QI_IWD_FENCE | QI_IWD_PRQ_DRAIN, 1 << 6 | 1 << 7);
	/* fault record: read of 0xdeadb000 by 00:03.0, reason 6 */
	u64 frcd_hi = 0x18 | 6ULL << 32 | 1ULL << 62 | 1ULL << 63;
	u32 d12 = frcd_hi >> 32, d8 = (u32)frcd_hi;
	EQ("FRCD F", !!(d12 & DMA_FRCD_F), 1);
	EQ("FRCD type", dma_frcd_type(d12), 1);
	EQ("FRCD reason", dma_frcd_fault_reason(d12), 6);
	EQ("FRCD sid", dma_frcd_source_id(d8), 0x18);
	EQ("FRCD pasid present", dma_frcd_pasid_present(d8), 0);
	u64 w = 0xff07 | 1ULL << 31 | 0x71ULL << 32 | 0xfffffULL << 40 | 1ULL << 63;
	EQ("FRCD PV", dma_frcd_pasid_value((u32)(w >> 32)), 0xfffff);
	EQ("FRCD PP", dma_frcd_pasid_present((u32)w), 1);
	/* page-selective ranges: qi::psi_range() */
	unsigned long order, a;
	a = calculate_psi_aligned_address(0x1234, 0x1fff, &order);
	EQ("PSI one page", a << 8 | order, 0x1000 << 8 | 0);
	a = calculate_psi_aligned_address(0x2000, 0x3fff, &order);
	EQ("PSI two pages", a << 8 | order, 0x2000 << 8 | 1);
	a = calculate_psi_aligned_address(0x1000, 0x2fff, &order);
	EQ("PSI straddle", a << 8 | order, 0 << 8 | 2);
	a = calculate_psi_aligned_address(0x200000, 0x3fffff, &order);
	EQ("PSI 2MB", a << 8 | order, 0x200000 << 8 | 9);
	a = calculate_psi_aligned_address(0, ~0UL, &order);
	EQ("PSI everything", a, 0);
	EQ("PSI everything order", order, 52);
	a = calculate_psi_aligned_address(1UL << 63, ~0UL, &order);
	EQ("PSI top half", a, 1UL << 63);
	EQ("PSI top half order", order, 51);
	/* AGAW choice: Cap::agaw_for() (-1: none) */
	EQ("agaw 57 on QEMU", calc_agaw(cap_sagaw(cap), 57), 2);
	EQ("agaw 48 on QEMU", calc_agaw(cap_sagaw(cap), 48), 2);
	EQ("agaw 40 on QEMU", calc_agaw(cap_sagaw(cap), 40), 2);
	EQ("agaw 39 on QEMU", calc_agaw(cap_sagaw(cap), 39), 1);
	EQ("agaw 30 on QEMU", calc_agaw(cap_sagaw(cap), 30), -1ULL);
	EQ("agaw 64 on 5-level", calc_agaw(cap_sagaw(1ULL << 11), 64), 3);
	/* device scope paths: Path::matches() (Broken also matches in C) */
	const struct acpi_dmar_pci_path p0[] = { { 0x1c, 0 }, { 0, 0 } }, p2[] = { { 0, 0 } };
	const struct dmar_pci_path dev[] = { { 0, 0x1c, 0 }, { 2, 0, 0 } };
	const struct dmar_pci_path fn1[] = { { 0, 0x1c, 0 }, { 2, 0, 1 } };
	const struct dmar_pci_path deeper[] = { { 0, 0x1c, 0 }, { 2, 0, 0 }, { 3, 0, 0 } };
	const struct dmar_pci_path other_root[] = { { 1, 0x1c, 0 }, { 2, 0, 0 } };
	const struct dmar_pci_path root_dev[] = { { 2, 0, 0 } };
	EQ("path exact", match(0, p0, 2, dev, 2), 1);
	EQ("path other function", match(0, p0, 2, fn1, 2), 0);
	EQ("path other root bus", match(1, p0, 2, dev, 2), 0);
	EQ("path too short", match(0, p0, 2, dev, 1), 0);
	EQ("path too long", match(0, p0, 2, deeper, 3), 0);
	EQ("path device root bus", match(0, p0, 2, other_root, 2), 0);
	EQ("path broken", match(2, p2, 1, dev, 2), 1);
	EQ("path broken other bus", match(3, p2, 1, dev, 2), 0);
	EQ("path exact root device", match(2, p2, 1, root_dev, 1), 1);
	printf("%d mismatches\n", fails);
	return fails != 0;
}
