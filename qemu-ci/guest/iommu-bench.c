// SPDX-License-Identifier: GPL-2.0
/*
 * iommu-bench: how long the IOMMU driver takes for the operations its users
 * repeat, measured in the guest, for qemu-ci/bench to compare drivers booted
 * the same way in one run:
 *
 *   map_4k, unmap_4k     - IOMMU_IOAS_MAP / _UNMAP of one 4 KiB page, through
 *                          iommufd, with edu attached to the IOAS (each call
 *                          is a page table update; each unmap also a TLB
 *                          invalidation and CMD_SYNC)
 *   map_2m, unmap_2m     - the same for 2 MiB of 4 KiB pages
 *   blk_read             - O_DIRECT reads of the virtio-blk disk in 1 MiB
 *                          requests: the kernel's DMA API, a map and an unmap
 *                          per request (strict mode: invalidated on unmap)
 *   cmdq_tN, cmdq_tN_max - the command queue shared by N threads (1, 2, 4):
 *                          each issues IOMMU_HWPT_INVALIDATE calls of 15
 *                          TLBI_NH_ASID on a vIOMMU (each call 15 commands
 *                          and a CMD_SYNC in both drivers); commands per
 *                          second over all threads, and the longest call.
 *                          Only where a vIOMMU can be allocated: the SMMU
 *                          nests (the bench's default) and the root complex
 *                          is CANWBS (qemu-ci/bench --canwbs) or S2FWB.
 *
 * Each is repeated; the median of the repetitions is printed as
 * "BENCH <name> <value> <unit>". Timings are of an emulated machine (QEMU
 * TCG): they compare drivers, they say nothing of hardware.
 *
 * Usage: iommu-bench [-d BDF] [-b BLOCKDEV] [-q] (the edu at BDF, by default
 * the lowest; the disk BLOCKDEV, by default /dev/vda). -q: once, with a
 * sixteenth of the work or less (qemu-ci/bench --quick): that every measure
 * still runs, its number meaningless.
 */
#include "vfio-lib.h"

#include <pthread.h>
#include <time.h>

#define ROUNDS 7
#define N_4K 1024
#define N_2M 32
#define SZ_2M (2UL << 20)
#define BLK_REQ (1UL << 20)
#define BLK_TOTAL (32UL << 20)

/* The repetitions and amounts of work: the defines above, or less with -q. */
static int rounds = ROUNDS, n_4k = N_4K, n_2m = N_2M;
static size_t blk_total = BLK_TOTAL;
#define IOVA_BASE 0x100000000ULL

static const struct pci_id edu = { "edu", 0x1234, 0x11e8 };

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v, int n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return v[n / 2];
}

/*
 * One round: map n chunks of len bytes of buf at consecutive IOVAs, then
 * unmap them one by one. Adds the ns per map and per unmap to the arrays.
 */
static int map_round(struct ctx *c, uint8_t *buf, size_t len, int n, uint64_t *map_ns,
		     uint64_t *unmap_ns)
{
	uint64_t t0, t1, t2;

	t0 = now_ns();
	for (int i = 0; i < n; i++)
		if (ctx_map(c, buf + (size_t)i * len, IOVA_BASE + (uint64_t)i * len, len))
			return -1;
	t1 = now_ns();
	for (int i = 0; i < n; i++)
		if (ctx_unmap(c, IOVA_BASE + (uint64_t)i * len, len))
			return -1;
	t2 = now_ns();
	*map_ns = (t1 - t0) / n;
	*unmap_ns = (t2 - t1) / n;
	return 0;
}

static int bench_map(struct ctx *c, uint8_t *buf, size_t len, int n, const char *tag)
{
	uint64_t map_ns[ROUNDS], unmap_ns[ROUNDS];

	for (int r = 0; r < rounds; r++)
		if (map_round(c, buf, len, n, &map_ns[r], &unmap_ns[r]))
			return -1;
	printf("BENCH map_%s %llu ns\n", tag, (unsigned long long)median(map_ns, rounds));
	printf("BENCH unmap_%s %llu ns\n", tag, (unsigned long long)median(unmap_ns, rounds));
	return 0;
}

/* The block device of the virtio-blk disk. */
static int bench_blk(const char *disk)
{
	uint64_t mbps[ROUNDS];
	void *buf;
	int fd = open(disk, O_RDONLY | O_DIRECT);

	CHECK(fd >= 0, "open %s: %s", disk, strerror(errno));
	if (posix_memalign(&buf, PAGE, BLK_REQ)) {
		close(fd);
		return fail("posix_memalign: out of memory");
	}
	for (int r = 0; r < rounds; r++) {
		uint64_t t0 = now_ns();

		for (size_t off = 0; off < blk_total; off += BLK_REQ) {
			if (pread(fd, buf, BLK_REQ, off) != (ssize_t)BLK_REQ) {
				fail("pread %s at %zu: %s", disk, off, strerror(errno));
				free(buf);
				close(fd);
				return -1;
			}
		}
		mbps[r] = (blk_total >> 20) * 1000000000ULL / (now_ns() - t0);
	}
	free(buf);
	close(fd);
	printf("BENCH blk_read %llu MiB/s\n", (unsigned long long)median(mbps, rounds));
	return 0;
}

#define IDR0_NESTING 0x3
#define CMD_TLBI_NH_ASID 0x11
#define CMDQ_BATCH 15
#define CMDQ_CALLS 256
static int cmdq_calls = CMDQ_CALLS;
#define CMDQ_THREADS_MAX 4

struct cmdq_thread {
	pthread_t t;
	int iommufd;
	uint32_t viommu;
	uint64_t worst_ns;
	int err;
};

/* cmdq_calls invalidations of CMDQ_BATCH commands on the vIOMMU. */
static void *cmdq_worker(void *arg)
{
	struct cmdq_thread *w = arg;
	uint64_t cmds[CMDQ_BATCH][2];

	for (int i = 0; i < CMDQ_BATCH; i++) {
		/* ASID 1 of the vIOMMU's VMID: nothing is cached there. */
		cmds[i][0] = CMD_TLBI_NH_ASID | (1ULL << 48);
		cmds[i][1] = 0;
	}
	for (int i = 0; i < cmdq_calls; i++) {
		struct iommu_hwpt_invalidate inv = {
			.size = sizeof(inv),
			.hwpt_id = w->viommu,
			.data_uptr = (uintptr_t)cmds,
			.data_type = IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3,
			.entry_len = sizeof(cmds[0]),
			.entry_num = CMDQ_BATCH,
		};
		uint64_t t0 = now_ns(), dt;

		if (ioctl(w->iommufd, IOMMU_HWPT_INVALIDATE, &inv) || inv.entry_num != CMDQ_BATCH) {
			w->err = errno ? errno : EIO;
			return NULL;
		}
		dt = now_ns() - t0;
		if (dt > w->worst_ns)
			w->worst_ns = dt;
	}
	return NULL;
}

/* One round of n threads: commands per second over all, and the longest call in ns. */
static int cmdq_round(int iommufd, uint32_t viommu, int n, uint64_t *rate, uint64_t *worst)
{
	struct cmdq_thread w[CMDQ_THREADS_MAX] = { 0 };
	uint64_t t0 = now_ns();
	int err = 0;

	for (int i = 0; i < n; i++) {
		w[i].iommufd = iommufd;
		w[i].viommu = viommu;
		CHECK(!pthread_create(&w[i].t, NULL, cmdq_worker, &w[i]), "pthread_create failed");
	}
	*worst = 0;
	for (int i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		if (w[i].err)
			err = w[i].err;
		if (w[i].worst_ns > *worst)
			*worst = w[i].worst_ns;
	}
	CHECK(!err, "IOMMU_HWPT_INVALIDATE: %s", strerror(err));
	*rate = (uint64_t)n * cmdq_calls * CMDQ_BATCH * 1000000000ULL / (now_ns() - t0);
	return 0;
}

/*
 * The command queue under 1, 2 and 4 threads, through a vIOMMU over a nesting
 * parent of the IOAS that c's device is then attached to. Nothing (and no
 * failure) where the SMMU does not nest.
 */
static int bench_cmdq(struct ctx *c)
{
	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hw_info info = {
		.size = sizeof(info),
		.dev_id = c->devid,
		.data_len = sizeof(smmu),
		.data_uptr = (uintptr_t)&smmu,
	};
	struct iommu_viommu_alloc va = {
		.size = sizeof(va),
		.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
		.dev_id = c->devid,
	};

	CHECK(!ioctl(c->iommufd, IOMMU_GET_HW_INFO, &info), "IOMMU_GET_HW_INFO: %s",
	      strerror(errno));
	if ((smmu.idr[0] & IDR0_NESTING) != IDR0_NESTING)
		return 0;
	if (nest_parent_attach(c, &va.hwpt_id))
		return -1;
	if (ioctl(c->iommufd, IOMMU_VIOMMU_ALLOC, &va) && errno == EOPNOTSUPP) {
		/* No vIOMMU without CANWBS or S2FWB (qemu-ci/bench --canwbs). */
		fprintf(stderr, "iommu-bench: no vIOMMU here: no cmdq measures\n");
		return 0;
	}
	CHECK(va.out_viommu_id, "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	for (int n = 1; n <= CMDQ_THREADS_MAX; n *= 2) {
		uint64_t rate[ROUNDS], worst[ROUNDS];

		for (int r = 0; r < rounds; r++)
			if (cmdq_round(c->iommufd, va.out_viommu_id, n, &rate[r], &worst[r]))
				return -1;
		printf("BENCH cmdq_t%d %llu cmd/s\n", n, (unsigned long long)median(rate, rounds));
		printf("BENCH cmdq_t%d_max %llu ns\n", n,
		       (unsigned long long)median(worst, rounds));
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *disk = "/dev/vda";
	struct ctx c;
	char bdf[32];
	uint8_t *buf;
	size_t len = N_2M * SZ_2M;
	int ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	ret = pci_dev_arg("iommu-bench", &edu, &argc, &argv, bdf);
	while (!ret && argc > 1) {
		if (argc > 2 && !strcmp(argv[1], "-b")) {
			disk = argv[2];
			argv += 2;
			argc -= 2;
		} else if (!strcmp(argv[1], "-q")) {
			rounds = 1;
			n_4k = N_4K / 16;
			n_2m = N_2M / 16;
			blk_total = BLK_TOTAL / 16;
			cmdq_calls = CMDQ_CALLS / 16;
			argv++;
			argc--;
		} else {
			break;
		}
	}
	if (ret || argc != 1) {
		fprintf(stderr, "usage: iommu-bench [-d BDF] [-b BLOCKDEV] [-q]\n");
		return 2;
	}
	if (pci_dev_default("iommu-bench", &edu, bdf))
		return 1;
	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (buf == MAP_FAILED) {
		perror("iommu-bench: mmap");
		return 1;
	}
	if (ctx_open(&c, "iommufd", bdf) || bench_map(&c, buf, PAGE, n_4k, "4k") ||
	    bench_map(&c, buf, SZ_2M, n_2m, "2m") || bench_blk(disk) || bench_cmdq(&c)) {
		fprintf(stderr, "iommu-bench: %s\n", failmsg);
		ret = 1;
	}
	ctx_close(&c);
	return ret;
}
