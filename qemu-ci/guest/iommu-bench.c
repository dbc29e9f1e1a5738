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
 *
 * Each is repeated; the median of the repetitions is printed as
 * "BENCH <name> <value> <unit>". Timings are of an emulated machine (QEMU
 * TCG): they compare drivers, they say nothing of hardware.
 *
 * Usage: iommu-bench [-d BDF] [-b BLOCKDEV] (the edu at BDF, by default the
 * lowest; the disk BLOCKDEV, by default /dev/vda).
 */
#include "vfio-lib.h"

#include <time.h>

#define ROUNDS 7
#define N_4K 1024
#define N_2M 32
#define SZ_2M (2UL << 20)
#define BLK_REQ (1UL << 20)
#define BLK_TOTAL (32UL << 20)
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

	for (int r = 0; r < ROUNDS; r++)
		if (map_round(c, buf, len, n, &map_ns[r], &unmap_ns[r]))
			return -1;
	printf("BENCH map_%s %llu ns\n", tag, (unsigned long long)median(map_ns, ROUNDS));
	printf("BENCH unmap_%s %llu ns\n", tag, (unsigned long long)median(unmap_ns, ROUNDS));
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
	for (int r = 0; r < ROUNDS; r++) {
		uint64_t t0 = now_ns();

		for (size_t off = 0; off < BLK_TOTAL; off += BLK_REQ) {
			if (pread(fd, buf, BLK_REQ, off) != (ssize_t)BLK_REQ) {
				fail("pread %s at %zu: %s", disk, off, strerror(errno));
				free(buf);
				close(fd);
				return -1;
			}
		}
		mbps[r] = (BLK_TOTAL >> 20) * 1000000000ULL / (now_ns() - t0);
	}
	free(buf);
	close(fd);
	printf("BENCH blk_read %llu MiB/s\n", (unsigned long long)median(mbps, ROUNDS));
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
	if (!ret && argc == 3 && !strcmp(argv[1], "-b")) {
		disk = argv[2];
		argc -= 2;
	}
	if (ret || argc != 1) {
		fprintf(stderr, "usage: iommu-bench [-d BDF] [-b BLOCKDEV]\n");
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
	if (ctx_open(&c, "iommufd", bdf) || bench_map(&c, buf, PAGE, N_4K, "4k") ||
	    bench_map(&c, buf, SZ_2M, N_2M, "2m") || bench_blk(disk)) {
		fprintf(stderr, "iommu-bench: %s\n", failmsg);
		ret = 1;
	}
	ctx_close(&c);
	return ret;
}
