// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-lib.h: the VFIO plumbing the guest test programs in qemu-ci/guest
 * share.
 *
 * A PCI function is bound to vfio-pci and opened through one of the VFIO
 * back ends:
 *
 *   iommufd    - the device cdev, VFIO_DEVICE_BIND_IOMMUFD, an IOAS
 *   iommufd-s2 - the same, attached to an IOMMU_HWPT_ALLOC_NEST_PARENT HWPT on
 *                the IOAS (a stage 2 domain on SMMUv3)
 *   iommufd-pasid - the same, attached to an IOMMU_HWPT_ALLOC_PASID HWPT on
 *                the IOAS (a domain that may also be attached to PASIDs)
 *   type1v2    - the legacy group + /dev/vfio/vfio container
 *   compat     - the group with /dev/iommu as its container (iommufd's
 *                type1 compatibility layer)
 *
 * with DMA map/unmap, region mmap, eventfd interrupts, hugetlb pages, the
 * device's StreamIDs as the firmware maps them, and a KTAP runner for one
 * back end's tests. Each guest program is one translation unit that
 * includes this header first; everything here is static, and functions are
 * inline, so that a program need not use all of it.
 */
#ifndef VFIO_LIB_H
#define VFIO_LIB_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
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

/* Why the current test failed; the KTAP output carries it. */
static char failmsg[512];

/* Record why the current test failed; returns -1. */
static inline __attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(failmsg, sizeof(failmsg), fmt, ap);
	va_end(ap);
	return -1;
}

#define CHECK(cond, ...) do { if (!(cond)) return fail(__VA_ARGS__); } while (0)

/* Record why the current test cannot run here; returns 1 (a vfio_test's "skipped"). */
static inline __attribute__((format(printf, 1, 2))) int skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(failmsg, sizeof(failmsg), fmt, ap);
	va_end(ap);
	return 1;
}

static inline int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

static inline int read_hex(const char *path, unsigned long *val)
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

/* The PCI function a program drives: its name in messages and its IDs. */
struct pci_id {
	const char *name;
	unsigned long vendor, device;
};

/* Whether the PCI device bdf has the vendor and device ID of id. */
static inline int pci_is(const char *bdf, const struct pci_id *id)
{
	char path[256];
	unsigned long v, dv;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vendor", bdf);
	if (read_hex(path, &v))
		return 0;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/device", bdf);
	if (read_hex(path, &dv))
		return 0;
	return v == id->vendor && dv == id->device;
}

/* Find the id device with the lowest BDF; returns 0 and its BDF, or -1. */
static inline int pci_find(const struct pci_id *id, char bdf[32])
{
	DIR *d = opendir("/sys/bus/pci/devices");
	struct dirent *e;
	int found = -1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || !pci_is(e->d_name, id))
			continue;
		if (found || strcmp(e->d_name, bdf) < 0)
			snprintf(bdf, 32, "%s", e->d_name);
		found = 0;
	}
	closedir(d);
	return found;
}

/* "-s SID": the StreamID the user gave for the device, instead of the firmware's; -1 if none. */
static long sid_arg = -1;

/*
 * "-d BDF" and "-s SID" at the front of the arguments name the device to
 * test and the StreamID its DMA carries (for a board whose firmware mapping
 * this program cannot read): take them off argv into bdf (else "") and
 * sid_arg. Returns 0, or 2 (the exit status) if BDF is not an id device or
 * SID not a number.
 */
static inline int pci_dev_arg(const char *prog, const struct pci_id *id, int *argc, char ***argv,
			      char bdf[32])
{
	char **av = *argv, *end;

	bdf[0] = 0;
	while (*argc > 2 && (!strcmp(av[1], "-d") || !strcmp(av[1], "-s"))) {
		if (!strcmp(av[1], "-s")) {
			sid_arg = strtol(av[2], &end, 0);
			if (*end || !*av[2] || sid_arg < 0 || sid_arg > 0xffffffffL) {
				fprintf(stderr, "%s: -s %s is not a StreamID\n", prog, av[2]);
				return 2;
			}
		} else if (strlen(av[2]) >= 32 || !pci_is(av[2], id)) {
			fprintf(stderr, "%s: %s is not an %s device (%04lx:%04lx)\n", prog, av[2],
				id->name, id->vendor, id->device);
			return 2;
		} else {
			snprintf(bdf, 32, "%s", av[2]);
		}
		av[2] = av[0];
		av += 2;
		*argc -= 2;
	}
	*argv = av;
	return 0;
}

/* Without "-d", the id device with the lowest BDF. Returns 0, or 1 if there is none. */
static inline int pci_dev_default(const char *prog, const struct pci_id *id, char bdf[32])
{
	if (bdf[0] || !pci_find(id, bdf))
		return 0;
	fprintf(stderr, "%s: no %s device (%04lx:%04lx) found\n", prog, id->name, id->vendor,
		id->device);
	return 1;
}

/* The PCI requester ID (bus << 8 | devfn) of "DDDD:BB:DD.F", or -1. */
static inline int pci_rid(const char *bdf)
{
	unsigned int seg, bus, dev, fn;

	if (sscanf(bdf, "%x:%x:%x.%x", &seg, &bus, &dev, &fn) != 4 || bus > 255 || dev > 31 ||
	    fn > 7)
		return -1;
	return bus << 8 | dev << 3 | fn;
}

/*
 * The requester ID the DMA of PCI device bdf also carries, as Linux's
 * pci_for_each_dma_alias() finds it: behind a PCIe-to-PCI bridge, the
 * bridge's secondary bus with devfn 0 (the bridge takes ownership of the
 * transaction). -1 if none. Read from the upstream bridge's config space.
 */
static inline int pci_bridge_alias(const char *bdf)
{
	char path[512], up[512], *slash;
	uint8_t cfg[256];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (!realpath(path, up) || !(slash = strrchr(up, '/')))
		return -1;
	*slash = 0;			/* the parent: a bridge, or the host bridge's pciDDDD:BB */
	snprintf(path, sizeof(path), "%s/config", up);
	fd = open(path, O_RDONLY);
	if (fd >= 0) {
		n = read(fd, cfg, sizeof(cfg));
		close(fd);
	}
	if (n < 64 || (cfg[0x0e] & 0x7f) != 1)	/* not a type 1 (bridge) header */
		return -1;
	for (unsigned int pos = cfg[0x34] & ~3u, hops = 48; pos && pos + 4 <= (unsigned)n && hops--;
	     pos = cfg[pos + 1] & ~3u) {
		if (cfg[pos] == 0x10)	/* PCI Express: type 7 is a PCIe-to-PCI bridge */
			return ((cfg[pos + 2] >> 4) & 0xf) == 7 ? cfg[0x19] << 8 : -1;
	}
	return -1;
}

/* Big-endian 32-bit cell i of a device tree property. */
static inline uint32_t dt_cell(const uint8_t *p, int i)
{
	return (uint32_t)p[4 * i] << 24 | p[4 * i + 1] << 16 | p[4 * i + 2] << 8 | p[4 * i + 3];
}

/*
 * rid through the iommu-map of the device tree node of the PCI host bridge
 * above bdf (<rid-base iommu sid-base length>..., after iommu-map-mask): the
 * StreamID, or -1 (-2 if there is no such map).
 */
static inline long dt_stream_id(const char *bdf, int rid)
{
	char path[512], dir[512], *slash;
	uint8_t map[1024];
	uint32_t mask = 0xffffffff;
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (!realpath(path, dir))
		return -2;
	/* Up the sysfs tree to the host bridge's platform device, which has the of_node. */
	while ((slash = strrchr(dir, '/')) && slash != dir) {
		*slash = 0;
		snprintf(path, sizeof(path), "%s/of_node/iommu-map", dir);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, map, sizeof(map));
		close(fd);
		snprintf(path, sizeof(path), "%s/of_node/iommu-map-mask", dir);
		fd = open(path, O_RDONLY);
		if (fd >= 0) {
			uint8_t m[4];

			if (read(fd, m, 4) == 4)
				mask = dt_cell(m, 0);
			close(fd);
		}
		break;
	}
	if (n < 16)
		return -2;
	rid &= mask;
	for (int i = 0; (i + 4) * 4 <= n; i += 4) {
		uint32_t base = dt_cell(map, i), out = dt_cell(map, i + 2), len = dt_cell(map, i + 3);

		if ((uint32_t)rid >= base && (uint32_t)rid - base < len)
			return out + (rid - base);
	}
	return -1;
}

/*
 * The ACPI IORT, read into a static buffer: its length, node count and first
 * node's offset. NULL if there is none (*why = -2) or it is malformed
 * (*why = -1).
 */
static inline const uint8_t *iort_table(uint32_t *len, uint32_t *count, uint32_t *off,
					int *why)
{
	static uint8_t t[65536];
	int fd = open("/sys/firmware/acpi/tables/IORT", O_RDONLY);
	ssize_t n;

	*why = -2;
	if (fd < 0)
		return NULL;
	n = read(fd, t, sizeof(t));
	close(fd);
	*why = -1;
	if (n < 48)
		return NULL;
	memcpy(len, t + 4, 4);
	memcpy(count, t + 36, 4);
	memcpy(off, t + 40, 4);
	if (*len != (uint32_t)n)
		return NULL;
	return t;
}

/*
 * rid of PCI segment seg through the ACPI IORT: a root complex node's ID
 * mapping whose output is an SMMUv3 node. The StreamID, or -1 (-2 if there
 * is no IORT).
 */
static inline long iort_stream_id(int seg, int rid)
{
	uint32_t len, count, off;
	int why;
	const uint8_t *t = iort_table(&len, &count, &off, &why);

	if (!t)
		return why;
	for (uint32_t i = 0; i < count && off + 16 <= len; i++) {
		uint16_t node_len;
		uint32_t nmaps, maps, rc_seg;

		memcpy(&node_len, t + off + 1, 2);
		if (node_len < 16 || off + node_len > len)
			return -1;
		memcpy(&nmaps, t + off + 8, 4);
		memcpy(&maps, t + off + 12, 4);
		/* Root complex: segment after the memory properties and ATS attribute. */
		memcpy(&rc_seg, t + off + 28, 4);
		if (t[off] == 2 && (int)rc_seg == seg) {
			for (uint32_t j = 0; j < nmaps && off + maps + 20 * (j + 1) <= len; j++) {
				const uint8_t *e = t + off + maps + 20 * j;
				uint32_t in, num, out, ref;

				memcpy(&in, e, 4);
				memcpy(&num, e + 4, 4);	/* the number of IDs, minus one */
				memcpy(&out, e + 8, 4);
				memcpy(&ref, e + 12, 4);
				if (ref + 1 <= len && t[ref] == 4 && (uint32_t)rid >= in &&
				    (uint32_t)rid - in <= num)
					return out + (rid - in);
			}
		}
		off += node_len;
	}
	return -1;
}

/*
 * The StreamIDs of PCI device bdf's DMA, as its firmware maps them (device
 * tree iommu-map, else ACPI IORT): its requester ID's, then the PCIe-to-PCI
 * bridge alias's if it has one. Returns how many (at most 2), or -1 and
 * failmsg. *fw says where they came from.
 */
static inline int pci_stream_ids(const char *bdf, uint32_t sids[2], const char **fw)
{
	int rids[2] = { pci_rid(bdf), pci_bridge_alias(bdf) }, nr = 0;
	unsigned int seg = 0;

	CHECK(rids[0] >= 0, "'%s' is not a PCI address", bdf);
	sscanf(bdf, "%x:", &seg);
	for (int i = 0; i < 2; i++) {
		long sid;

		if (rids[i] < 0)
			continue;
		*fw = "device tree iommu-map";
		sid = dt_stream_id(bdf, rids[i]);
		if (sid == -2) {
			*fw = "ACPI IORT";
			sid = iort_stream_id(seg, rids[i]);
		}
		CHECK(sid >= 0, "the firmware maps no StreamID for %s's requester ID %#x (%s)", bdf,
		      rids[i], sid == -2 ? "neither a device tree iommu-map nor an IORT" : *fw);
		sids[nr++] = sid;
	}
	return nr;
}

/* pci_stream_ids(), or the one StreamID of "-s SID". */
static inline int device_stream_ids(const char *bdf, uint32_t sids[2], const char **fw)
{
	if (sid_arg < 0)
		return pci_stream_ids(bdf, sids, fw);
	sids[0] = sid_arg;
	*fw = "-s";
	return 1;
}

/* Bind the device to vfio-pci (idempotent). */
static inline int bind_vfio(const char *bdf)
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
static inline int cdev_path(const char *bdf, char *out, size_t len)
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

static inline int group_number(const char *bdf)
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

/* One open VFIO device with its DMA back end. */
struct ctx {
	const char *backend;
	int iommufd, container, group, dev;
	uint32_t ioas, devid;
	volatile uint8_t *bar;	/* BAR0 */
	size_t bar_size;
	uint64_t cfg;		/* offset of the config space region in dev */
};

static inline int ctx_map(struct ctx *c, void *va, uint64_t iova, size_t len)
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

static inline int ctx_unmap(struct ctx *c, uint64_t iova, size_t len)
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

static inline void ctx_close(struct ctx *c)
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

/* mmap the whole of region index (a BAR) of the device; NULL (and failmsg) if it fails. */
static inline volatile uint8_t *ctx_mmap_region(struct ctx *c, unsigned int index, size_t *size)
{
	struct vfio_region_info reg = { .argsz = sizeof(reg), .index = index };
	void *p;

	if (ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &reg)) {
		fail("BAR%u region info: %s", index, strerror(errno));
		return NULL;
	}
	p = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, c->dev, reg.offset);
	if (p == MAP_FAILED) {
		fail("mmap BAR%u: %s", index, strerror(errno));
		return NULL;
	}
	*size = reg.size;
	return p;
}

/* Read len bytes of the device's config space at off. */
static inline int ctx_cfg_read(struct ctx *c, unsigned int off, void *buf, size_t len)
{
	CHECK(pread(c->dev, buf, len, c->cfg + off) == (ssize_t)len,
	      "read config space at %#x: %s", off, strerror(errno));
	return 0;
}

/*
 * Open the device through the chosen back end, map BAR0, enable memory
 * space and bus mastering. On failure the caller still calls ctx_close().
 */
/*
 * Allocates a paging HWPT with @flags (IOMMU_HWPT_ALLOC_*, named @what in
 * messages) on @c's IOAS for its device and attaches the device's RID to it,
 * the IOAS's mappings staying; *id: the HWPT.
 */
static inline int hwpt_attach(struct ctx *c, uint32_t flags, const char *what, uint32_t *id)
{
	struct iommu_hwpt_alloc a = {
		.size = sizeof(a), .flags = flags, .dev_id = c->devid,
		.pt_id = c->ioas, .data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	CHECK(!ioctl(c->iommufd, IOMMU_HWPT_ALLOC, &a), "IOMMU_HWPT_ALLOC(%s): %s", what,
	      strerror(errno));
	*id = at.pt_id = a.out_hwpt_id;
	CHECK(!ioctl(c->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(%s): %s", what, strerror(errno));
	return 0;
}

/* hwpt_attach() of a NEST_PARENT (stage 2) HWPT. */
static inline int nest_parent_attach(struct ctx *c, uint32_t *id)
{
	return hwpt_attach(c, IOMMU_HWPT_ALLOC_NEST_PARENT, "NEST_PARENT", id);
}

static inline int ctx_open(struct ctx *c, const char *backend, const char *bdf)
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
		if (!strcmp(backend, "iommufd-s2")) {
			uint32_t s2;

			if (nest_parent_attach(c, &s2))
				return -1;
		} else if (!strcmp(backend, "iommufd-pasid")) {
			uint32_t hwpt;

			if (hwpt_attach(c, IOMMU_HWPT_ALLOC_PASID, "PASID", &hwpt))
				return -1;
		} else {
			at.pt_id = c->ioas;
			CHECK(!ioctl(c->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
			      "VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s", strerror(errno));
		}
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

	c->bar = ctx_mmap_region(c, VFIO_PCI_BAR0_REGION_INDEX, &c->bar_size);
	if (!c->bar)
		return -1;

	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	CHECK(!ioctl(c->dev, VFIO_DEVICE_GET_REGION_INFO, &reg), "config region info: %s",
	      strerror(errno));
	c->cfg = reg.offset;
	CHECK(pread(c->dev, &cmd, 2, c->cfg + 4) == 2, "read PCI_COMMAND");
	cmd |= 0x6; /* memory space + bus master */
	CHECK(pwrite(c->dev, &cmd, 2, c->cfg + 4) == 2, "write PCI_COMMAND");
	return 0;
}

static inline const char *irq_index_name(unsigned int index)
{
	switch (index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		return "INTx";
	case VFIO_PCI_MSI_IRQ_INDEX:
		return "MSI";
	case VFIO_PCI_MSIX_IRQ_INDEX:
		return "MSI-X";
	}
	return "IRQ";
}

/*
 * Trigger eventfds fds[0..n-1] for vectors 0..n-1 of IRQ index (MSI, MSI-X),
 * or with n == 0 tear the index's interrupts down.
 */
static inline int set_irqs(struct ctx *c, unsigned int index, const int *fds, unsigned int n)
{
	char buf[sizeof(struct vfio_irq_set) + 32 * sizeof(int)];
	struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

	CHECK(n <= 32, "set_irqs: %u vectors is too many", n);
	memset(buf, 0, sizeof(buf));
	set->argsz = sizeof(*set) + n * sizeof(int);
	set->index = index;
	set->start = 0;
	set->count = n;
	if (n) {
		set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		memcpy(set->data, fds, n * sizeof(int));
	} else {
		set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
	}
	CHECK(!ioctl(c->dev, VFIO_DEVICE_SET_IRQS, set), "VFIO_DEVICE_SET_IRQS (%s %s): %s",
	      irq_index_name(index), n ? "on" : "off", strerror(errno));
	return 0;
}

/* How many times eventfd fd fired, waiting up to ms for the first (0: none). */
static inline uint64_t wait_irq(int fd, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	uint64_t count = 0;

	if (poll(&pfd, 1, ms) == 1 && read(fd, &count, sizeof(count)) == sizeof(count))
		return count;
	return 0;
}

/* One test of a back end; returns 0, -1 with failmsg set, or 1 (skip()) with the reason. */
struct vfio_test {
	const char *name;
	int (*fn)(struct ctx *c);
};

/* What a program runs against each back end. */
struct vfio_suite {
	/* Open the device through backend and prepare it for the tests. */
	int (*setup)(struct ctx *c, const char *backend, const char *bdf);
	/* Undo what setup did beyond ctx_open() (optional; before ctx_close()). */
	void (*teardown)(struct ctx *c);
	const struct vfio_test *tests;
	size_t ntests;
};

/*
 * Run every test of s against one back end as KTAP subtest number num.
 * Returns whether any failed.
 */
static inline int run_suite(const struct vfio_suite *s, const char *backend, const char *bdf,
			    int num)
{
	struct ctx c;
	int failed = 0;

	printf("    # Subtest: %s\n    1..%zu\n", backend, s->ntests);
	failmsg[0] = 0;
	if (s->setup(&c, backend, bdf)) {
		for (size_t i = 0; i < s->ntests; i++)
			printf("    not ok %zu %s # setup failed: %s\n", i + 1, s->tests[i].name,
			       failmsg);
		failed = 1;
	} else {
		for (size_t i = 0; i < s->ntests; i++) {
			int r;

			failmsg[0] = 0;
			r = s->tests[i].fn(&c);
			if (r > 0) {
				printf("    ok %zu %s # SKIP %s\n", i + 1, s->tests[i].name, failmsg);
			} else if (r) {
				failed = 1;
				printf("    # %s: %s\n    not ok %zu %s\n", s->tests[i].name, failmsg,
				       i + 1, s->tests[i].name);
			} else {
				printf("    ok %zu %s\n", i + 1, s->tests[i].name);
			}
		}
	}
	if (s->teardown)
		s->teardown(&c);
	ctx_close(&c);
	printf("%s %d %s\n", failed ? "not ok" : "ok", num, backend);
	return failed;
}

/* One case of a program's own KTAP plan (see ktap_program()). */
struct ktap_case {
	const char *name;
	int (*fn)(void);
};

/*
 * The frame of a guest program with one KTAP plan over one PCI function:
 * "prog [-d BDF] [-s SID] test", the device found by id by default, setup()
 * on it (a failure fails every case), then each case: it fails below 0 and
 * is skipped above (see skip()), with failmsg as the reason; with chained,
 * the cases after a failed one fail without running. teardown() ends it
 * either way. Returns the exit status.
 */
static inline int ktap_program(const char *prog, const struct pci_id *id, int argc, char **argv,
			       char bdf[32], int (*setup)(const char *bdf), void (*teardown)(void),
			       const struct ktap_case *cases, size_t n, int chained)
{
	int failed = 0, r;

	if (pci_dev_arg(prog, id, &argc, &argv, bdf))
		return 2;
	if (argc != 2 || strcmp(argv[1], "test")) {
		fprintf(stderr, "usage: %s [-d BDF] [-s SID] test\n", prog);
		return 2;
	}
	if (pci_dev_default(prog, id, bdf))
		return 1;
	printf("KTAP version 1\n1..%zu\n", n);
	failmsg[0] = 0;
	if (setup(bdf)) {
		printf("# setup: %s\n", failmsg);
		for (size_t i = 0; i < n; i++)
			printf("not ok %zu %s # setup failed\n", i + 1, cases[i].name);
		teardown();
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		failmsg[0] = 0;
		if (chained && failed) {
			printf("not ok %zu %s # an earlier case failed\n", i + 1, cases[i].name);
			continue;
		}
		r = cases[i].fn();
		if (r < 0) {
			printf("# %s: %s\nnot ok %zu %s\n", cases[i].name, failmsg, i + 1, cases[i].name);
			failed = 1;
		} else if (r > 0) {
			printf("ok %zu %s # SKIP %s\n", i + 1, cases[i].name, failmsg);
		} else {
			printf("ok %zu %s\n", i + 1, cases[i].name);
		}
	}
	teardown();
	return failed;
}

/*
 * Whether the firmware says the PCI root complex makes device DMA write-back
 * cacheable and shareable whatever the device asks for: the CANWBS bit of the
 * root complex node's memory access flags in the ACPI IORT (1), not (0), or
 * no IORT to read (0: a device tree cannot say it), -1 on a malformed table.
 */
static inline int firmware_canwbs(void)
{
	uint32_t len, count, off, i;
	int why, canwbs = 0;
	const uint8_t *t = iort_table(&len, &count, &off, &why);

	if (!t)
		return why == -2 ? 0 : -1;
	for (i = 0; i < count; i++) {
		uint16_t node_len;

		if (off + 24 > len)
			return -1;
		memcpy(&node_len, t + off + 1, 2);
		if (node_len < 16 || off + node_len > len)
			return -1;
		/* Root complex node: memory access flags after header, CCA, AH, reserved. */
		if (t[off] == 2 && (t[off + 23] & 0x4))
			canwbs = 1;
		off += node_len;
	}
	return canwbs;
}

/* STE word 0 of a vSTE: valid, stage 1 bypass (the guest's IPA is the IOVA). */
#define VSTE0_BYPASS	(1ULL | 4ULL << 1)
/* The virtual StreamID the guest programs give their device. */
#define VSID		0x42

/*
 * What a VMM makes for a guest whose vIOMMU bypasses stage 1: on @c's
 * device, a vIOMMU on the NEST_PARENT HWPT @parent, a vDEVICE with VSID, and
 * a nested HWPT with a bypass vSTE (with the fault queue @fault_id unless 0),
 * the device attached to it. Returns 0, skip() where there is no vIOMMU
 * (EOPNOTSUPP: a device tree boot or a root complex without CANWBS) or
 * fail(); the objects made are in *viommu, *vdev and *nested (0 if not).
 */
static inline int nested_bypass_attach(struct ctx *c, uint32_t parent, uint32_t fault_id,
				       uint32_t *viommu, uint32_t *vdev, uint32_t *nested)
{
	struct iommu_viommu_alloc va = {
		.size = sizeof(va), .type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3, .dev_id = c->devid,
		.hwpt_id = parent,
	};
	struct iommu_vdevice_alloc vd = { .size = sizeof(vd), .dev_id = c->devid,
					  .virt_id = VSID };
	struct iommu_hwpt_arm_smmuv3 vste = { .ste = { VSTE0_BYPASS, 0 } };
	struct iommu_hwpt_alloc na = {
		.size = sizeof(na),
		.flags = fault_id ? IOMMU_HWPT_FAULT_ID_VALID : 0,
		.dev_id = c->devid,
		.data_type = IOMMU_HWPT_DATA_ARM_SMMUV3,
		.data_len = sizeof(vste),
		.data_uptr = (uintptr_t)&vste,
		.fault_id = fault_id,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	*viommu = *vdev = *nested = 0;
	if (ioctl(c->iommufd, IOMMU_VIOMMU_ALLOC, &va)) {
		if (errno != EOPNOTSUPP)
			return fail("IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
		return skip("no vIOMMU here (EOPNOTSUPP: a device tree boot, or a root complex "
			    "without CANWBS)");
	}
	*viommu = va.out_viommu_id;
	vd.viommu_id = *viommu;
	if (ioctl(c->iommufd, IOMMU_VDEVICE_ALLOC, &vd))
		return fail("IOMMU_VDEVICE_ALLOC: %s", strerror(errno));
	*vdev = vd.out_vdevice_id;
	na.pt_id = *viommu;
	if (ioctl(c->iommufd, IOMMU_HWPT_ALLOC, &na))
		return fail("IOMMU_HWPT_ALLOC(nested%s): %s", fault_id ? ", FAULT_ID_VALID" : "",
			    strerror(errno));
	*nested = na.out_hwpt_id;
	at.pt_id = *nested;
	if (ioctl(c->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at))
		return fail("ATTACH(nested HWPT): %s", strerror(errno));
	return 0;
}

/*
 * A populated hugetlb page of size bytes (2 MiB, 1 GiB) from the pool the
 * kernel reserved (hugepagesz= hugepages=), or NULL with *why = skip() (none
 * is reserved) or fail() (one could not be had).
 */
static inline void *huge_alloc(size_t size, int *why)
{
	char path[96];
	unsigned long reserved = 0;
	void *p;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/nr_hugepages",
		 size >> 10);
	if (read_hex(path, &reserved) || !reserved) {
		*why = skip("no %zu MiB hugepages reserved (%s; kernel parameters hugepagesz=%zu%s "
		     "hugepages=N)", size >> 20, path, size >> 30 ? size >> 30 : size >> 20,
		     size >> 30 ? "G" : "M");
		return NULL;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
		 MAP_POPULATE | ((__builtin_ctzl(size)) << MAP_HUGE_SHIFT), -1, 0);
	if (p == MAP_FAILED) {
		*why = fail("mmap of a %zu MiB hugepage: %s (%lu reserved, all in use?)", size >> 20,
		     strerror(errno), reserved);
		return NULL;
	}
	return p;
}

/* Physical address of a (locked, populated) user page, or 0. */
static inline uint64_t phys_of(void *va)
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

#endif /* VFIO_LIB_H */

/*
 * A fail-nth sweep: a sequence of ioctls runs again and again with
 * /proc/thread-self/fail-nth set to 1, 2, ...: the Nth allocation the kernel
 * makes for this thread (slab or page: failslab and fail_page_alloc are
 * opened to sleeping and order-0 allocations) fails. Each step must then
 * succeed or return an errno. After each run the sequence is undone with
 * nothing injected, and every object must go (nothing kept a reference it
 * should not). The sweep ends at the first N the sequence does not reach;
 * that run must have succeeded whole. The host fails the boot on any kernel
 * report (WARN, oops, lockdep, KASAN, and kmemleak's scan at the end).
 */
struct failnth_seq {
	const char *const *names;	/* of the steps */
	int steps;
	void *ctx;
	/* Forget what the last run made. */
	void (*reset)(void *ctx);
	/* One run: returns the step that failed (its errno in *err), or steps. */
	int (*run)(void *ctx, int *err);
	/* Undo the run, nothing injected: 0 if every object went. */
	int (*undo)(void *ctx);
};

#define FAILNTH_MAX_RUNS 20000

static inline int failnth_write(int fd, unsigned int n)
{
	char b[16];
	int l = snprintf(b, sizeof(b), "%u", n);

	return pwrite(fd, b, l, 0) == l ? 0 : -1;
}

static inline int failnth_attrs(void)
{
	static const char *const set[][2] = {
		{ "failslab/ignore-gfp-wait", "N" },
		{ "failslab/verbose", "0" },
		{ "fail_page_alloc/ignore-gfp-wait", "N" },
		{ "fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "fail_page_alloc/min-order", "0" },
		{ "fail_page_alloc/verbose", "0" },
	};
	char path[128];

	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++) {
		snprintf(path, sizeof(path), "/sys/kernel/debug/%s", set[i][0]);
		CHECK(!write_str(path, set[i][1]), "%s: %s (a kernel without FAILSLAB, "
		      "FAIL_PAGE_ALLOC and FAULT_INJECTION_DEBUG_FS?)", path, strerror(errno));
	}
	return 0;
}

/* Runs the sweep of @s; prints what failed where as KTAP diagnostics. */
static inline int failnth_sweep(const struct failnth_seq *s)
{
	unsigned int refused_at[64] = { 0 }, errnos[256] = { 0 };
	unsigned int n, refused = 0, absorbed = 0;
	int fd, step, err;
	char buf[16];

	CHECK(s->steps <= 64, "%d steps: at most 64", s->steps);
	if (failnth_attrs())
		return -1;
	fd = open("/proc/thread-self/fail-nth", O_RDWR);
	CHECK(fd >= 0, "/proc/thread-self/fail-nth: %s (no CONFIG_FAULT_INJECTION?)",
	      strerror(errno));
	/* No page faults of ours in the sweep: they would take injected failures. */
	CHECK(!mlockall(MCL_CURRENT | MCL_FUTURE), "mlockall: %s", strerror(errno));
	for (n = 1; n <= FAILNTH_MAX_RUNS; n++) {
		ssize_t r;
		int left;

		err = 0;
		s->reset(s->ctx);
		if (failnth_write(fd, n)) {
			failnth_write(fd, 0);
			return fail("writing %u to fail-nth: %s", n, strerror(errno));
		}
		step = s->run(s->ctx, &err);
		r = pread(fd, buf, sizeof(buf) - 1, 0);
		failnth_write(fd, 0);
		CHECK(r > 0, "reading fail-nth: %s", strerror(errno));
		buf[r] = 0;
		left = atoi(buf);
		if (step < s->steps && !err) {
			s->undo(s->ctx);
			return fail("fail-nth %u: %s failed without an errno", n, s->names[step]);
		}
		if (left) {
			/* Nothing injected: the whole sequence must have worked. */
			CHECK(step == s->steps, "with no failure injected (fail-nth %u), %s: %s", n,
			      s->names[step], strerror(err));
			if (s->undo(s->ctx))
				return -1;
			break;
		}
		if (step < s->steps) {
			refused++;
			refused_at[step]++;
			errnos[err & 0xff]++;
		} else {
			absorbed++;
		}
		if (s->undo(s->ctx)) {
			char why[sizeof(failmsg)];

			snprintf(why, sizeof(why), "%s", failmsg);
			return fail("after fail-nth %u (%s %s): %s", n,
				    step < s->steps ? s->names[step] : "sequence",
				    step < s->steps ? "refused" : "completed", why);
		}
	}
	close(fd);
	munlockall();
	CHECK(n <= FAILNTH_MAX_RUNS, "the sequence still met injected failures after %u runs",
	      n - 1);
	printf("# failnth: %u allocations failed in turn: %u refused with an errno, %u absorbed\n",
	       n - 1, refused, absorbed);
	for (step = 0; step < s->steps; step++)
		if (refused_at[step])
			printf("#   %-40s refused %u times\n", s->names[step], refused_at[step]);
	for (err = 1; err < 256; err++)
		if (errnos[err])
			printf("#   errno %d (%s): %u times\n", err, strerror(err), errnos[err]);
	CHECK(refused, "no injected failure made any step fail: is fault injection working?");
	return 0;
}
