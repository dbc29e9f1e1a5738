// SPDX-License-Identifier: GPL-2.0
/*
 * vsmmu: iommufd's virtual SMMU (vIOMMU of type ARM_SMMUV3) as a VMM drives
 * it, with QEMU's edu device behind the SMMU.
 *
 * The edu is bound to vfio-pci and opened through its cdev; a stage 2
 * (IOMMU_HWPT_ALLOC_NEST_PARENT) HWPT on an IOAS is the parent. Whether a
 * vIOMMU may be allocated is the C driver's rule: both stages (IDR0), and the
 * guest unable to make DMA non-coherent: the firmware says the root complex is
 * CANWBS (ACPI IORT), or the SMMU has S2FWB (IDR3). Where it may not, the
 * allocation must be refused with EOPNOTSUPP and nothing else is checked.
 * Where it may, the vIOMMU and its vDEVICE are checked against the uAPI's
 * rules and torn down in every order the uAPI allows. Output is KTAP.
 *
 * Usage: vsmmu [-d BDF] test
 */
#include "vfio-lib.h"

static const struct pci_id edu_id = { "edu", 0x1234, 0x11e8 };

/* IDR0.S1P and S2P; IDR3.FWB. */
#define IDR0_NESTING 0x3
#define IDR3_FWB (1u << 8)

/* The vSID the tests give the edu. */
#define VSID 0x42

struct vsmmu {
	struct ctx c;
	uint32_t s2;		/* the NEST_PARENT HWPT */
	uint32_t idr[6];
};

static int destroy(int fd, uint32_t id)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(fd, IOMMU_DESTROY, &d);
}

/* Opens the edu on a NEST_PARENT HWPT over a new IOAS, and reads the SMMU's IDRs. */
static int vsmmu_open(struct vsmmu *v, const char *bdf)
{
	struct iommu_hw_info_arm_smmuv3 smmu = { 0 };
	struct iommu_hw_info info = { .size = sizeof(info) };
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt),
		.flags = IOMMU_HWPT_ALLOC_NEST_PARENT,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };

	memset(v, 0, sizeof(*v));
	if (ctx_open(&v->c, "iommufd", bdf))
		return -1;
	info.dev_id = v->c.devid;
	info.data_len = sizeof(smmu);
	info.data_uptr = (uintptr_t)&smmu;
	CHECK(!ioctl(v->c.iommufd, IOMMU_GET_HW_INFO, &info), "IOMMU_GET_HW_INFO: %s",
	      strerror(errno));
	memcpy(v->idr, smmu.idr, sizeof(v->idr));
	if ((v->idr[0] & IDR0_NESTING) != IDR0_NESTING)
		return 0;
	hwpt.dev_id = v->c.devid;
	hwpt.pt_id = v->c.ioas;
	CHECK(!ioctl(v->c.iommufd, IOMMU_HWPT_ALLOC, &hwpt), "IOMMU_HWPT_ALLOC(NEST_PARENT): %s",
	      strerror(errno));
	v->s2 = hwpt.out_hwpt_id;
	at.pt_id = v->s2;
	CHECK(!ioctl(v->c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(NEST_PARENT): %s", strerror(errno));
	return 0;
}

static int viommu_alloc(struct vsmmu *v, uint32_t hwpt, uint32_t *id)
{
	struct iommu_viommu_alloc a = {
		.size = sizeof(a),
		.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3,
		.dev_id = v->c.devid,
		.hwpt_id = hwpt,
	};
	int r = ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &a);

	*id = a.out_viommu_id;
	return r;
}

static int vdevice_alloc(struct vsmmu *v, uint32_t viommu, uint64_t virt_id, uint32_t *id)
{
	struct iommu_vdevice_alloc a = {
		.size = sizeof(a),
		.viommu_id = viommu,
		.dev_id = v->c.devid,
		.virt_id = virt_id,
	};
	int r = ioctl(v->c.iommufd, IOMMU_VDEVICE_ALLOC, &a);

	*id = a.out_vdevice_id;
	return r;
}

/* A vIOMMU of another type than ARM_SMMUV3, or with flags, is refused as the core says. */
static int t_viommu_bad_requests(struct vsmmu *v)
{
	struct iommu_viommu_alloc a = {
		.size = sizeof(a),
		.type = IOMMU_VIOMMU_TYPE_DEFAULT,
		.dev_id = v->c.devid,
		.hwpt_id = v->s2,
	};

	CHECK(ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &a) && errno == EOPNOTSUPP,
	      "vIOMMU of type DEFAULT: %s, not EOPNOTSUPP", strerror(errno));
	a.type = IOMMU_VIOMMU_TYPE_ARM_SMMUV3;
	a.flags = 1;
	CHECK(ioctl(v->c.iommufd, IOMMU_VIOMMU_ALLOC, &a) && errno == EOPNOTSUPP,
	      "vIOMMU with flags: %s, not EOPNOTSUPP", strerror(errno));
	return 0;
}

/* The parent must be a NEST_PARENT HWPT: the IOAS's auto domain is not. */
static int t_viommu_needs_nest_parent(struct vsmmu *v)
{
	struct iommu_hwpt_alloc hwpt = {
		.size = sizeof(hwpt),
		.dev_id = v->c.devid,
		.pt_id = v->c.ioas,
		.data_type = IOMMU_HWPT_DATA_NONE,
	};
	uint32_t id;

	CHECK(!ioctl(v->c.iommufd, IOMMU_HWPT_ALLOC, &hwpt), "IOMMU_HWPT_ALLOC: %s",
	      strerror(errno));
	CHECK(viommu_alloc(v, hwpt.out_hwpt_id, &id) && errno == EINVAL,
	      "vIOMMU on a HWPT that is no NEST_PARENT: %s, not EINVAL",
	      errno ? strerror(errno) : "allocated");
	CHECK(!destroy(v->c.iommufd, hwpt.out_hwpt_id), "IOMMU_DESTROY(HWPT): %s",
	      strerror(errno));
	return 0;
}

/*
 * A vIOMMU and a vDEVICE; what holds what: the vIOMMU holds its parent, the
 * vDEVICE its vIOMMU, and both are refused a second time.
 */
static int t_viommu_vdevice_lifetimes(struct vsmmu *v)
{
	uint32_t viommu, vdev, other;

	CHECK(!viommu_alloc(v, v->s2, &viommu), "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(destroy(v->c.iommufd, v->s2) && errno == EBUSY,
	      "destroying the parent of a vIOMMU: %s, not EBUSY", strerror(errno));
	CHECK(!vdevice_alloc(v, viommu, VSID, &vdev), "IOMMU_VDEVICE_ALLOC(vSID %#x): %s", VSID,
	      strerror(errno));
	CHECK(vdevice_alloc(v, viommu, VSID + 1, &other) && errno == EEXIST,
	      "a second vDEVICE for the device: %s, not EEXIST",
	      errno ? strerror(errno) : "allocated");
	CHECK(destroy(v->c.iommufd, viommu) && errno == EBUSY,
	      "destroying a vIOMMU with a vDEVICE: %s, not EBUSY", strerror(errno));
	CHECK(!destroy(v->c.iommufd, vdev), "IOMMU_DESTROY(vDEVICE): %s", strerror(errno));
	/* The vSID is free again, on a new vDEVICE. */
	CHECK(!vdevice_alloc(v, viommu, VSID, &vdev), "IOMMU_VDEVICE_ALLOC again: %s",
	      strerror(errno));
	CHECK(!destroy(v->c.iommufd, vdev), "IOMMU_DESTROY(vDEVICE): %s", strerror(errno));
	CHECK(!destroy(v->c.iommufd, viommu), "IOMMU_DESTROY(vIOMMU): %s", strerror(errno));
	return 0;
}

/* Two vIOMMUs on one parent, each with its own IDs; closing the iommufd frees them all. */
static int t_viommu_two_and_close(struct vsmmu *v)
{
	uint32_t a, b, vdev;

	CHECK(!viommu_alloc(v, v->s2, &a), "IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(!viommu_alloc(v, v->s2, &b), "a second IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
	CHECK(a != b, "two vIOMMUs with the same ID %u", a);
	CHECK(!vdevice_alloc(v, b, VSID, &vdev), "IOMMU_VDEVICE_ALLOC on the second: %s",
	      strerror(errno));
	/* Left for ctx_close(): closing the iommufd destroys them in the core's order. */
	return 0;
}

struct vcase {
	const char *name;
	int (*fn)(struct vsmmu *v);
};

static const struct vcase cases[] = {
	{ "viommu_bad_requests", t_viommu_bad_requests },
	{ "viommu_needs_nest_parent", t_viommu_needs_nest_parent },
	{ "viommu_vdevice_lifetimes", t_viommu_vdevice_lifetimes },
	{ "viommu_two_and_close", t_viommu_two_and_close },
};

int main(int argc, char **argv)
{
	const size_t n = sizeof(cases) / sizeof(cases[0]);
	struct vsmmu v;
	char bdf[32];
	int canwbs, allowed, failed = 0;
	uint32_t id;

	if (pci_dev_arg("vsmmu", &edu_id, &argc, &argv, bdf))
		return 2;
	if (argc != 2 || strcmp(argv[1], "test")) {
		fprintf(stderr, "usage: vsmmu [-d BDF] test\n");
		return 2;
	}
	if (pci_dev_default("vsmmu", &edu_id, bdf))
		return 1;
	printf("KTAP version 1\n1..%zu\n", n + 1);
	canwbs = firmware_canwbs();
	if (vsmmu_open(&v, bdf) || canwbs < 0) {
		printf("# setup: %s\n", canwbs < 0 ? "malformed IORT" : failmsg);
		for (size_t i = 0; i <= n; i++)
			printf("not ok %zu %s # setup failed\n", i + 1,
			       i ? cases[i - 1].name : "viommu_offered_as_c_does");
		ctx_close(&v.c);
		return 1;
	}
	allowed = (v.idr[0] & IDR0_NESTING) == IDR0_NESTING && (canwbs || (v.idr[3] & IDR3_FWB));

	/* 1: offered exactly where the C driver offers it. */
	failmsg[0] = 0;
	errno = 0;
	if (allowed) {
		if (viommu_alloc(&v, v.s2, &id))
			fail("IOMMU_VIOMMU_ALLOC: %s", strerror(errno));
		else if (destroy(v.c.iommufd, id))
			fail("IOMMU_DESTROY(vIOMMU): %s", strerror(errno));
	} else {
		/* Without nesting there is no NEST_PARENT HWPT: any HWPT will do. */
		if (!viommu_alloc(&v, v.s2 ? v.s2 : v.c.ioas, &id))
			fail("IOMMU_VIOMMU_ALLOC gave vIOMMU %u", id);
		else if (errno != EOPNOTSUPP)
			fail("IOMMU_VIOMMU_ALLOC: %s, not EOPNOTSUPP", strerror(errno));
	}
	failed |= !!failmsg[0];
	if (failmsg[0])
		printf("# viommu_offered_as_c_does: %s\n", failmsg);
	printf("%s 1 viommu_offered_as_c_does # %s: IDR0 %#x, IDR3 %#x, root complex %sCANWBS\n",
	       failmsg[0] ? "not ok" : "ok", allowed ? "offered" : "refused", v.idr[0], v.idr[3],
	       canwbs ? "" : "not ");

	for (size_t i = 0; i < n; i++) {
		int r;

		if (!allowed) {
			printf("ok %zu %s # SKIP no vIOMMU here (refused above, as C does)\n", i + 2,
			       cases[i].name);
			continue;
		}
		failmsg[0] = 0;
		errno = 0;
		r = cases[i].fn(&v);
		failed |= !!r;
		if (r)
			printf("# %s: %s\n", cases[i].name, failmsg);
		printf("%s %zu %s\n", r ? "not ok" : "ok", i + 2, cases[i].name);
	}
	ctx_close(&v.c);
	return failed;
}
