// SPDX-License-Identifier: GPL-2.0

#include <linux/iommu.h>
#include <linux/pci.h>

/* The IOMMU drivers' helpers of dma-iommu.c, declared in its private header. */
#include "../../drivers/iommu/dma-iommu.h"

#ifdef CONFIG_IOMMU_API

__rust_helper struct iommu_fwspec *rust_helper_dev_iommu_fwspec_get(struct device *dev)
{
	return dev_iommu_fwspec_get(dev);
}

__rust_helper void *rust_helper_dev_iommu_priv_get(struct device *dev)
{
	return dev_iommu_priv_get(dev);
}

__rust_helper void rust_helper_iommu_iotlb_gather_init(struct iommu_iotlb_gather *gather)
{
	iommu_iotlb_gather_init(gather);
}

__rust_helper void rust_helper_iommu_iotlb_gather_add_range(struct iommu_iotlb_gather *gather,
							   unsigned long iova, size_t size)
{
	iommu_iotlb_gather_add_range(gather, iova, size);
}

__rust_helper void rust_helper_iommu_iotlb_gather_add_page(struct iommu_domain *domain,
							  struct iommu_iotlb_gather *gather,
							  unsigned long iova, size_t size)
{
	iommu_iotlb_gather_add_page(domain, gather, iova, size);
}

__rust_helper bool rust_helper_iommu_iotlb_gather_is_disjoint(struct iommu_iotlb_gather *gather,
							     unsigned long iova, size_t size)
{
	return iommu_iotlb_gather_is_disjoint(gather, iova, size);
}

__rust_helper void rust_helper_iommu_iotlb_sync(struct iommu_domain *domain,
					       struct iommu_iotlb_gather *iotlb_gather)
{
	iommu_iotlb_sync(domain, iotlb_gather);
}

__rust_helper void rust_helper_iommu_flush_iotlb_all(struct iommu_domain *domain)
{
	iommu_flush_iotlb_all(domain);
}

__rust_helper void rust_helper_iommu_dirty_bitmap_init(struct iommu_dirty_bitmap *dirty,
						      struct iova_bitmap *bitmap,
						      struct iommu_iotlb_gather *gather)
{
	iommu_dirty_bitmap_init(dirty, bitmap, gather);
}

__rust_helper void rust_helper_iommu_dirty_bitmap_record(struct iommu_dirty_bitmap *dirty,
							unsigned long iova,
							unsigned long length)
{
	iommu_dirty_bitmap_record(dirty, iova, length);
}

__rust_helper void rust_helper_iommu_dma_get_resv_regions(struct device *dev,
							  struct list_head *list)
{
	iommu_dma_get_resv_regions(dev, list);
}

#ifdef CONFIG_PCI

__rust_helper int rust_helper_pci_domain_nr(struct pci_bus *bus)
{
	return pci_domain_nr(bus);
}

__rust_helper struct pci_dev *rust_helper_pci_physfn(struct pci_dev *dev)
{
	return pci_physfn(dev);
}

#endif /* CONFIG_PCI */

#endif /* CONFIG_IOMMU_API */
