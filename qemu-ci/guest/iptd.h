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

#endif
