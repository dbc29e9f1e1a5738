// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-failnth: the fail-nth sweep (failnth_sweep() in vfio-lib.h) of
 * the PASID and dirty-tracking ioctls, on the project QEMU's SMMUv3 with
 * SubstreamIDs and HTTU (qemu-ci/run --smmu-features ssid,httu) and
 * iommu-pcie-testdev under vfio-pci.
 *
 * The sequence: IOAS, map, a PASID-capable HWPT for the RID and attach, a
 * second one given to PASID 5, PASID 9 given the first, PASID 5 moved to the
 * first, the RID moved to the second, a dirty-tracking PASID-capable HWPT
 * given to PASID 9, tracking enabled and the bitmap read; then, where the
 * driver has it, a dirty-tracking NEST_PARENT HWPT, tracking on it and its
 * bitmap. Each run is undone: PASIDs and RID detached, every object
 * destroyed. After the sweep, PASID-tagged DMA must still land in its
 * domain. Output is KTAP.
 *
 * Usage: smmu-model-failnth [-d BDF] test
 */
#include "vfio-lib.h"
#include "iptd.h"

#define IOVA		0x100000UL
#define NPAGES		4
#define PASID_A		5
#define PASID_B		9

static struct ctx c;
static uint8_t *pages;
static uint64_t bitmap;
/* Whether the driver gives NEST_PARENT HWPTs dirty tracking (probed first). */
static int s2_dirty;

enum {
	S_IOAS, S_MAP, S_RID_HWPT, S_RID_ATTACH, S_HWPT_A, S_PASID_A, S_PASID_B, S_PASID_A_MOVE,
	S_RID_MOVE, S_DIRTY_HWPT, S_PASID_B_DIRTY, S_TRACK, S_BITMAP, S_S2_HWPT, S_S2_TRACK,
	S_S2_BITMAP, S_STEPS
};

static const char *const names[S_STEPS] = {
	"IOMMU_IOAS_ALLOC", "IOMMU_IOAS_MAP", "IOMMU_HWPT_ALLOC(PASID)", "ATTACH(RID)",
	"IOMMU_HWPT_ALLOC(PASID) second", "ATTACH(PASID 5)", "ATTACH(PASID 9)",
	"ATTACH(PASID 5) replace", "ATTACH(RID) replace", "IOMMU_HWPT_ALLOC(PASID|DIRTY)",
	"ATTACH(PASID 9) dirty HWPT", "IOMMU_HWPT_SET_DIRTY_TRACKING",
	"IOMMU_HWPT_GET_DIRTY_BITMAP", "IOMMU_HWPT_ALLOC(NEST_PARENT|DIRTY)",
	"IOMMU_HWPT_SET_DIRTY_TRACKING(stage 2)", "IOMMU_HWPT_GET_DIRTY_BITMAP(stage 2)",
};

/* What one run made. */
struct objs {
	uint32_t ioas, rid_hwpt, hwpt_a, dirty, s2;
	int rid, pasid_a, pasid_b;
};

static struct objs o;

static int hwpt_alloc(uint32_t flags, uint32_t *id)
{
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a),
		.flags = flags,
		.dev_id = c.devid,
		.pt_id = o.ioas,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	int r = ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &a);

	if (!r)
		*id = a.out_hwpt_id;
	return r;
}

static int attach(uint32_t pasid, uint32_t pt, int *attached)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = pasid ? VFIO_DEVICE_ATTACH_PASID : 0,
		.pt_id = pt,
		.pasid = pasid,
	};
	int r = ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);

	*attached |= !r;
	return r;
}

static int track(uint32_t hwpt)
{
	struct iommu_hwpt_set_dirty_tracking set = {
		.size = sizeof(set),
		.flags = IOMMU_HWPT_DIRTY_TRACKING_ENABLE,
		.hwpt_id = hwpt,
	};

	return ioctl(c.iommufd, IOMMU_HWPT_SET_DIRTY_TRACKING, &set);
}

static int read_bitmap(uint32_t hwpt)
{
	struct iommu_hwpt_get_dirty_bitmap get = {
		.size = sizeof(get),
		.hwpt_id = hwpt,
		.iova = IOVA,
		.length = NPAGES * PAGE,
		.page_size = PAGE,
		.data = (uintptr_t)&bitmap,
	};

	return ioctl(c.iommufd, IOMMU_HWPT_GET_DIRTY_BITMAP, &get);
}

static void reset(void *ctx)
{
	(void)ctx;
	memset(&o, 0, sizeof(o));
}

static int run(void *ctx, int *err)
{
	struct iommu_ioas_alloc ioas = { .size = sizeof(ioas) };
	struct iommu_ioas_map map = {
		.size = sizeof(map),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.user_va = (uintptr_t)pages,
		.length = NPAGES * PAGE,
		.iova = IOVA,
	};
	int step = 0;

	(void)ctx;
#define STEP(call) do { errno = 0; if (call) { *err = errno; return step; } step++; } while (0)
	STEP(ioctl(c.iommufd, IOMMU_IOAS_ALLOC, &ioas));
	o.ioas = ioas.out_ioas_id;
	map.ioas_id = o.ioas;
	STEP(ioctl(c.iommufd, IOMMU_IOAS_MAP, &map));
	STEP(hwpt_alloc(IOMMU_HWPT_ALLOC_PASID, &o.rid_hwpt));
	STEP(attach(0, o.rid_hwpt, &o.rid));
	STEP(hwpt_alloc(IOMMU_HWPT_ALLOC_PASID, &o.hwpt_a));
	STEP(attach(PASID_A, o.hwpt_a, &o.pasid_a));
	STEP(attach(PASID_B, o.rid_hwpt, &o.pasid_b));
	STEP(attach(PASID_A, o.rid_hwpt, &o.pasid_a));
	STEP(attach(0, o.hwpt_a, &o.rid));
	STEP(hwpt_alloc(IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &o.dirty));
	STEP(attach(PASID_B, o.dirty, &o.pasid_b));
	STEP(track(o.dirty));
	STEP(read_bitmap(o.dirty));
	if (!s2_dirty)
		return S_STEPS;
	STEP(hwpt_alloc(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING, &o.s2));
	STEP(track(o.s2));
	STEP(read_bitmap(o.s2));
#undef STEP
	return step;
}

static int undo(void *ctx)
{
	const struct { uint32_t id; const char *what; } ids[] = {
		{ o.s2, "stage 2 dirty HWPT" }, { o.dirty, "dirty HWPT" },
		{ o.hwpt_a, "second HWPT" }, { o.rid_hwpt, "RID HWPT" }, { o.ioas, "IOAS" },
	};
	const uint32_t pasids[] = { PASID_A, PASID_B };
	const int attached[] = { o.pasid_a, o.pasid_b };

	(void)ctx;
	for (int i = 0; i < 2; i++) {
		struct vfio_device_detach_iommufd_pt dt = {
			.argsz = sizeof(dt), .flags = VFIO_DEVICE_DETACH_PASID, .pasid = pasids[i],
		};

		if (attached[i])
			CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt),
			      "VFIO_DEVICE_DETACH_IOMMUFD_PT(PASID %u): %s", pasids[i],
			      strerror(errno));
	}
	if (o.rid) {
		struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };

		CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt),
		      "VFIO_DEVICE_DETACH_IOMMUFD_PT(RID): %s", strerror(errno));
	}
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct iommu_destroy d = { .size = sizeof(d), .id = ids[i].id };

		if (ids[i].id)
			CHECK(!ioctl(c.iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY(%s %u): %s",
			      ids[i].what, ids[i].id, strerror(errno));
	}
	return 0;
}

static int test_sweep(void)
{
	const struct failnth_seq seq = {
		.names = names, .steps = S_STEPS, .reset = reset, .run = run, .undo = undo,
	};
	uint32_t id;

	/* Probe, nothing injected: does the driver track dirty pages at stage 2? */
	reset(NULL);
	o.ioas = c.ioas;
	s2_dirty = !hwpt_alloc(IOMMU_HWPT_ALLOC_NEST_PARENT | IOMMU_HWPT_ALLOC_DIRTY_TRACKING,
			       &id);
	if (s2_dirty) {
		struct iommu_destroy d = { .size = sizeof(d), .id = id };

		CHECK(!ioctl(c.iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY: %s", strerror(errno));
	}
	printf("# stage 2 dirty tracking %s: its steps are %s\n",
	       s2_dirty ? "offered" : "refused", s2_dirty ? "swept" : "left out");
	return failnth_sweep(&seq);
}

static uint32_t rd(unsigned int off)
{
	return *(volatile uint32_t *)(c.bar + off);
}

static void wr(unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(c.bar + off) = val;
}

/* After the sweep: PASID 5 and the RID get domains again and their DMA lands. */
static int test_dma_after_sweep(void)
{
	uint32_t *p = (uint32_t *)pages;

	memset(pages, 0, NPAGES * PAGE);
	o.ioas = c.ioas;
	CHECK(!ctx_map(&c, pages, IOVA, NPAGES * PAGE), "map: %s", failmsg);
	CHECK(!hwpt_alloc(IOMMU_HWPT_ALLOC_PASID, &o.rid_hwpt), "IOMMU_HWPT_ALLOC(PASID): %s",
	      strerror(errno));
	CHECK(!attach(0, o.rid_hwpt, &o.rid), "ATTACH(RID): %s", strerror(errno));
	CHECK(!attach(PASID_A, o.rid_hwpt, &o.pasid_a), "ATTACH(PASID 5): %s", strerror(errno));
	wr(IPTD_BUF, 0x5a5a0005);
	wr(IPTD_DMA_ADDR, (uint32_t)IOVA);
	wr(IPTD_DMA_ADDR + 4, 0);
	wr(IPTD_DMA_LEN, 4);
	wr(IPTD_DMA_PASID, IPTD_PASID_VALID | PASID_A);
	wr(IPTD_DMA_CMD, IPTD_DMA_CMD_WRITE);
	CHECK(rd(IPTD_DMA_STATUS) == IPTD_STATUS_OK, "DMA write, PASID 5: status %u",
	      rd(IPTD_DMA_STATUS));
	CHECK(p[0] == 0x5a5a0005, "DMA write with PASID 5 did not land: %#x", p[0]);
	return 0;
}

static const struct ktap_case cases[] = {
	{ "failnth_sweep", test_sweep },
	{ "pasid_dma_after_sweep", test_dma_after_sweep },
};

static int setup(const char *dev)
{
	if (ctx_open(&c, "iommufd", dev))
		return -1;
	pages = mmap(NULL, NPAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		     -1, 0);
	CHECK(pages != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(pages, 0, NPAGES * PAGE);
	/* The sweep attaches its own HWPTs: start detached. */
	{
		struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof(dt) };

		CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt),
		      "VFIO_DEVICE_DETACH_IOMMUFD_PT: %s", strerror(errno));
	}
	return 0;
}

static void teardown(void)
{
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	char bdf[32];

	return ktap_program("smmu-model-failnth", &iptd_id, argc, argv, bdf, setup, teardown,
			    cases, sizeof(cases) / sizeof(cases[0]), 1);
}
