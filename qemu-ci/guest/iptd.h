// SPDX-License-Identifier: GPL-2.0
/*
 * iptd.h: iommu-pcie-testdev, the PCIe test endpoint of the project QEMU's
 * SMMUv3 model series (QEMU's include/hw/misc/iommu-pcie-testdev.h,
 * Documentation/iommu-rs/qemu-model.rst): its IDs, the offsets of its
 * PASID, ATS and PRI capabilities, its BAR0 registers and their values, as
 * the smmu-model-* programs drive it. Include after vfio-lib.h.
 */
#ifndef IPTD_H
#define IPTD_H

#define IPTD_VENDOR		0x1b36
#define IPTD_DEVICE		0x0015

/* Extended capabilities in config space */
#define IPTD_PASID_CAP		0x100
#define IPTD_ATS_CAP		0x110
#define IPTD_PRI_CAP		0x120

/* BAR0: 8 KiB of registers and DMA buffer */
#define IPTD_BAR_SIZE		0x2000

/* BAR0 registers */
#define IPTD_FEATURES		0x04
#define IPTD_DMA_ADDR		0x08
#define IPTD_DMA_LEN		0x10
#define IPTD_DMA_PASID		0x14
#define IPTD_DMA_CMD		0x18
#define IPTD_DMA_STATUS		0x1c
#define IPTD_ATS_CMD		0x24
#define IPTD_ATS_STATUS		0x28
#define IPTD_ATS_ADDR		0x30
#define IPTD_ATS_PERM		0x38
#define IPTD_ATC_INV_COUNT	0x3c
#define IPTD_ATC_INV_ADDR	0x40
#define IPTD_ATC_INV_MASK	0x48
#define IPTD_ATC_INV_PASID	0x50
#define IPTD_ATC_ENTRIES	0x54
#define IPTD_PRI_CMD		0x58
#define IPTD_PRI_REQ		0x5c
#define IPTD_PRI_STATUS		0x60
#define IPTD_PRI_RESP_CODE	0x64
#define IPTD_PRI_RESP_PRGI	0x68
#define IPTD_PRI_RESP_COUNT	0x70
#define IPTD_PRI_DISCARDED	0x74
#define IPTD_BUF		0x1000

/* Register values */
#define IPTD_FEATURE_ATS	(1u << 1)
#define IPTD_DMA_CMD_TWRITE	4
#define IPTD_ATS_CMD_TRANSLATE	1
#define IPTD_ATS_PERM_READ	(1u << 0)
#define IPTD_ATS_PERM_WRITE	(1u << 1)
#define IPTD_STATUS_OK		0
#define IPTD_STATUS_NO_ACCESS	9
#define IPTD_DMA_CMD_READ	1
#define IPTD_DMA_CMD_WRITE	2
#define IPTD_PASID_VALID	(1u << 31)
#define IPTD_FEATURE_PASID	(1u << 0)
#define IPTD_STATUS_DMA_ERROR	1
#define IPTD_FEATURE_PRI	(1u << 2)
#define IPTD_PRI_CMD_REQUEST	1
#define IPTD_PRI_CMD_BURST	2
#define IPTD_PRI_REQ_READ	(1u << 0)
#define IPTD_PRI_REQ_WRITE	(1u << 1)
#define IPTD_PRI_REQ_LAST	(1u << 2)
#define IPTD_STATUS_PRI_WAITING	11
#define IPTD_STATUS_PRI_SENT	12

static const struct pci_id iptd_id = { "iommu-pcie-testdev", IPTD_VENDOR, IPTD_DEVICE };

/* The 32-bit register at @off of BAR 0, mapped at @bar. */
static inline uint32_t iptd_rd(volatile uint8_t *bar, unsigned int off)
{
	return *(volatile uint32_t *)(bar + off);
}

/* The 64-bit register at @off, as two 32-bit accesses. */
static inline uint64_t iptd_rd64(volatile uint8_t *bar, unsigned int off)
{
	return iptd_rd(bar, off) | (uint64_t)iptd_rd(bar, off + 4) << 32;
}

static inline void iptd_wr(volatile uint8_t *bar, unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(bar + off) = val;
}

/* The DMA address @addr and PASID @pasid (none for 0) of the next command. */
static inline void iptd_set_addr(volatile uint8_t *bar, uint64_t addr, uint32_t pasid)
{
	iptd_wr(bar, IPTD_DMA_ADDR, (uint32_t)addr);
	iptd_wr(bar, IPTD_DMA_ADDR + 4, addr >> 32);
	iptd_wr(bar, IPTD_DMA_PASID, pasid ? IPTD_PASID_VALID | pasid : 0);
}

/* A Translation Request for @addr with @pasid; returns the endpoint's ATS status. */
static inline uint32_t iptd_translate(volatile uint8_t *bar, uint64_t addr, uint32_t pasid)
{
	iptd_set_addr(bar, addr, pasid);
	iptd_wr(bar, IPTD_ATS_CMD, IPTD_ATS_CMD_TRANSLATE);
	return iptd_rd(bar, IPTD_ATS_STATUS);
}

/* A translated write of @tag at @addr with @pasid, through the ATC; the DMA status. */
static inline uint32_t iptd_translated_write(volatile uint8_t *bar, uint64_t addr,
					     uint32_t pasid, uint32_t tag)
{
	iptd_wr(bar, IPTD_BUF, tag);
	iptd_set_addr(bar, addr, pasid);
	iptd_wr(bar, IPTD_DMA_LEN, 4);
	iptd_wr(bar, IPTD_DMA_CMD, IPTD_DMA_CMD_TWRITE);
	return iptd_rd(bar, IPTD_DMA_STATUS);
}

/*
 * @len bytes of the config space of the endpoint at @bdf at @off, read or
 * written (@write) through sysfs: the device itself, not vfio's view of it.
 */
static inline int iptd_cfg_rw(const char *bdf, unsigned int off, void *buf, size_t len,
			      int write)
{
	char path[96];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/config", bdf);
	fd = open(path, write ? O_WRONLY : O_RDONLY);
	CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
	n = write ? pwrite(fd, buf, len, off) : pread(fd, buf, len, off);
	close(fd);
	CHECK(n == (ssize_t)len, "%s %s at %#x: %s", write ? "write" : "read", path, off,
	      strerror(errno));
	return 0;
}

/*
 * BAR 0 of the endpoint at @bdf, which no driver holds, mapped through sysfs,
 * with memory decoding and bus mastering turned on; NULL (failmsg set) if not.
 */
static inline volatile uint8_t *iptd_sysfs_bar(const char *bdf)
{
	char path[96];
	uint16_t cmd;
	void *bar;
	int fd;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC);
	if (fd < 0) {
		fail("open %s: %s", path, strerror(errno));
		return NULL;
	}
	bar = mmap(NULL, IPTD_BAR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (bar == MAP_FAILED) {
		fail("mmap %s: %s", path, strerror(errno));
		return NULL;
	}
	if (iptd_cfg_rw(bdf, 0x04, &cmd, 2, 0))	/* PCI_COMMAND */
		return NULL;
	cmd |= 0x6;	/* PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER */
	if (iptd_cfg_rw(bdf, 0x04, &cmd, 2, 1))
		return NULL;
	return bar;
}

/* One address space of the PASID programs: an IOAS, a PASID-capable HWPT on it, a page at iova. */
struct iptd_space {
	uint32_t ioas, hwpt;
	uint32_t *page;
};

/*
 * Fills *s for @c's device: the IOAS @ioas (a new one if 0), a page filled
 * with @fill mapped at @iova in it, and an HWPT on it that PASIDs can share
 * the device with (IOMMU_HWPT_ALLOC_PASID).
 */
static inline int iptd_space_init(struct ctx *c, struct iptd_space *s, uint32_t ioas,
				  uint64_t iova, uint32_t fill)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt),
		.flags = IOMMU_HWPT_ALLOC_PASID,
		.dev_id = c->devid,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct iommu_ioas_map m = {
		.size = sizeof(m),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.length = PAGE,
		.iova = iova,
	};

	if (!ioas) {
		CHECK(!ioctl(c->iommufd, IOMMU_IOAS_ALLOC, &alloc), "IOMMU_IOAS_ALLOC: %s",
		      strerror(errno));
		ioas = alloc.out_ioas_id;
	}
	s->ioas = ioas;
	s->page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(s->page != MAP_FAILED, "mmap: %s", strerror(errno));
	for (size_t i = 0; i < PAGE / 4; i++)
		s->page[i] = fill;
	m.ioas_id = ioas;
	m.user_va = (uintptr_t)s->page;
	CHECK(!ioctl(c->iommufd, IOMMU_IOAS_MAP, &m), "IOMMU_IOAS_MAP: %s", strerror(errno));
	hwpt.pt_id = ioas;
	CHECK(!ioctl(c->iommufd, IOMMU_HWPT_ALLOC, &hwpt), "IOMMU_HWPT_ALLOC(PASID): %s",
	      strerror(errno));
	s->hwpt = hwpt.out_hwpt_id;
	return 0;
}

/* Attaches @pasid of @c's device (its RID for 0) to the HWPT of *s. */
static inline int iptd_space_attach(struct ctx *c, struct iptd_space *s, uint32_t pasid)
{
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.flags = pasid ? VFIO_DEVICE_ATTACH_PASID : 0,
		.pt_id = s->hwpt,
		.pasid = pasid,
	};

	CHECK(!ioctl(c->dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(pasid %u): %s", pasid, strerror(errno));
	return 0;
}

#endif
