// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-igb: MSI-X interrupts of QEMU's igb NIC (82576, 8086:10c9) through
 * the IOMMU's software MSI window.
 *
 * Behind an SMMUv3 a device's MSI is a DMA write like any other: the kernel
 * maps the GIC ITS doorbell page into the device's IOMMU domain at an IOVA
 * in the IOMMU_RESV_SW_MSI window (0x8000000, 1 MiB) and programs that IOVA
 * into the MSI-X table. This program binds the igb to vfio-pci, enables two
 * MSI-X vectors with eventfd triggers (VFIO_DEVICE_SET_IRQS), and raises
 * their interrupts purely by writing igb registers through the mmap'ed BAR0:
 * GPIE.MSIX_MODE, then EIMS (unmask vector n) and EICS (set cause n). QEMU's
 * igb (hw/net/igb_core.c, igb_set_eics -> igb_raise_interrupts ->
 * igb_send_msix -> igb_msix_notify) then sends MSI-X vector n, EICR bit n
 * being vector n in MSI-X mode. For each back end it checks:
 *
 *   msix_addr_in_sw_msi_window - each vector's table entry (read through
 *       the mmap'ed MSI-X BAR) is unmasked and addresses an IOVA in the
 *       group's "msi" reserved region, not the ITS doorbell's physical
 *       address (which QEMU's virt puts in that window too)
 *   msix_through_iommu - vector 0's eventfd fires within 5 s
 *   msix_vector_routing - vector 1's cause fires vector 1's eventfd, and
 *       not vector 0's
 *   msix_doorbell_pa_blocked - vector 0 pointed (from user space, through
 *       the mmap'ed table) at the doorbell's physical address instead raises
 *       nothing: the IOMMU translates MSI writes, it does not let them by
 *       (the SMMU logs a translation fault); pointed back at its IOVA, it works
 *       (x86_64: msix_outside_window_blocked, below)
 *   msix_masked_held_back - the negative control: a cause masked in EIMS
 *       raises nothing for 1 s, then arrives once EIMS unmasks it (so the
 *       trigger was real, and the events counted come from it)
 *   msix_beside_hugepage_blocks - vector 0 still arrives with a 2 MiB and
 *       (if one is reserved) a 1 GiB hugetlb page mapped as blocks right after
 *       the MSI window, and after they are unmapped again
 *   msix_disable - VFIO turns MSI-X off; the same trigger then raises nothing
 *
 * On x86_64 behind a VT-d the window is the interrupt address range
 * (0xfee00000-0xfeefffff), which DMA remapping does not translate: a write
 * there is an interrupt request (remapped or not by the interrupt remapping
 * the VT-d may also do). The checks are the same but two:
 * msix_addr_in_sw_msi_window checks the range only (there is no ITS), and
 * msix_outside_window_blocked replaces msix_doorbell_pa_blocked: vector 0
 * pointed at an IOVA outside the window that the domain does not map is a DMA
 * write the VT-d must block (and record a fault for) instead of an interrupt.
 *
 * Usage: vfio-igb [-d BDF] test [BACKEND...] (back ends: vfio-lib.h;
 * default iommufd type1v2 compat). Output is KTAP.
 */
#include "vfio-lib.h"

#include <endian.h>

#define IGB_VENDOR 0x8086
#define IGB_DEVICE 0x10c9

/* igb registers in BAR0 (QEMU hw/net/igb_regs.h, from Linux's igb e1000_regs.h). */
#define IGB_STATUS 0x0008
#define IGB_GPIE 0x1514		/* General Purpose Interrupt Enable */
#define IGB_EICS 0x1520		/* Extended Interrupt Cause Set (write) */
#define IGB_EIMS 0x1524		/* Extended Interrupt Mask Set (write), mask (read) */
#define IGB_EIMC 0x1528		/* Extended Interrupt Mask Clear (write) */
#define IGB_EICR 0x1580		/* Extended Interrupt Cause: write 1 or read to clear */
#define IGB_EITR(n) (0x1680 + 4 * (n))	/* throttling interval of vector n */
#define IGB_GPIE_MSIX_MODE 0x10
#define IGB_EICR_MSIX_MASK 0x01ffffff	/* in MSI-X mode, bit n is vector n */

#define PCI_CAP_ID_MSIX 0x11
#define MSIX_ENABLE 0x8000	/* Message Control */
#define MSIX_MASKALL 0x4000
#define MSIX_ENTRY_MASKED 0x1	/* Vector Control */

#define NVEC 2			/* MSI-X vectors under test: 0 and 1 */
#define GITS_TRANSLATER 0x10040	/* the ITS doorbell, from the ITS base */
/* An IOVA outside the MSI window that no test maps (msix_outside_window_blocked). */
#define UNMAPPED_IOVA 0x300000UL

static const struct pci_id igb = { "igb", IGB_VENDOR, IGB_DEVICE };

/* The MSI-X state of the back end under test. */
static struct {
	int fd[NVEC];			/* eventfd of each vector */
	unsigned int cap;		/* MSI-X capability in config space */
	volatile uint8_t *bar;		/* the BAR holding the MSI-X table and PBA */
	size_t bar_size;
	volatile uint32_t *table, *pba;
	uint64_t win_start, win_end;	/* the IOMMU group's MSI window */
	uint64_t doorbell;		/* physical address of GITS_TRANSLATER (0 on x86_64) */
} m;

static void wr(struct ctx *c, unsigned int reg, uint32_t v)
{
	*(volatile uint32_t *)(c->bar + reg) = v;
}

static uint32_t rd(struct ctx *c, unsigned int reg)
{
	return *(volatile uint32_t *)(c->bar + reg);
}

/* The "msi" reserved region of bdf's IOMMU group: the software MSI window. */
static int msi_window(const char *bdf)
{
	char path[128], line[128], type[32];
	unsigned long long start, end;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%d/reserved_regions",
		 group_number(bdf));
	f = fopen(path, "r");
	CHECK(f, "open %s: %s", path, strerror(errno));
	while (!found && fgets(line, sizeof(line), f))
		found = sscanf(line, "%llx %llx %31s", &start, &end, type) == 3 &&
			!strcmp(type, "msi");
	fclose(f);
	CHECK(found, "%s lists no msi region: the IOMMU driver reserves no software MSI window",
	      path);
	m.win_start = start;
	m.win_end = end;
	return 0;
}

/*
 * GITS_TRANSLATER of the GICv3 ITS on an ACPI boot: the base address of the MADT's first GIC
 * ITS entry (type 0xf; the address at offset 8). 0 if the firmware has no MADT (device tree).
 */
static uint64_t its_base_acpi(void)
{
	unsigned char t[4096];
	uint64_t base = 0;
	int fd = open("/sys/firmware/acpi/tables/APIC", O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, t, sizeof(t));
	size_t off;

	if (fd >= 0)
		close(fd);
	/* The header (36 bytes), the local interrupt controller address and flags, then entries. */
	for (off = 44; n > 0 && off + 2 <= (size_t)n && t[off + 1] >= 2; off += t[off + 1]) {
		if (t[off] == 0xf && t[off + 1] >= 16 && off + 16 <= (size_t)n) {
			memcpy(&base, t + off + 8, sizeof(base));
			return le64toh(base);
		}
	}
	return 0;
}

/*
 * GITS_TRANSLATER of the GICv3 ITS, from the ACPI MADT or the device tree's its@ node. None on
 * x86_64, where MSIs go to the interrupt address range.
 */
static int its_doorbell(void)
{
#ifdef __x86_64__
	m.doorbell = 0;
	return 0;
#endif
	uint64_t acpi = its_base_acpi();
	DIR *top, *sub;
	struct dirent *e, *s;
	char path[512], compat[64];
	uint64_t reg;
	int fd, found = 0;

	if (acpi) {
		m.doorbell = acpi + GITS_TRANSLATER;
		return 0;
	}
	top = opendir("/proc/device-tree");
	CHECK(top, "open /proc/device-tree: %s", strerror(errno));
	while (!found && (e = readdir(top))) {
		snprintf(path, sizeof(path), "/proc/device-tree/%s", e->d_name);
		if (e->d_name[0] == '.' || !(sub = opendir(path)))
			continue;
		while (!found && (s = readdir(sub))) {
			if (strncmp(s->d_name, "its@", 4))
				continue;
			memset(compat, 0, sizeof(compat));
			snprintf(path, sizeof(path), "/proc/device-tree/%s/%s/compatible", e->d_name,
				 s->d_name);
			fd = open(path, O_RDONLY);
			if (fd < 0 || read(fd, compat, sizeof(compat) - 1) < 0 ||
			    strcmp(compat, "arm,gic-v3-its")) {
				if (fd >= 0)
					close(fd);
				continue;
			}
			close(fd);
			snprintf(path, sizeof(path), "/proc/device-tree/%s/%s/reg", e->d_name,
				 s->d_name);
			fd = open(path, O_RDONLY);
			found = fd >= 0 && read(fd, &reg, sizeof(reg)) == sizeof(reg);
			if (fd >= 0)
				close(fd);
		}
		closedir(sub);
	}
	closedir(top);
	CHECK(found, "no arm,gic-v3-its node with a reg in /proc/device-tree");
	m.doorbell = be64toh(reg) + GITS_TRANSLATER;
	return 0;
}

/* Find the MSI-X capability and map the BAR holding its table and PBA. */
static int map_msix(struct ctx *c)
{
	uint32_t table, pba;
	uint8_t pos, hdr[2];
	int hops = 48;

	if (ctx_cfg_read(c, 0x34, &pos, 1))
		return -1;
	for (; pos && hops--; pos = hdr[1]) {
		if (ctx_cfg_read(c, pos & ~3, hdr, 2))
			return -1;
		if (hdr[0] == PCI_CAP_ID_MSIX)
			break;
	}
	CHECK(pos && hops >= 0, "no MSI-X capability in config space");
	m.cap = pos & ~3;
	if (ctx_cfg_read(c, m.cap + 4, &table, 4) || ctx_cfg_read(c, m.cap + 8, &pba, 4))
		return -1;
	CHECK((table & 7) == (pba & 7), "MSI-X table (BAR%u) and PBA (BAR%u) in different BARs",
	      table & 7, pba & 7);
	m.bar = ctx_mmap_region(c, VFIO_PCI_BAR0_REGION_INDEX + (table & 7), &m.bar_size);
	if (!m.bar)
		return -1;
	CHECK((table & ~7u) + NVEC * 16 <= m.bar_size && (pba & ~7u) + 4 <= m.bar_size,
	      "MSI-X table at %#x or PBA at %#x beyond BAR%u's %zu bytes", table & ~7u,
	      pba & ~7u, table & 7, m.bar_size);
	m.table = (volatile uint32_t *)(m.bar + (table & ~7u));
	m.pba = (volatile uint32_t *)(m.bar + (pba & ~7u));
	return 0;
}

/* MSI-X Message Control (all ones if it cannot be read, which no check accepts). */
static uint16_t msix_control(struct ctx *c)
{
	uint16_t ctl = 0xffff;

	ctx_cfg_read(c, m.cap + 2, &ctl, 2);
	return ctl;
}

/* Mask every vector in EIMS and clear every cause in EICR; empty the eventfds. */
static void quiesce(struct ctx *c)
{
	uint64_t n;

	wr(c, IGB_EIMC, IGB_EICR_MSIX_MASK);
	wr(c, IGB_EICR, IGB_EICR_MSIX_MASK);
	for (int v = 0; v < NVEC; v++)
		while (read(m.fd[v], &n, sizeof(n)) == sizeof(n))
			;
}

/* Why vector v's interrupt did not arrive, as far as the igb tells (reading EICR clears it). */
static const char *why(struct ctx *c, unsigned int v)
{
	static char buf[256];
	uint64_t addr = (uint64_t)m.table[4 * v + 1] << 32 | m.table[4 * v];
	uint32_t eicr = rd(c, IGB_EICR), eims = rd(c, IGB_EIMS);

	if (!(eicr & (1u << v)))
		snprintf(buf, sizeof(buf), "(EICR %#x, EIMS %#x): the cause never latched, the EICS "
			 "write did not take", eicr, eims);
	else if (*m.pba & (1u << v))
		snprintf(buf, sizeof(buf), "(EICR %#x, EIMS %#x, MSI-X control %#x): the igb holds "
			 "it pending in the PBA, the vector is masked", eicr, eims, msix_control(c));
	else
		snprintf(buf, sizeof(buf), "(EICR %#x, EIMS %#x, not pending in the PBA): the igb "
			 "sent it, but its write to %#llx did not reach the interrupt controller "
			 "through the IOMMU", eicr, eims, (unsigned long long)addr);
	return buf;
}

/* Unmask vector v in EIMS, then set its cause in EICS: the igb sends MSI-X vector v. */
static void raise_vector(struct ctx *c, unsigned int v)
{
	wr(c, IGB_EIMS, 1u << v);
	wr(c, IGB_EICS, 1u << v);
}

static int t_addr(struct ctx *c)
{
	uint16_t ctl = msix_control(c);

	CHECK((ctl & (MSIX_ENABLE | MSIX_MASKALL)) == MSIX_ENABLE,
	      "MSI-X control %#x: not enabled, or all vectors masked", ctl);
	for (unsigned int v = 0; v < NVEC; v++) {
		volatile uint32_t *e = m.table + 4 * v;
		unsigned long long addr = (uint64_t)e[1] << 32 | e[0];

		CHECK(!(e[3] & MSIX_ENTRY_MASKED), "MSI-X vector %u is masked (vector control %#x)",
		      v, e[3]);
		CHECK(addr >= m.win_start && addr <= m.win_end, "MSI-X vector %u addresses %#llx, "
		      "outside the software MSI window %#llx-%#llx", v, addr,
		      (unsigned long long)m.win_start, (unsigned long long)m.win_end);
#ifdef __x86_64__
		printf("    # vector %u: address %#llx (in the interrupt range %#llx-%#llx), data "
		       "%#x\n", v, addr, (unsigned long long)m.win_start,
		       (unsigned long long)m.win_end, e[2]);
#else
		CHECK(addr != m.doorbell, "MSI-X vector %u addresses the ITS doorbell's physical "
		      "address %#llx: the IOMMU does not translate it", v, addr);
		printf("    # vector %u: address %#llx (IOVA in the MSI window %#llx-%#llx; ITS "
		       "doorbell at PA %#llx), data %#x\n", v, addr,
		       (unsigned long long)m.win_start, (unsigned long long)m.win_end,
		       (unsigned long long)m.doorbell, e[2]);
#endif
	}
	return 0;
}

static int t_msix(struct ctx *c)
{
	quiesce(c);
	raise_vector(c, 0);
	CHECK(wait_irq(m.fd[0], 5000), "no MSI-X interrupt on vector 0 within 5 s %s", why(c, 0));
	return 0;
}

static int t_routing(struct ctx *c)
{
	quiesce(c);
	raise_vector(c, 1);
	CHECK(wait_irq(m.fd[1], 5000), "no MSI-X interrupt on vector 1 within 5 s %s", why(c, 1));
	CHECK(!wait_irq(m.fd[0], 500), "vector 1's cause fired vector 0's eventfd too");
	return 0;
}

/* Point MSI-X vector v at addr (masked while it changes, per the PCI spec). */
static void set_vector_addr(unsigned int v, uint64_t addr)
{
	volatile uint32_t *e = m.table + 4 * v;
	uint32_t ctl = e[3];

	e[3] = ctl | MSIX_ENTRY_MASKED;
	e[0] = (uint32_t)addr;
	e[1] = addr >> 32;
	e[3] = ctl;
}

/*
 * Vector 0 aimed at @target (@what) must raise nothing; aimed back at its own address, it
 * works again.
 */
static int aimed_elsewhere(struct ctx *c, uint64_t target, const char *what)
{
	volatile uint32_t *e = m.table;
	uint64_t addr = (uint64_t)e[1] << 32 | e[0];
	uint64_t n;

	quiesce(c);
	set_vector_addr(0, target);
	raise_vector(c, 0);
	n = wait_irq(m.fd[0], 1000);
	set_vector_addr(0, addr);
	CHECK(!n, "vector 0 aimed at %s %#llx was delivered: the IOMMU let a write it does not "
	      "map through", what, (unsigned long long)target);
	quiesce(c);
	raise_vector(c, 0);
	CHECK(wait_irq(m.fd[0], 5000), "vector 0 back at %#llx: no interrupt within 5 s %s",
	      (unsigned long long)addr, why(c, 0));
	return 0;
}

#ifdef __x86_64__
static int t_outside_window(struct ctx *c)
{
	return aimed_elsewhere(c, UNMAPPED_IOVA, "the unmapped IOVA");
}
#else
static int t_doorbell_pa(struct ctx *c)
{
	return aimed_elsewhere(c, m.doorbell, "the ITS doorbell's physical address");
}
#endif

static int t_masked(struct ctx *c)
{
	quiesce(c);
	wr(c, IGB_EICS, 1u << 0);
	CHECK(!wait_irq(m.fd[0], 1000), "an interrupt arrived on vector 0 while EIMS %#x masks it: "
	      "the eventfd does not count the igb's interrupts", rd(c, IGB_EIMS));
	wr(c, IGB_EIMS, 1u << 0);
	CHECK(wait_irq(m.fd[0], 5000), "the cause set while masked did not arrive within 5 s of "
	      "unmasking it %s", why(c, 0));
	return 0;
}

static int t_disable(struct ctx *c)
{
	uint16_t ctl;

	quiesce(c);
	if (set_irqs(c, VFIO_PCI_MSIX_IRQ_INDEX, NULL, 0))
		return -1;
	ctl = msix_control(c);
	CHECK(!(ctl & MSIX_ENABLE), "MSI-X control %#x: still enabled after VFIO turned it off",
	      ctl);
	raise_vector(c, 0);
	CHECK(!wait_irq(m.fd[0], 1000), "vector 0's eventfd fired after VFIO turned MSI-X off");
	return 0;
}

#define SZ_2M (2UL << 20)
#define SZ_1G (1UL << 30)

/*
 * The MSI doorbell's mapping is one 4 KiB page in the domain's page table.
 * Hugepages mapped as blocks right after the MSI window (a 2 MiB block in
 * the same level 2 table; a 1 GiB block in the same level 1 table, if a
 * 1 GiB page is reserved), then unmapped, must leave it alone: vector 0
 * arrives with the blocks mapped and after they are gone (a driver that
 * freed or invalidated the wrong table would lose it).
 */
static int t_beside_blocks(struct ctx *c)
{
	uint64_t iova2 = (m.win_end + SZ_2M) & ~(SZ_2M - 1);
	uint64_t iova1 = (m.win_end + SZ_1G) & ~(SZ_1G - 1);
	uint8_t *h2, *h1 = NULL;
	int ret = -1, res;
	char what[128];

	h2 = huge_alloc(SZ_2M, &res);
	if (!h2)
		return res;
	h1 = huge_alloc(SZ_1G, &res);
	if (!h1 && res < 0)
		goto out;
	if (h1)
		snprintf(what, sizeof(what), "a 2 MiB block at IOVA %#llx and a 1 GiB block at %#llx",
			 (unsigned long long)iova2, (unsigned long long)iova1);
	else
		snprintf(what, sizeof(what), "a 2 MiB block at IOVA %#llx (no 1 GiB page reserved)",
			 (unsigned long long)iova2);
	if (ctx_map(c, h2, iova2, SZ_2M))
		goto out;
	if (h1 && ctx_map(c, h1, iova1, SZ_1G)) {
		ctx_unmap(c, iova2, SZ_2M);
		goto out;
	}
	quiesce(c);
	raise_vector(c, 0);
	if (!wait_irq(m.fd[0], 5000))
		fail("with %s mapped: no MSI-X interrupt on vector 0 within 5 s %s", what, why(c, 0));
	else
		ret = 0;
	if ((h1 && ctx_unmap(c, iova1, SZ_1G)) | ctx_unmap(c, iova2, SZ_2M) || ret) {
		ret = -1;
		goto out;
	}
	quiesce(c);
	raise_vector(c, 0);
	if (!wait_irq(m.fd[0], 5000))
		ret = fail("%s unmapped: no MSI-X interrupt on vector 0 within 5 s %s", what,
			   why(c, 0));
	else
		printf("    # %s beside the MSI window %#llx-%#llx: vector 0 delivered while mapped "
		       "and after unmap\n", what, (unsigned long long)m.win_start,
		       (unsigned long long)m.win_end);
out:
	if (h1)
		munmap(h1, SZ_1G);
	munmap(h2, SZ_2M);
	return ret;
}

static const struct vfio_test tests[] = {
	{ "msix_addr_in_sw_msi_window", t_addr },
	{ "msix_through_iommu", t_msix },
	{ "msix_vector_routing", t_routing },
#ifdef __x86_64__
	{ "msix_outside_window_blocked", t_outside_window },
#else
	{ "msix_doorbell_pa_blocked", t_doorbell_pa },
#endif
	{ "msix_masked_held_back", t_masked },
	{ "msix_beside_hugepage_blocks", t_beside_blocks },
	{ "msix_disable", t_disable },
};

/*
 * Open the igb through backend and map its MSI-X table; put the igb in MSI-X
 * mode with every vector masked, every cause clear and no throttling (an
 * EITR interval makes QEMU send a second, delayed message); enable MSI-X
 * vectors 0 and 1 through VFIO with an eventfd each.
 */
static int igb_setup(struct ctx *c, const char *backend, const char *bdf)
{
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_MSIX_IRQ_INDEX };

	memset(&m, 0, sizeof(m));
	for (int v = 0; v < NVEC; v++)
		m.fd[v] = -1;
	if (ctx_open(c, backend, bdf))
		return -1;
	CHECK(rd(c, IGB_STATUS) != 0xffffffff, "BAR0 STATUS reads all ones: no igb registers");
	if (map_msix(c) || msi_window(bdf) || its_doorbell())
		return -1;
	CHECK(!ioctl(c->dev, VFIO_DEVICE_GET_IRQ_INFO, &info), "VFIO_DEVICE_GET_IRQ_INFO: %s",
	      strerror(errno));
	CHECK(info.count >= NVEC && (info.flags & VFIO_IRQ_INFO_EVENTFD),
	      "VFIO reports %u MSI-X vectors (flags %#x), not %d with eventfds", info.count,
	      info.flags, NVEC);
	for (int v = 0; v < NVEC; v++) {
		m.fd[v] = eventfd(0, EFD_NONBLOCK);
		CHECK(m.fd[v] >= 0, "eventfd: %s", strerror(errno));
		wr(c, IGB_EITR(v), 0);
	}
	wr(c, IGB_GPIE, IGB_GPIE_MSIX_MODE);
	quiesce(c);
	CHECK(rd(c, IGB_GPIE) & IGB_GPIE_MSIX_MODE, "GPIE reads %#x: MSI-X mode did not stick",
	      rd(c, IGB_GPIE));
	CHECK(!rd(c, IGB_EIMS), "EIMS reads %#x after EIMC masked every vector", rd(c, IGB_EIMS));
	return set_irqs(c, VFIO_PCI_MSIX_IRQ_INDEX, m.fd, NVEC);
}

static void igb_teardown(struct ctx *c)
{
	(void)c;
	for (int v = 0; v < NVEC; v++)
		if (m.fd[v] >= 0)
			close(m.fd[v]);
	if (m.bar)
		munmap((void *)m.bar, m.bar_size);
}

static const struct vfio_suite suite = {
	.setup = igb_setup,
	.teardown = igb_teardown,
	.tests = tests,
	.ntests = sizeof(tests) / sizeof(tests[0]),
};

int main(int argc, char **argv)
{
	static const char *const all[] = { "iommufd", "type1v2", "compat" };
	const char *const *backends = all;
	int nb = sizeof(all) / sizeof(all[0]), failed = 0;
	char bdf[32];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (pci_dev_arg("vfio-igb", &igb, &argc, &argv, bdf))
		return 2;
	if (argc < 2 || strcmp(argv[1], "test")) {
		fprintf(stderr, "usage: vfio-igb [-d BDF] test [iommufd|iommufd-s2|type1v2|compat]...\n");
		return 2;
	}
	if (pci_dev_default("vfio-igb", &igb, bdf))
		return 1;
	if (argc > 2) {
		backends = (const char *const *)argv + 2;
		nb = argc - 2;
	}
	printf("KTAP version 1\n1..%d\n", nb);
	for (int i = 0; i < nb; i++)
		failed |= run_suite(&suite, backends[i], bdf, i + 1);
	return failed;
}
