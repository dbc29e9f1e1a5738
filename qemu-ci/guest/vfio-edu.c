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
 *   type1v2  - the legacy group + /dev/vfio/vfio container
 *   compat   - the group with /dev/iommu as its container (iommufd's
 *              type1 compatibility layer)
 *
 * For each back end it checks that a mapped buffer round-trips through the
 * device (RAM -> device -> RAM), that DMA to or from an IOVA that is not
 * mapped moves no data, and that the device's MSI (a DMA write to the GIC ITS
 * doorbell, translated by the IOMMU through its software MSI window) arrives. The unmapped IOVAs are the *physical* addresses of
 * pages this program owns, so an IOMMU that let the DMA through untranslated
 * (bypass, or a stale TLB entry) would visibly change them. Output is KTAP.
 *
 * Usage: vfio-edu [-d BDF] test [BACKEND...] | vfio-edu [-d BDF] info
 * (the edu at BDF, by default the one with the lowest BDF)
 *
 * edu needs dma_mask=0xffffffffffffffff on the QEMU command line for the
 * physical-address checks (its default 28-bit mask clamps IOVAs).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommufd.h>
#include <linux/vfio.h>

#define PAGE 4096UL
#define EDU_VENDOR 0x1234
#define EDU_DEVICE 0x11e8
#define EDU_IRQ_STATUS 0x24
#define EDU_IRQ_RAISE 0x60
#define EDU_IRQ_ACK 0x64
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_CMD_RUN 0x1
#define EDU_CMD_TO_RAM 0x2
#define EDU_BUF 0x40000		/* device-side 4 KiB buffer */
#define IOVA_A 0x100000UL	/* source page */
#define IOVA_B 0x101000UL	/* destination page */
#define IOVA_C 0x200000UL	/* mapped, then unmapped */

static char failmsg[512];

/* SMMU_IDR0 as IOMMU_GET_HW_INFO reports it (0 until hw_info() ran). */
static uint32_t smmu_idr0;

/* Record why the current test failed; the KTAP line carries it. */
static int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(failmsg, sizeof(failmsg), fmt, ap);
	va_end(ap);
	return -1;
}

#define CHECK(cond, ...) do { if (!(cond)) return fail(__VA_ARGS__); } while (0)

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int read_hex(const char *path, unsigned long *val)
{
	char buf[64];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	*val = strtoul(buf, NULL, 0);
	return 0;
}

/* Whether the PCI device bdf is an edu. */
static int is_edu(const char *bdf)
{
	char path[256];
	unsigned long v, dv;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", bdf);
	if (read_hex(path, &v))
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", bdf);
	if (read_hex(path, &dv))
		return 0;
	return v == EDU_VENDOR && dv == EDU_DEVICE;
}

/* Find the edu device with the lowest BDF; returns 0 and its BDF, or -1. */
static int find_edu(char bdf[32])
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int found = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !is_edu(e->d_name))
			continue;
		if (found || strcmp(e->d_name, bdf) < 0)
			snprintf(bdf, 32, "%s", e->d_name);
		found = 0;
	}
	closedir(d);
	return found;
}

/* Bind the device to vfio-pci (idempotent). */
static int bind_vfio(const char *bdf)
{
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (strstr(link, "/vfio-pci"))
			return 0;
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver/unbind", bdf);
		CHECK(!write_str(path, bdf), "unbind %s from its driver failed", bdf);
	}
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver_override", bdf);
	CHECK(!write_str(path, "vfio-pci"), "driver_override for %s failed", bdf);
	CHECK(!write_str("/sys/bus/pci/drivers_probe", bdf), "binding %s to vfio-pci failed: %s",
	      bdf, strerror(errno));
	return 0;
}

/* /dev/vfio/devices/vfioN of the device. */
static int cdev_path(const char *bdf, char *out, size_t len)
{
	char path[256];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", bdf);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4)) {
			snprintf(out, len, "/dev/vfio/devices/%s", e->d_name);
			closedir(d);
			return 0;
		}
	closedir(d);
	return -1;
}

static int group_number(const char *bdf)
{
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return -1;
	link[n] = 0;
	return atoi(strrchr(link, '/') + 1);
}

/* Physical address of a (locked, populated) user page, or 0. */
static uint64_t phys_of(void *va)
{
	uint64_t ent;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	off_t off = ((uintptr_t)va / PAGE) * sizeof(ent);

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent & (1ULL << 63)) || !(ent & ((1ULL << 55) - 1)))
		return 0;
	return (ent & ((1ULL << 55) - 1)) * PAGE;
}

/* One open VFIO device with its DMA back end. */
struct ctx {
	const char *backend;
	int iommufd, container, group, dev;
	uint32_t ioas, devid;
	volatile uint8_t *bar;
	size_t bar_size;
};

static int ctx_map(struct ctx *c, void *va, uint64_t iova, size_t len)
{
	if (c->iommufd >= 0 && c->container < 0) {
		struct iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
				 IOMMU_IOAS_MAP_WRITEABLE,
			.ioas_id = c->ioas,
			.user_va = (uintptr_t)va,
			.length = len,
			.iova = iova,
		};

		CHECK(!ioctl(c->iommufd, IOMMU_IOAS_MAP, &m), "IOMMU_IOAS_MAP iova %#lx: %s",
		      (unsigned long)iova, strerror(errno));
	} else {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
			.vaddr = (uintptr_t)va,
			.iova = iova,
			.size = len,
		};

		CHECK(!ioctl(c->container, VFIO_IOMMU_MAP_DMA, &m), "VFIO_IOMMU_MAP_DMA iova %#lx: %s",
		      (unsigned long)iova, strerror(errno));
	}
	return 0;
}

static int ctx_unmap(struct ctx *c, uint64_t iova, size_t len)
{
	if (c->iommufd >= 0 && c->container < 0) {
		struct iommu_ioas_unmap u = {
			.size = sizeof(u), .ioas_id = c->ioas, .iova = iova, .length = len,
		};

		CHECK(!ioctl(c->iommufd, IOMMU_IOAS_UNMAP, &u), "IOMMU_IOAS_UNMAP: %s", strerror(errno));
		CHECK(u.length == len, "IOMMU_IOAS_UNMAP unmapped %llu of %zu bytes",
		      (unsigned long long)u.length, len);
	} else {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u), .iova = iova, .size = len,
		};

		CHECK(!ioctl(c->container, VFIO_IOMMU_UNMAP_DMA, &u), "VFIO_IOMMU_UNMAP_DMA: %s",
		      strerror(errno));
		CHECK(u.size == len, "VFIO_IOMMU_UNMAP_DMA unmapped %llu of %zu bytes",
		      (unsigned long long)u.size, len);
	}
	return 0;
}

static void ctx_close(struct ctx *c)
{
	if (c->bar)
		munmap((void *)c->bar, c->bar_size);
	if (c->dev >= 0)
		close(c->dev);
	if (c->group >= 0)
		close(c->group);
	if (c->container >= 0)
		close(c->container);
	if (c->iommufd >= 0 && c->iommufd != c->container)
		close(c->iommufd);
}

/* Open the device through the chosen back end, map BAR0, enable bus mastering. */
static int ctx_open(struct ctx *c, const char *backend, const char *bdf)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	uint16_t cmd;

	memset(c, 0, sizeof(*c));
	c->backend = backend;
	c->iommufd = c->container = c->group = c->dev = -1;
	CHECK(!bind_vfio(bdf), "%s", failmsg);

	if (!strncmp(backend, "iommufd", 7)) {
		char path[64];
		struct vfio_device_bind_iommufd bind = { .argsz = sizeof(bind) };
		struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
		struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

		CHECK(!cdev_path(bdf, path, sizeof(path)), "%s has no vfio cdev", bdf);
		c->dev = open(path, O_RDWR);
		CHECK(c->dev >= 0, "open %s: %s", path, strerror(errno));
		c->iommufd = open("/dev/iommu", O_RDWR);
		CHECK(c->iommufd >= 0, "open /dev/iommu: %s", strerror(errno));
		bind.iommufd = c->iommufd;
		CHECK(!ioctl(c->dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), "VFIO_DEVICE_BIND_IOMMUFD: %s",
		      strerror(errno));
		c->devid = bind.out_devid;
		CHECK(!ioctl(c->iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC: %s",
		      strerror(errno));
		c->ioas = alloc.out_ioas_id;
		at.pt_id = c->ioas;
		if (!strcmp(backend, "iommufd-s2")) {
			struct iommu_hwpt_alloc hwpt = {
				.size = sizeof(hwpt),
				.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
				.dev_id = c->devid,
				.pt_id = c->ioas,
				.data_type = IOMMU_HWPT_DATA_NONE,
			};

			CHECK(!ioctl(c->iommufd, IOMMU_HWPT_ALLOC, &hwpt),
			      "IOMMU_HWPT_ALLOC(NEST_PARENT): %s", strerror(errno));
			at.pt_id = hwpt.out_hwpt_id;
		}
		CHECK(!ioctl(c->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
		      "VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s", strerror(errno));
	} else {
		char path[64];
		struct vfio_group_status st = { .argsz = sizeof(st) };
		int grp = group_number(bdf);

		CHECK(grp >= 0, "%s has no IOMMU group", bdf);
		snprintf(path, sizeof(path), "/dev/vfio/%d", grp);
		c->group = open(path, O_RDWR);
		CHECK(c->group >= 0, "open %s: %s", path, strerror(errno));
		CHECK(!ioctl(c->group, VFIO_GROUP_GET_STATUS, &st), "VFIO_GROUP_GET_STATUS: %s",
		      strerror(errno));
		CHECK(st.flags & VFIO_GROUP_FLAGS_VIABLE, "group %d is not viable", grp);
		if (!strcmp(backend, "type1v2")) {
			c->container = open("/dev/vfio/vfio", O_RDWR);
			CHECK(c->container >= 0, "open /dev/vfio/vfio: %s", strerror(errno));
		} else {
			c->container = open("/dev/iommu", O_RDWR);
			CHECK(c->container >= 0, "open /dev/iommu: %s", strerror(errno));
			c->iommufd = c->container;
		}
		CHECK(!ioctl(c->group, VFIO_GROUP_SET_CONTAINER, &c->container),
		      "VFIO_GROUP_SET_CONTAINER: %s", strerror(errno));
		CHECK(ioctl(c->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
		      "container lacks VFIO_TYPE1v2_IOMMU");
		CHECK(!ioctl(c->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), "VFIO_SET_IOMMU: %s",
		      strerror(errno));
		c->dev = ioctl(c->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
		CHECK(c->dev >= 0, "VFIO_GROUP_GET_DEVICE_FD: %s", strerror(errno));
	}

	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	CHECK(!ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &reg), "BAR0 region info: %s",
	      strerror(errno));
	c->bar_size = reg.size;
	c->bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->dev, reg.offset);
	CHECK(c->bar != MAP_FAILED, "mmap BAR0: %s", strerror(errno));

	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK(!ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &reg), "config region info: %s",
	      strerror(errno));
	CHECK(pread(c->dev, &cmd, 2, reg.offset + 4) == 2, "read PCI_COMMAND");
	cmd |= 0x6; /* memory space + bus master */
	CHECK(pwrite(c->dev, &cmd, 2, reg.offset + 4) == 2, "write PCI_COMMAND");
	CHECK(*(volatile uint32_t *)c->bar == 0x010000edu, "BAR0 id reads %#x, not edu",
	      *(volatile uint32_t *)c->bar);
	return 0;
}

/* One edu DMA; to_ram: device buffer -> iova, else iova -> device buffer. */
static int edu_dma(struct ctx *c, uint64_t iova, size_t len, int to_ram)
{
	volatile uint64_t *r = (volatile uint64_t *)c->bar;
	struct timespec t0, t;

	r[EDU_DMA_SRC / 8] = to_ram ? EDU_BUF : iova;
	r[EDU_DMA_DST / 8] = to_ram ? iova : EDU_BUF;
	r[EDU_DMA_CNT / 8] = len;
	r[EDU_DMA_CMD / 8] = EDU_CMD_RUN | (to_ram ? EDU_CMD_TO_RAM : 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (r[EDU_DMA_CMD / 8] & EDU_CMD_RUN) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		CHECK(t.tv_sec - t0.tv_sec < 10, "edu DMA did not complete in 10 s");
		usleep(1000);
	}
	return 0;
}

static void fill(uint8_t *p, uint8_t seed)
{
	for (size_t i = 0; i < PAGE; i++)
		p[i] = (uint8_t)(seed ^ (i * 7) ^ (i >> 8));
}

static int same(const uint8_t *p, uint8_t seed)
{
	for (size_t i = 0; i < PAGE; i++)
		if (p[i] != (uint8_t)(seed ^ (i * 7) ^ (i >> 8)))
			return 0;
	return 1;
}

static int all_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PAGE; i++)
		if (p[i])
			return 0;
	return 1;
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

/* Set (fd >= 0) or tear down (fd < 0) the device's single MSI trigger. */
static int set_msi(struct ctx *c, int fd)
{
	char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(buf);
	set->index = VFIO_PCI_MSI_IRQ_INDEX;
	set->start = 0;
	if (fd >= 0) {
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		set->count = 1;
		memcpy(set->data, &fd, sizeof(int));
	} else {
		set->argsz = sizeof(*set);
		set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
		set->count = 0;
	}
	CHECK(!ioctl(c->dev, VFIO_DEVICE_SET_IRQS, set), "VFIO_DEVICE_SET_IRQS (MSI %s): %s",
	      fd >= 0 ? "on" : "off", strerror(errno));
	return 0;
}

static int t_msi(struct ctx *c)
{
	volatile uint32_t *r = (volatile uint32_t *)c->bar;
	struct vfio_irq_info info = { .argsz = sizeof(info), .index = VFIO_PCI_MSI_IRQ_INDEX };
	struct pollfd pfd;
	uint64_t count = 0;
	int fd, n, ret = -1;

	CHECK(!ioctl(c->dev, VFIO_DEVICE_GET_IRQ_INFO, &info), "VFIO_DEVICE_GET_IRQ_INFO: %s",
	      strerror(errno));
	CHECK(info.count >= 1, "edu reports no MSI vector");
	fd = eventfd(0, EFD_NONBLOCK);
	CHECK(fd >= 0, "eventfd: %s", strerror(errno));
	if (set_msi(c, fd))
		goto out;
	r[EDU_IRQ_RAISE / 4] = 0x1;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	n = poll(&pfd, 1, 5000);
	if (n == 1 && read(fd, &count, sizeof(count)) == sizeof(count) && count >= 1)
		ret = 0;
	else
		fail("no MSI arrived within 5 s (status %#x): the write to the MSI doorbell did not "
		     "get through the IOMMU", r[EDU_IRQ_STATUS / 4]);
	r[EDU_IRQ_ACK / 4] = 0x1;
	if (set_msi(c, -1))
		ret = -1;
out:
	close(fd);
	return ret;
}

static const struct {
	const char *name;
	int (*fn)(struct ctx *c);
} tests[] = {
	{ "dma_roundtrip", t_roundtrip },
	{ "dma_from_unmapped_blocked", t_from_unmapped },
	{ "dma_to_unmapped_blocked", t_to_unmapped },
	{ "dma_after_unmap_blocked", t_after_unmap },
	{ "msi_through_iommu", t_msi },
};
#define NTESTS (sizeof(tests) / sizeof(tests[0]))

/* SMMU_IDR0.S1P and S2P: both stages, so nesting. */
#define IDR0_NESTING 0x3

/*
 * On an SMMU without nesting, an IOMMU_HWPT_ALLOC_NEST_PARENT HWPT must be
 * refused with EOPNOTSUPP, as the C driver does, even where stage 2 exists.
 */
static int nest_parent_refused(const char *bdf)
{
	struct ctx c;
	int ret = -1;

	failmsg[0] = 0;
	if (!ctx_open(&c, "iommufd", bdf)) {
		struct iommu_hwpt_alloc hwpt = {
			.size = sizeof(hwpt),
			.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
			.dev_id = c.devid,
			.pt_id = c.ioas,
			.data_type = IOMMU_HWPT_DATA_NONE,
		};

		if (!ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &hwpt))
			fail("IOMMU_HWPT_ALLOC(NEST_PARENT) gave HWPT %u", hwpt.out_hwpt_id);
		else if (errno != EOPNOTSUPP)
			fail("IOMMU_HWPT_ALLOC(NEST_PARENT): %s, not EOPNOTSUPP", strerror(errno));
		else
			ret = 0;
	}
	ctx_close(&c);
	return ret;
}

/* Run every test against one back end as KTAP subtest number num. */
static int run_backend(const char *backend, const char *bdf, int num)
{
	struct ctx c;
	int failed = 0;

	printf("    # Subtest: %s\n", backend);
	if (!strcmp(backend, "iommufd-s2") && (smmu_idr0 & IDR0_NESTING) != IDR0_NESTING) {
		/* Without both stages there is no nesting: the driver must say so. */
		failed = nest_parent_refused(bdf);
		printf("    1..1\n");
		if (failed)
			printf("    # nest_parent_refused: %s\n", failmsg);
		printf("    %s 1 nest_parent_refused # IDR0 0x%08x has no nesting\n",
		       failed ? "not ok" : "ok", smmu_idr0);
		printf("%s %d %s\n", failed ? "not ok" : "ok", num, backend);
		return failed;
	}
	printf("    1..%zu\n", NTESTS);
	failmsg[0] = 0;
	if (ctx_open(&c, backend, bdf) || ctx_map(&c, pages, IOVA_A, 2 * PAGE)) {
		for (size_t i = 0; i < NTESTS; i++)
			printf("    not ok %zu %s # setup failed: %s\n", i + 1, tests[i].name, failmsg);
		ctx_close(&c);
		printf("not ok %d %s\n", num, backend);
		return 1;
	}
	for (size_t i = 0; i < NTESTS; i++) {
		failmsg[0] = 0;
		if (tests[i].fn(&c)) {
			failed = 1;
			printf("    # %s: %s\n    not ok %zu %s\n", tests[i].name, failmsg, i + 1,
			       tests[i].name);
		} else {
			printf("    ok %zu %s\n", i + 1, tests[i].name);
		}
	}
	ctx_close(&c);
	printf("%s %d %s\n", failed ? "not ok" : "ok", num, backend);
	return failed;
}

/* IOMMU_GET_HW_INFO through a bound cdev: the IOMMU's identity as iommufd reports it. */
static int hw_info(const char *bdf, int print)
{
	struct ctx c;
	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hw_info info = { .size = sizeof(info) };
	int ret = -1;

	failmsg[0] = 0;
	if (ctx_open(&c, "iommufd", bdf))
		goto out;
	info.dev_id = c.devid;
	info.data_len = sizeof(smmu);
	info.data_uptr = (uintptr_t)&smmu;
	if (ioctl(c.iommufd, IOMMU_GET_HW_INFO, &info)) {
		fail("IOMMU_GET_HW_INFO: %s", strerror(errno));
		goto out;
	}
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

int main(int argc, char **argv)
{
	static const char *const all[] = { "iommufd", "iommufd-s2", "type1v2", "compat" };
	const char *const *backends = all;
	int nb = 4, failed = 0;
	char bdf[32];

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 2 && !strcmp(argv[1], "-d")) {
		if (strlen(argv[2]) >= sizeof(bdf) || !is_edu(argv[2])) {
			fprintf(stderr, "vfio-edu: %s is not an edu device (1234:11e8)\n", argv[2]);
			return 2;
		}
		snprintf(bdf, sizeof(bdf), "%s", argv[2]);
		argv += 2;
		argc -= 2;
	} else {
		bdf[0] = 0;
	}
	if (argc < 2 || (strcmp(argv[1], "test") && strcmp(argv[1], "info"))) {
		fprintf(stderr, "usage: vfio-edu [-d BDF] test [iommufd|iommufd-s2|type1v2|compat]... "
			"| info\n");
		return 2;
	}
	if (!bdf[0] && find_edu(bdf)) {
		fprintf(stderr, "vfio-edu: no edu device (1234:11e8) found\n");
		return 1;
	}
	pages = mmap(NULL, 5 * PAGE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_LOCKED, -1, 0);
	if (pages == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
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
		return 0;
	}
	if (argc > 2) {
		backends = (const char *const *)argv + 2;
		nb = argc - 2;
	}
	printf("KTAP version 1\n1..%d\n", nb + 1);
	if (hw_info(bdf, 0)) {
		printf("# hw_info: %s\nnot ok 1 hw_info\n", failmsg);
		failed = 1;
	} else {
		printf("ok 1 hw_info\n");
	}
	for (int i = 0; i < nb; i++)
		failed |= run_backend(backends[i], bdf, i + 2);
	return failed;
}
