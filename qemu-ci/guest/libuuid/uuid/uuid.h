/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one libuuid function the kernel's VFIO selftests library calls
 * (uuid_parse(), for SR-IOV VF tokens), so that it links statically for the
 * arm64 guest without a cross-built libuuid. Same interface as libuuid's.
 */
#ifndef IOMMU_RS_UUID_H
#define IOMMU_RS_UUID_H

typedef unsigned char uuid_t[16];

/* Parse "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into uu: 0, or -1 if in is not one. */
int uuid_parse(const char *in, uuid_t uu);

#endif /* IOMMU_RS_UUID_H */
