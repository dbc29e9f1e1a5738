// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-dirty: iommufd dirty tracking on the project QEMU's SMMUv3 with
 * HTTU (qemu-ci/run --smmu-features httu; Documentation/iommu-rs/qemu-model.rst),
 * iommu-pcie-testdev writing through it.
 *
 * The endpoint is bound to vfio-pci and opened through its cdev, its RID
 * attached to an IOMMU_HWPT_ALLOC_DIRTY_TRACKING HWPT with 8 pages mapped.
 * With tracking on (IOMMU_HWPT_SET_DIRTY_TRACKING), IOMMU_HWPT_GET_DIRTY_BITMAP
 * must report exactly the pages the device wrote since the last read: none
 * before any DMA, not a page it only read, again a page written after its
 * dirty state was read and cleared (the driver must invalidate the TLB when it
 * cleans: the SMMU caches a dirty entry as writable), and with NO_CLEAR the
 * same pages twice; a range running past what is mapped is refused, as are
 * empty or unaligned ranges, a page size of 0, unknown flags and a bitmap in
 * inaccessible memory, none clearing anything; with
 * tracking off, writes still land but no bitmap is
 * read (EINVAL), and once it is on again only later writes are reported. The
 * same cases then run on a stage 2 (NEST_PARENT) HWPT
 * with dirty tracking, what a VMM migrating a guest with a nested vIOMMU
 * tracks, and a device's DMA through a nested HWPT on it (a vIOMMU, a bypass
 * vSTE) must be marked there; they are skipped, with the reason, where the
 * driver refuses that HWPT (the C driver tracks stage 1 only) or, for the
 * nested case, where there is no vIOMMU. Output is KTAP.
 *
 * Usage: smmu-model-dirty [-d BDF] test
 */
#include <stdbool.h>

#include "vfio-lib.h"
#include "iptd.h"

#define IOVA		0x200000UL
#define NPAGES		8

#define TRY(x) do { if (x) return -1; } while (0)

static struct ctx c;
static uint32_t hwpt;
static uint8_t *pages;

static void wr(unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(c.bar + off) = val;
}

static uint32_t rd(unsigned int off)
{
	return *(volatile uint32_t *)(c.bar + off);
}

/* The endpoint reads or writes 4 bytes at offset 0x80 of page @page. */
static int dma(uint32_t cmd, int page)
{
	uint64_t iova = IOVA + page * PAGE + 0x80;

	wr(IPTD_BUF, 0xd1270000 | page);
	wr(IPTD_DMA_ADDR, (uint32_t)iova);
	wr(IPTD_DMA_ADDR + 4, iova >> 32);
	wr(IPTD_DMA_LEN, 4);
	wr(IPTD_DMA_PASID, 0);
	wr(IPTD_DMA_CMD, cmd);
	CHECK(rd(IPTD_DMA_STATUS) == IPTD_STATUS_OK, "DMA %s page %d: status %u",
	      cmd == IPTD_DMA_CMD_WRITE ? "write" : "read", page, rd(IPTD_DMA_STATUS));
	if (cmd == IPTD_DMA_CMD_WRITE)
		CHECK(*(volatile uint32_t *)(pages + page * PAGE + 0x80) == (0xd1270000u | page),
		      "DMA write to page %d did not land", page);
	return 0;
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP of @npages from IOVA into *bitmap (zeroed first). */
static int get_dirty(bool no_clear, unsigned int npages, uint64_t *bitmap)
{
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = hwpt,
		.flags = no_clear ? IOMMU_HWPT_GET_DIRTY_BITMAP_NO_CLEAR : 0,
		.iova = IOVA,
		.length = npages * PAGE,
		.page_size = PAGE,
		.data = (uintptr_t)bitmap,
	};

	*bitmap = 0;
	return ioctl(c.iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
}

/* Read (and unless no_clear, clear) the dirty bitmap; compare it with @want. */
static int dirty_is(uint32_t want, bool no_clear, const char *when)
{
	uint64_t bitmap;

	CHECK(!get_dirty(no_clear, NPAGES, &bitmap), "IOMMU_HWPT_GET_DIRTY_BITMAP: %s",
	      strerror(errno));
	CHECK(bitmap == want, "%s: dirty pages %#llx, want exactly %#x", when,
	      (unsigned long long)bitmap, want);
	return 0;
}

static int set_tracking(bool on)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = on ? IOMMU_HWPT_DIRTY_TRACKING_ENABLE : 0,
		.hwpt_id = hwpt,
	};

	CHECK(!ioctl(c.iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set),
	      "IOMMU_HWPT_SET_DIRTY_TRACKING(%s): %s", on ? "on" : "off", strerror(errno));
	return 0;
}

static int test_tracking_on(void)
{
	TRY(set_tracking(true));
	return dirty_is(0, false, "before any DMA");
}

static int test_written_pages_dirty(void)
{
	TRY(dma(IPTD_DMA_CMD_WRITE, 1));
	TRY(dma(IPTD_DMA_CMD_WRITE, 5));
	TRY(dma(IPTD_DMA_CMD_READ, 3));
	return dirty_is(1u << 1 | 1u << 5, false, "after writes to pages 1 and 5, a read of 3");
}

static int test_read_leaves_clean(void)
{
	TRY(dma(IPTD_DMA_CMD_READ, 1));
	TRY(dma(IPTD_DMA_CMD_READ, 6));
	return dirty_is(0, false, "after reads of pages 1 and 6");
}

static int test_write_after_clear(void)
{
	/* page 5 was dirty, cleaned by the read: a new write must show again */
	TRY(dma(IPTD_DMA_CMD_WRITE, 5));
	TRY(dma(IPTD_DMA_CMD_WRITE, 7));
	return dirty_is(1u << 5 | 1u << 7, false, "after writes to cleaned page 5 and to 7");
}

static int test_no_clear(void)
{
	TRY(dma(IPTD_DMA_CMD_WRITE, 2));
	TRY(dirty_is(1u << 2, true, "NO_CLEAR read after a write to page 2"));
	TRY(dirty_is(1u << 2, false, "second read after NO_CLEAR"));
	return dirty_is(0, false, "after the clearing read");
}

/*
 * A range that runs past what is mapped is refused (EINVAL, iommufd's walk
 * finds the hole), rather than read as a bitmap with nothing set. NO_CLEAR:
 * the walk has cleaned what it read before the hole by the time it fails.
 */
static int test_hole_refused(void)
{
	uint64_t bitmap;
	int ret;

	TRY(dma(IPTD_DMA_CMD_WRITE, 3));
	ret = get_dirty(true, NPAGES + 1, &bitmap);
	CHECK(ret && errno == EINVAL, "IOMMU_HWPT_GET_DIRTY_BITMAP of %d pages, the last one "
	      "unmapped: %s (dirty pages %#llx), want EINVAL", NPAGES + 1,
	      ret ? strerror(errno) : "success", (unsigned long long)bitmap);
	return dirty_is(1u << 3, false, "the mapped pages after the refused read");
}

/* IOMMU_HWPT_GET_DIRTY_BITMAP of @iova, @length, @page_size, @flags into @data; the errno. */
static int bad_get(uint64_t iova, uint64_t length, uint64_t page_size, uint32_t flags, void *data)
{
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get), .hwpt_id = hwpt, .flags = flags, .iova = iova,
		.length = length, .page_size = page_size, .data = (uintptr_t)data,
	};

	return ioctl(c.iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get) ? errno : 0;
}

/*
 * Requests iommufd refuses before any walk, as it does for either driver: an
 * empty or unaligned range, a page size of 0, an unknown flag, and a bitmap
 * in memory that is not there (EFAULT). None clears anything.
 */
static int test_bad_requests_refused(void)
{
	uint64_t bitmap, len = NPAGES * PAGE;
	void *gone;
	int e;

	/* page 0, never written or cleaned before: C, too, records its first write */
	TRY(dma(IPTD_DMA_CMD_WRITE, 0));
	e = bad_get(IOVA, 0, PAGE, 0, &bitmap);
	CHECK(e == EINVAL, "empty range: %s, want EINVAL", e ? strerror(e) : "success");
	e = bad_get(IOVA + PAGE / 2, len, PAGE, 0, &bitmap);
	CHECK(e == EINVAL, "IOVA not page aligned: %s, want EINVAL", e ? strerror(e) : "success");
	e = bad_get(IOVA, len - PAGE / 2, PAGE, 0, &bitmap);
	CHECK(e == EINVAL, "length not page aligned: %s, want EINVAL",
	      e ? strerror(e) : "success");
	e = bad_get(IOVA, len, 0, 0, &bitmap);
	CHECK(e == EINVAL, "page size 0: %s, want EINVAL", e ? strerror(e) : "success");
	e = bad_get(IOVA, len, PAGE, 1u << 7, &bitmap);
	CHECK(e == EOPNOTSUPP, "unknown flag: %s, want EOPNOTSUPP", e ? strerror(e) : "success");
	gone = mmap(NULL, PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(gone != MAP_FAILED, "mmap: %s", strerror(errno));
	e = bad_get(IOVA, len, PAGE, 0, gone);
	munmap(gone, PAGE);
	CHECK(e == EFAULT, "bitmap in inaccessible memory: %s, want EFAULT",
	      e ? strerror(e) : "success");
	return dirty_is(1u << 0, false, "the pages after the refused requests");
}

/*
 * Tracking off: DMA writes still land (the SMMU must not take the
 * writable-clean descriptors for read-only ones), and a bitmap read is
 * refused (EINVAL), as AMD's and Intel's drivers refused it, rather than
 * reporting pages written while nobody was tracking.
 */
static int test_tracking_off(void)
{
	uint64_t bitmap;
	int ret;

	TRY(set_tracking(false));
	TRY(dma(IPTD_DMA_CMD_WRITE, 4));
	ret = get_dirty(false, NPAGES, &bitmap);
	CHECK(ret && errno == EINVAL, "IOMMU_HWPT_GET_DIRTY_BITMAP with tracking off: %s "
	      "(dirty pages %#llx after a write to page 4), want EINVAL",
	      ret ? strerror(errno) : "success", (unsigned long long)bitmap);
	return 0;
}

/* On again: what was written while off is not reported, later writes are. */
static int test_tracking_on_again(void)
{
	TRY(set_tracking(true));
	TRY(dirty_is(0, false, "tracking on again after a write to page 4 while off"));
	TRY(dma(IPTD_DMA_CMD_WRITE, 6));
	return dirty_is(1u << 6, false, "after a write to page 6");
}

/* Why the stage 2 cases cannot run; empty when they can. */
static char s2_why[160];

/*
 * Attach the RID to a NEST_PARENT HWPT with dirty tracking on the same IOAS
 * (the pages stay mapped); where the SMMU has no nesting parent or the driver
 * no stage 2 dirty tracking (EOPNOTSUPP), the stage 2 cases are skipped.
 */
static int test_s2_domain(void)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.dev_id = c.devid,
		.pt_id = c.ioas,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	if (ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &alloc)) {
		snprintf(s2_why, sizeof(s2_why), "no NEST_PARENT HWPT on this SMMU: %s",
			 strerror(errno));
		return skip("%s", s2_why);
	}
	{
		struct iommu_destroy d = { .size = sizeof(d), .id = alloc.out_hwpt_id };

		CHECK(!ioctl(c.iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY: %s", strerror(errno));
	}
	alloc.flags |= IOMMU_HWPT_ALLOC_DIRTY_TRACKING;
	if (ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &alloc)) {
		CHECK(errno == EOPNOTSUPP, "IOMMU_HWPT_ALLOC(NEST_PARENT | DIRTY_TRACKING): %s, "
		      "want success or EOPNOTSUPP", strerror(errno));
		snprintf(s2_why, sizeof(s2_why),
			 "the driver has no dirty tracking of stage 2 domains (EOPNOTSUPP)");
		return skip("%s", s2_why);
	}
	hwpt = alloc.out_hwpt_id;
	at.pt_id = hwpt;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(stage 2 dirty tracking HWPT): %s", strerror(errno));
	return 0;
}

#define S2_CASE(name, fn)						\
static int name(void)							\
{									\
	return s2_why[0] ? skip("%s", s2_why) : fn();			\
}
S2_CASE(test_s2_tracking_on, test_tracking_on)
S2_CASE(test_s2_written_pages_dirty, test_written_pages_dirty)
S2_CASE(test_s2_read_leaves_clean, test_read_leaves_clean)
S2_CASE(test_s2_write_after_clear, test_write_after_clear)
S2_CASE(test_s2_no_clear, test_no_clear)
S2_CASE(test_s2_tracking_off, test_tracking_off)
S2_CASE(test_s2_tracking_on_again, test_tracking_on_again)

/*
 * A guest's DMA through a nested HWPT on the tracked stage 2 HWPT (a vIOMMU,
 * a vDEVICE, a vSTE): what a VMM migrating a guest with a vIOMMU relies on,
 * that the pages the guest's device writes are marked in the parent. The vSTE
 * bypasses stage 1, so IPA = IOVA; the physical STE is the nested one, not
 * the parent's. Needs a vIOMMU: an ACPI boot with a CANWBS root complex.
 */
static int destroy_id(uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return id ? ioctl(c.iommufd, IOMMU_DESTROY, &d) : 0;
}

static int nested_dma(uint32_t *viommu, uint32_t *vdev, uint32_t *nested)
{
	int r = nested_bypass_attach(&c, hwpt, 0, viommu, vdev, nested);

	if (r)
		return r;	/* a skip or a failure */
	TRY(dma(IPTD_DMA_CMD_WRITE, 2));
	TRY(dma(IPTD_DMA_CMD_READ, 5));
	return dirty_is(1u << 2, false, "the parent, after a write to page 2 and a read of 5 "
			"through the nested HWPT");
}

static int test_nested_dma_marks_s2(void)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = hwpt };
	uint32_t viommu = 0, vdev = 0, nested = 0;
	int r;

	if (s2_why[0])
		return skip("%s", s2_why);
	r = nested_dma(&viommu, &vdev, &nested);
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), "ATTACH(stage 2 HWPT): %s",
	      strerror(errno));
	CHECK(!destroy_id(nested) && !destroy_id(vdev) && !destroy_id(viommu),
	      "IOMMU_DESTROY of the nested objects: %s", strerror(errno));
	return r;
}

/* Each case ends with a clearing read: the next starts from clean pages. */
static const struct ktap_case cases[] = {
	{ "tracking_on_nothing_dirty", test_tracking_on },
	{ "written_pages_dirty_exactly", test_written_pages_dirty },
	{ "read_leaves_pages_clean", test_read_leaves_clean },
	{ "write_after_clear_is_seen", test_write_after_clear },
	{ "no_clear_keeps_dirty_state", test_no_clear },
	{ "unmapped_range_refused", test_hole_refused },
	{ "bad_bitmap_requests_refused", test_bad_requests_refused },
	{ "tracking_off_stops_reporting", test_tracking_off },
	{ "tracking_on_again_reports_later_writes", test_tracking_on_again },
	{ "s2_domain_attached", test_s2_domain },
	{ "s2_tracking_on_nothing_dirty", test_s2_tracking_on },
	{ "s2_written_pages_dirty_exactly", test_s2_written_pages_dirty },
	{ "s2_read_leaves_pages_clean", test_s2_read_leaves_clean },
	{ "s2_write_after_clear_is_seen", test_s2_write_after_clear },
	{ "s2_no_clear_keeps_dirty_state", test_s2_no_clear },
	{ "s2_tracking_off_stops_reporting", test_s2_tracking_off },
	{ "s2_tracking_on_again_reports_later_writes", test_s2_tracking_on_again },
	{ "nested_dma_marks_s2_dirty", test_nested_dma_marks_s2 },
};

static int setup(const char *bdf)
{
	struct iommu_hwpt_alloc alloc = {
		.size = sizeof(alloc),
		.flags = IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	TRY(ctx_open(&c, "iommufd", bdf));
	alloc.dev_id = c.devid;
	alloc.pt_id = c.ioas;
	CHECK(!ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &alloc),
	      "IOMMU_HWPT_ALLOC(DIRTY_TRACKING): %s", strerror(errno));
	hwpt = alloc.out_hwpt_id;
	at.pt_id = hwpt;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(dirty tracking HWPT): %s", strerror(errno));
	pages = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	CHECK(pages != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(pages, 0, NPAGES * PAGE);
	return ctx_map(&c, pages, IOVA, NPAGES * PAGE);
}

static void teardown(void)
{
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	char bdf[32];

	return ktap_program("smmu-model-dirty", &iptd_id, argc, argv, bdf, setup, teardown, cases,
			    sizeof(cases) / sizeof(cases[0]), 0);
}
