// SPDX-License-Identifier: GPL-2.0
/*
 * smmu-model-pri: Page Requests of iommu-pcie-testdev behind the project QEMU's
 * SMMUv3 with PRI (qemu-ci/run --smmu-features ssid,pri;
 * Documentation/iommu-rs/qemu-model.rst), answered by the kernel's SMMU driver.
 *
 * The endpoint is bound to vfio-pci and opened through its cdev, its RID
 * attached to an IOAS. Unless the kernel enabled its Page Request Interface,
 * the program enables it through the device's config space (as a VMM giving
 * the device to a guest would). A Page Request Group of one request must be
 * answered: the SMMU puts the request in its PRI queue, the driver takes it
 * from there and sends CMD_PRI_RESP, and the endpoint receives the response
 * for that group (any response code: which one is the driver's policy; the
 * code is printed). A group of two requests must be answered once, after its
 * last request. No response may name a group the endpoint does not wait for.
 *
 * Then the IO page fault path to user space, as a VMM uses it: the RID is
 * attached to a HWPT with an iommufd fault queue (IOMMU_FAULT_QUEUE_ALLOC,
 * IOMMU_HWPT_FAULT_ID_VALID), and the kernel must enable PRI on the endpoint. A
 * Page Request for an unmapped page must reach the fault queue (its address,
 * group, access and device) and stay unanswered until user space maps the page
 * and writes Success; the endpoint then gets Success and its DMA to the page
 * lands. A group of two requests is one fault group, answered Invalid Request
 * as user space says. Responses for unknown groups, with undefined codes, or a
 * second one for a group are refused (EINVAL). A group pending when the device
 * leaves the HWPT is answered (Invalid Request) by the kernel: the endpoint
 * never hangs; PRI is then disabled again. Where the kernel gives a vIOMMU
 * (an ACPI boot with a CANWBS root complex), the same fault flows through a
 * nested HWPT (a vDEVICE, a bypass vSTE on a NEST_PARENT HWPT of the IOAS)
 * with the fault queue; and, where the SMMU has SubstreamIDs, through a PASID's
 * HWPT with the fault queue, the fault carrying the PASID. Booted with a
 * 2-entry PRI queue
 * (arm_smmu_v3_rs.priq_log2=1), requests sent back to back must overflow it:
 * the endpoint sees some discarded, the group's last request still reaches the
 * fault queue and its answer the endpoint, and the next group works (the
 * driver acknowledged the overflow). Last, the fail-nth sweep
 * (failnth_sweep() in vfio-lib.h) of the fault queue ioctls: fault queue,
 * HWPT with it, the RID attached to it and back to the IOAS; a page request
 * must then still reach user space and its answer the endpoint.
 * Output is KTAP.
 *
 * Usage: smmu-model-pri [-d BDF] test
 */
#include <poll.h>
#include <time.h>

#include "vfio-lib.h"
#include "iptd.h"

/* PCIe Page Request extended capability */
#define PCI_EXT_CAP_ID_PRI	0x13
#define PCI_PRI_CTRL		0x04
#define PCI_PRI_CTRL_ENABLE	0x0001
#define PCI_PRI_STATUS		0x06
#define PCI_PRI_STATUS_UPRGI	0x0002
#define PCI_PRI_ALLOC_REQ	0x0c

#define IOVA		0x400000UL
/* the fault-queue cases use pages from here, none mapped at first */
#define FAULT_PAGE	16

#define TRY(x) do { if (x) return -1; } while (0)

static struct ctx c;
static char bdf[32];
static int kernel_enabled_pri;
static int fault_fd = -1;
static uint32_t fault_id, fault_hwpt;

static uint32_t rd(unsigned int off)
{
	return *(volatile uint32_t *)(c.bar + off);
}

static void wr(unsigned int off, uint32_t val)
{
	*(volatile uint32_t *)(c.bar + off) = val;
}

/* Config space through sysfs (the device itself, not vfio's virtualized view). */
static int cfg_rw(unsigned int off, void *buf, size_t len, int write)
{
	return iptd_cfg_rw(bdf, off, buf, len, write);
}

static int cfg16(unsigned int off, uint16_t *val)
{
	return cfg_rw(off, val, 2, 0);
}

/* The endpoint's DMA address IOVA + @page pages, with @pasid (none for 0). */
static void set_addr(int page, uint32_t pasid)
{
	uint64_t addr = IOVA + page * PAGE;

	wr(IPTD_DMA_ADDR, (uint32_t)addr);
	wr(IPTD_DMA_ADDR + 4, addr >> 32);
	wr(IPTD_DMA_PASID, pasid ? IPTD_PASID_VALID | pasid : 0);
}

/* A Page Request for IOVA + @page pages with @pasid; returns the endpoint's PRI status. */
static uint32_t pasid_page_request(int page, uint32_t pasid, uint32_t req)
{
	set_addr(page, pasid);
	wr(IPTD_PRI_REQ, req);
	wr(IPTD_PRI_CMD, IPTD_PRI_CMD_REQUEST);
	return rd(IPTD_PRI_STATUS);
}

/* A Page Request for IOVA + @page pages without a PASID. */
static uint32_t page_request(int page, uint32_t req)
{
	return pasid_page_request(page, 0, req);
}

/* Wait up to 2 s for the response of the group the endpoint waits for. */
static uint32_t wait_response(void)
{
	struct timespec ts = { 0, 1000000 };
	uint32_t st = rd(IPTD_PRI_STATUS);

	for (int i = 0; i < 2000 && st == IPTD_STATUS_PRI_WAITING; i++) {
		nanosleep(&ts, NULL);
		st = rd(IPTD_PRI_STATUS);
	}
	return st;
}

static int test_pri_enabled(void)
{
	uint16_t id, ctrl;

	CHECK(rd(IPTD_FEATURES) & IPTD_FEATURE_PRI, "the endpoint has no PRI (features %#x)",
	      rd(IPTD_FEATURES));
	TRY(cfg16(IPTD_PRI_CAP, &id));
	CHECK(id == PCI_EXT_CAP_ID_PRI, "no PRI capability at %#x (id %#x)", IPTD_PRI_CAP, id);
	TRY(cfg16(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl));
	kernel_enabled_pri = ctrl & PCI_PRI_CTRL_ENABLE;
	printf("# PRI %s by the kernel\n", kernel_enabled_pri ? "enabled" : "not enabled");
	if (!kernel_enabled_pri) {
		uint32_t alloc = 32;

		TRY(cfg_rw(IPTD_PRI_CAP + PCI_PRI_ALLOC_REQ, &alloc, 4, 1));
		ctrl |= PCI_PRI_CTRL_ENABLE;
		TRY(cfg_rw(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl, 2, 1));
		TRY(cfg16(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl));
		CHECK(ctrl & PCI_PRI_CTRL_ENABLE, "PRI Enable does not stick (control %#x)", ctrl);
	}
	return 0;
}

static int test_request_answered(void)
{
	uint32_t before = rd(IPTD_PRI_RESP_COUNT);
	uint32_t st = page_request(0, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_WRITE |
				      IPTD_PRI_REQ_LAST | 3 << 16);

	/* the driver may have answered already, from another CPU */
	CHECK(st == IPTD_STATUS_PRI_WAITING || st == IPTD_STATUS_OK,
	      "Page Request: status %u (1: the SMMU discarded it)", st);
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response to PRG 3 within 2 s (status %u, %u responses)",
	      st, rd(IPTD_PRI_RESP_COUNT) - before);
	CHECK(rd(IPTD_PRI_RESP_PRGI) == 3, "the response names PRG %u, want 3",
	      rd(IPTD_PRI_RESP_PRGI));
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before + 1, "%u responses to one group",
	      rd(IPTD_PRI_RESP_COUNT) - before);
	printf("# response code %#x (0 Success, 1 Invalid Request, 0xf Response Failure)\n",
	       rd(IPTD_PRI_RESP_CODE));
	return 0;
}

static int test_group_answered_once(void)
{
	uint32_t before = rd(IPTD_PRI_RESP_COUNT), st;

	st = page_request(1, IPTD_PRI_REQ_READ | 7 << 16);
	CHECK(st == IPTD_STATUS_PRI_SENT, "first request of PRG 7: status %u", st);
	usleep(100000);
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before, "a response came before the group's last request");
	st = page_request(2, IPTD_PRI_REQ_WRITE | IPTD_PRI_REQ_LAST | 7 << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING || st == IPTD_STATUS_OK,
	      "last request of PRG 7: status %u", st);
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response to PRG 7 within 2 s (status %u)", st);
	/* a late second response would show as a count of 2 */
	usleep(100000);
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before + 1, "%u responses to a group of two requests",
	      rd(IPTD_PRI_RESP_COUNT) - before);
	CHECK(rd(IPTD_PRI_RESP_PRGI) == 7, "the response names PRG %u, want 7",
	      rd(IPTD_PRI_RESP_PRGI));
	return 0;
}

static int test_no_unexpected_response(void)
{
	uint16_t status;

	TRY(cfg16(IPTD_PRI_CAP + PCI_PRI_STATUS, &status));
	CHECK(!(status & PCI_PRI_STATUS_UPRGI),
	      "PRI status %#x: a response named a group the endpoint did not wait for", status);
	return 0;
}

static int pri_ctrl(uint16_t *ctrl)
{
	return cfg16(IPTD_PRI_CAP + PCI_PRI_CTRL, ctrl);
}

/* Read one fault group of n records within 2 s; fails if more or fewer come. */
static int read_faults(struct iommu_hwpt_pgfault *f, int n)
{
	struct pollfd pfd = { .fd = fault_fd, .events = POLLIN };
	ssize_t got;

	CHECK(poll(&pfd, 1, 2000) == 1, "no fault on the fault queue within 2 s (endpoint "
	      "status %u, response code %#x)", rd(IPTD_PRI_STATUS), rd(IPTD_PRI_RESP_CODE));
	got = read(fault_fd, f, n * sizeof(*f));
	CHECK(got == (ssize_t)(n * sizeof(*f)), "read %zd bytes of faults, want %zu: %s", got,
	      n * sizeof(*f), got < 0 ? strerror(errno) : "");
	return 0;
}

static int respond(uint32_t cookie, uint32_t code)
{
	struct iommu_hwpt_page_response r = { .cookie = cookie, .code = code };

	return write(fault_fd, &r, sizeof(r)) == sizeof(r) ? 0 : -errno;
}

/* *f must be the fault of a request of @pasid (none for 0), as check_fault() says. */
static int check_pasid_fault(const struct iommu_hwpt_pgfault *f, int page, uint32_t pasid,
			     uint32_t grpid, uint32_t perm, int last)
{
	CHECK(f->addr == IOVA + page * PAGE, "fault address %#llx, want %#lx",
	      (unsigned long long)f->addr, IOVA + page * PAGE);
	CHECK(f->grpid == grpid, "fault group %u, want %u", f->grpid, grpid);
	CHECK(f->perm == perm, "fault access %#x, want %#x", f->perm, perm);
	CHECK(f->dev_id == c.devid, "fault of device %u, want %u", f->dev_id, c.devid);
	if (pasid)
		CHECK(f->flags & IOMMU_PGFAULT_FLAGS_PASID_VALID && f->pasid == pasid,
		      "fault flags %#x, PASID %u, want PASID %u", f->flags, f->pasid, pasid);
	else
		CHECK(!(f->flags & IOMMU_PGFAULT_FLAGS_PASID_VALID), "fault with a PASID (%u)",
		      f->pasid);
	CHECK(!!(f->flags & IOMMU_PGFAULT_FLAGS_LAST_PAGE) == last, "fault flags %#x", f->flags);
	return 0;
}

static int check_fault(const struct iommu_hwpt_pgfault *f, int page, uint32_t grpid,
		       uint32_t perm, int last)
{
	return check_pasid_fault(f, page, 0, grpid, perm, last);
}

static int attach_pt(uint32_t pt)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = pt };

	return ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
}

/* A fault queue: its fd and object ID; returns the ioctl's. */
static int fault_queue_alloc(int *fd, uint32_t *id)
{
	struct iommu_fault_alloc fa = { .size = sizeof(fa) };
	int r = ioctl(c.iommufd, IOMMU_FAULT_QUEUE_ALLOC, &fa);

	*fd = r ? -1 : (int)fa.out_fault_fd;
	*id = r ? 0 : fa.out_fault_id;
	return r;
}

/* A HWPT on the IOAS whose faults go to the fault queue @fault; returns the ioctl's. */
static int fault_hwpt_alloc(uint32_t fault, uint32_t *id)
{
	struct iommu_hwpt_alloc ha = {
		.size = sizeof(ha),
		.flags = IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = c.devid,
		.pt_id = c.ioas,
		.data_type = IOMMU_HWPT_DATA_NONE,
		.fault_id = fault,
	};
	int r = ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &ha);

	*id = r ? 0 : ha.out_hwpt_id;
	return r;
}

static int test_fault_hwpt_enables_pri(void)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	uint16_t ctrl;

	/* Give the endpoint back as the kernel left it, PRI off, for the kernel to enable. */
	if (!kernel_enabled_pri) {
		TRY(pri_ctrl(&ctrl));
		ctrl &= ~PCI_PRI_CTRL_ENABLE;
		TRY(cfg_rw(IPTD_PRI_CAP + PCI_PRI_CTRL, &ctrl, 2, 1));
	}
	CHECK(!fault_queue_alloc(&fault_fd, &fault_id), "IOMMU_FAULT_QUEUE_ALLOC: %s",
	      strerror(errno));
	CHECK(!fault_hwpt_alloc(fault_id, &fault_hwpt), "IOMMU_HWPT_ALLOC(FAULT_ID_VALID): %s",
	      strerror(errno));
	at.pt_id = fault_hwpt;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(HWPT with a fault queue): %s", strerror(errno));
	TRY(pri_ctrl(&ctrl));
	CHECK(ctrl & PCI_PRI_CTRL_ENABLE, "the kernel did not enable PRI for a HWPT with a fault "
	      "queue (PRI control %#x)", ctrl);
	return 0;
}

/*
 * A write Page Request of group @grpid for IOVA page @page with @pasid (none
 * for 0), which must reach the fault queue and wait there; user space then
 * maps the page in IOAS @ioas and answers Success, which must reach the
 * endpoint, whose DMA write to the page with @pasid must then land.
 */
static int fault_served_in(uint32_t ioas, uint32_t pasid, int page, uint32_t grpid)
{
	uint64_t iova = IOVA + page * PAGE;
	struct iommu_hwpt_pgfault f;
	volatile uint32_t *buf;
	uint32_t st, ioas_was = c.ioas;
	int err;

	CHECK(fault_fd >= 0, "no fault queue");
	st = pasid_page_request(page, pasid, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_WRITE |
				IPTD_PRI_REQ_LAST | grpid << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING, "Page Request: status %u (0: answered at once by "
	      "the driver, code %#x)", st, rd(IPTD_PRI_RESP_CODE));
	TRY(read_faults(&f, 1));
	TRY(check_pasid_fault(&f, page, pasid, grpid,
			      IOMMU_PGFAULT_PERM_READ | IOMMU_PGFAULT_PERM_WRITE, 1));
	usleep(50000);
	CHECK(rd(IPTD_PRI_STATUS) == IPTD_STATUS_PRI_WAITING,
	      "the group was answered before user space answered it (status %u)",
	      rd(IPTD_PRI_STATUS));

	/* user space makes the page present (in the IOAS: a nested HWPT's IPA), then says so */
	buf = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(buf != MAP_FAILED, "mmap: %s", strerror(errno));
	memset((void *)buf, 0, PAGE);
	c.ioas = ioas;
	err = ctx_map(&c, (void *)buf, iova, PAGE);
	c.ioas = ioas_was;
	TRY(err);
	err = respond(f.cookie, IOMMUFD_PAGE_RESP_SUCCESS);
	CHECK(!err, "response Success: %s", strerror(-err));
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response at the endpoint within 2 s (status %u)", st);
	CHECK(rd(IPTD_PRI_RESP_CODE) == 0 && rd(IPTD_PRI_RESP_PRGI) == grpid,
	      "the endpoint got code %#x for PRG %u, want Success (0) for PRG %u",
	      rd(IPTD_PRI_RESP_CODE), rd(IPTD_PRI_RESP_PRGI), grpid);

	/* the retried access lands */
	for (int i = 0; i < 16; i++)
		wr(IPTD_BUF + 4 * i, 0xa0b0c000u + i);
	set_addr(page, pasid);
	wr(IPTD_DMA_LEN, 64);
	wr(IPTD_DMA_CMD, IPTD_DMA_CMD_WRITE);
	CHECK(rd(IPTD_DMA_STATUS) == IPTD_STATUS_OK, "DMA write after Success: status %u",
	      rd(IPTD_DMA_STATUS));
	for (int i = 0; i < 16; i++)
		CHECK(buf[i] == 0xa0b0c000u + i, "word %d of the page is %#x, want %#x", i, buf[i],
		      0xa0b0c000u + i);
	return 0;
}

/* fault_served_in() without a PASID, in the IOAS of the program's device. */
static int fault_served(int page, uint32_t grpid)
{
	return fault_served_in(c.ioas, 0, page, grpid);
}

static int test_fault_mapped_answered_and_retried(void)
{
	return fault_served(FAULT_PAGE, 5);
}

static int test_fault_group_of_two(void)
{
	struct iommu_hwpt_pgfault f[2];
	uint32_t st;
	int err;

	CHECK(fault_fd >= 0, "no fault queue");
	st = page_request(FAULT_PAGE + 1, IPTD_PRI_REQ_READ | 6 << 16);
	CHECK(st == IPTD_STATUS_PRI_SENT, "first request of PRG 6: status %u", st);
	st = page_request(FAULT_PAGE + 2, IPTD_PRI_REQ_WRITE | IPTD_PRI_REQ_LAST | 6 << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING, "last request of PRG 6: status %u", st);
	TRY(read_faults(f, 2));
	TRY(check_fault(&f[0], FAULT_PAGE + 1, 6, IOMMU_PGFAULT_PERM_READ, 0));
	TRY(check_fault(&f[1], FAULT_PAGE + 2, 6, IOMMU_PGFAULT_PERM_WRITE, 1));
	CHECK(f[0].cookie == f[1].cookie, "one group, two cookies (%u, %u)", f[0].cookie,
	      f[1].cookie);
	err = respond(f[1].cookie, IOMMUFD_PAGE_RESP_INVALID);
	CHECK(!err, "response Invalid: %s", strerror(-err));
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response at the endpoint within 2 s (status %u)", st);
	CHECK(rd(IPTD_PRI_RESP_CODE) == 1 && rd(IPTD_PRI_RESP_PRGI) == 6,
	      "the endpoint got code %#x for PRG %u, want Invalid Request (1) for PRG 6",
	      rd(IPTD_PRI_RESP_CODE), rd(IPTD_PRI_RESP_PRGI));
	return 0;
}

static int test_bad_responses_refused(void)
{
	struct iommu_hwpt_pgfault f;
	uint32_t before, st;
	int err;

	CHECK(fault_fd >= 0, "no fault queue");
	err = respond(0xdead, IOMMUFD_PAGE_RESP_SUCCESS);
	CHECK(err == -EINVAL, "response for an unknown group: %s, want EINVAL",
	      err ? strerror(-err) : "accepted");
	st = page_request(FAULT_PAGE + 3, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_LAST | 7 << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING, "Page Request: status %u", st);
	TRY(read_faults(&f, 1));
	err = respond(f.cookie, 5);
	CHECK(err == -EINVAL, "response code 5: %s, want EINVAL",
	      err ? strerror(-err) : "accepted");
	before = rd(IPTD_PRI_RESP_COUNT);
	err = respond(f.cookie, IOMMUFD_PAGE_RESP_INVALID);
	CHECK(!err, "response Invalid: %s", strerror(-err));
	err = respond(f.cookie, IOMMUFD_PAGE_RESP_SUCCESS);
	CHECK(err == -EINVAL, "second response to a group: %s, want EINVAL",
	      err ? strerror(-err) : "accepted");
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "no response at the endpoint within 2 s (status %u)", st);
	usleep(100000);
	CHECK(rd(IPTD_PRI_RESP_COUNT) == before + 1, "%u responses for one group",
	      rd(IPTD_PRI_RESP_COUNT) - before);
	return 0;
}

static int test_pending_answered_on_detach(void)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = c.ioas };
	struct iommu_hwpt_pgfault f;
	uint16_t ctrl;
	uint32_t st;

	CHECK(fault_fd >= 0, "no fault queue");
	st = page_request(FAULT_PAGE + 4, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_LAST | 8 << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING, "Page Request: status %u", st);
	TRY(read_faults(&f, 1));
	/* user space never answers: the device leaves the HWPT */
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at),
	      "VFIO_DEVICE_ATTACH_IOMMUFD_PT(IOAS): %s", strerror(errno));
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK, "the pending group was not answered within 2 s of the "
	      "detach (status %u)", st);
	CHECK(rd(IPTD_PRI_RESP_CODE) == 1 && rd(IPTD_PRI_RESP_PRGI) == 8,
	      "the endpoint got code %#x for PRG %u, want Invalid Request (1) for PRG 8",
	      rd(IPTD_PRI_RESP_CODE), rd(IPTD_PRI_RESP_PRGI));
	TRY(pri_ctrl(&ctrl));
	CHECK(!(ctrl & PCI_PRI_CTRL_ENABLE), "PRI still enabled without a fault queue "
	      "(control %#x)", ctrl);
	return 0;
}

static int destroy(uint32_t id, const char *what)
{
	struct iommu_destroy d = { .size = sizeof(d), .id = id };

	CHECK(!id || !ioctl(c.iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY(%s %u): %s", what, id,
	      strerror(errno));
	return 0;
}

static int nested_fault(uint32_t *s2, uint32_t *viommu, uint32_t *vdev, uint32_t *nested)
{
	uint16_t ctrl;
	int r;

	TRY(nest_parent_attach(&c, s2));
	r = nested_bypass_attach(&c, *s2, fault_id, viommu, vdev, nested);
	if (r)
		return r;	/* a skip or a failure */
	TRY(pri_ctrl(&ctrl));
	CHECK(ctrl & PCI_PRI_CTRL_ENABLE, "the kernel did not enable PRI for a nested HWPT with "
	      "a fault queue (PRI control %#x)", ctrl);

	return fault_served(FAULT_PAGE + 6, 10);
}

static int test_nested_fault(void)
{
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at), .pt_id = c.ioas };
	uint32_t s2 = 0, viommu = 0, vdev = 0, nested = 0;
	int r;

	CHECK(fault_fd >= 0, "no fault queue");
	r = nested_fault(&s2, &viommu, &vdev, &nested);
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), "ATTACH(IOAS): %s",
	      strerror(errno));
	if (destroy(nested, "nested HWPT") || destroy(vdev, "vDEVICE") ||
	    destroy(viommu, "vIOMMU") || destroy(s2, "NEST_PARENT HWPT"))
		return -1;
	return r;
}

/*
 * PRI with a PASID: the RID on a PASID-capable HWPT without a fault queue,
 * PASID 5 on one with it, on an IOAS of its own. PRI must be on; a Page
 * Request with PASID 5 must reach the fault queue with the PASID, and once
 * user space maps the page in PASID 5's IOAS and answers Success, the
 * endpoint's DMA with PASID 5 lands there. PRI goes off once PASID 5 leaves.
 */
static int test_pasid_fault(void)
{
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct iommu_hwpt_alloc rid = {
		.size = sizeof(rid), .flags = IOMMU_HWPT_ALLOC_PASID, .dev_id = c.devid,
		.pt_id = c.ioas, .data_type = IOMMU_HWPT_DATA_NONE,
	};
	struct iommu_hwpt_alloc ph = {
		.size = sizeof(ph), .flags = IOMMU_HWPT_ALLOC_PASID | IOMMU_HWPT_FAULT_ID_VALID,
		.dev_id = c.devid, .data_type = IOMMU_HWPT_DATA_NONE, .fault_id = fault_id,
	};
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at), .flags = VFIO_DEVICE_ATTACH_PASID, .pasid = 5,
	};
	struct vfio_device_detach_iommufd_pt dt = {
		.argsz = sizeof(dt), .flags = VFIO_DEVICE_DETACH_PASID, .pasid = 5,
	};
	uint16_t ctrl;
	int r;

	CHECK(fault_fd >= 0, "no fault queue");
	TRY(cfg16(IPTD_PASID_CAP + 6, &ctrl));
	if (!(ctrl & 1))
		return skip("PASID is not enabled on the endpoint (boot the model with "
			    "SubstreamIDs: --smmu-features ssid,pri)");
	CHECK(!ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &rid), "IOMMU_HWPT_ALLOC(PASID): %s",
	      strerror(errno));
	CHECK(!attach_pt(rid.out_hwpt_id), "ATTACH(PASID-capable HWPT): %s", strerror(errno));
	CHECK(!ioctl(c.iommufd, IOMMU_IOAS_ALLOC, &ia), "IOMMU_IOAS_ALLOC: %s", strerror(errno));
	ph.pt_id = ia.out_ioas_id;
	CHECK(!ioctl(c.iommufd, IOMMU_HWPT_ALLOC, &ph), "IOMMU_HWPT_ALLOC(PASID, "
	      "FAULT_ID_VALID): %s", strerror(errno));
	TRY(pri_ctrl(&ctrl));
	CHECK(!(ctrl & PCI_PRI_CTRL_ENABLE), "PRI enabled before any fault HWPT is attached "
	      "(control %#x)", ctrl);
	at.pt_id = ph.out_hwpt_id;
	CHECK(!ioctl(c.dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), "ATTACH(PASID 5, HWPT with a "
	      "fault queue): %s", strerror(errno));
	TRY(pri_ctrl(&ctrl));
	CHECK(ctrl & PCI_PRI_CTRL_ENABLE, "the kernel did not enable PRI for a PASID's HWPT with "
	      "a fault queue (PRI control %#x)", ctrl);
	r = fault_served_in(ia.out_ioas_id, 5, FAULT_PAGE + 7, 11);
	CHECK(!ioctl(c.dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt), "DETACH(PASID 5): %s",
	      strerror(errno));
	TRY(pri_ctrl(&ctrl));
	CHECK(r || !(ctrl & PCI_PRI_CTRL_ENABLE), "PRI still enabled after the PASID with the "
	      "fault queue left (control %#x)", ctrl);
	CHECK(!attach_pt(c.ioas), "ATTACH(IOAS): %s", strerror(errno));
	return r;
}

/* Whether the kernel command line has @arg. */
static int cmdline_has(const char *arg)
{
	char buf[1024];
	ssize_t n;
	int fd = open("/proc/cmdline", O_RDONLY);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	return strstr(buf, arg) != NULL;
}

static int test_priq_overflow(void)
{
	struct iommu_hwpt_pgfault f[64];
	int discarded = 0, sent = 0;
	ssize_t got;
	uint32_t st;
	int err;

	if (!cmdline_has("arm_smmu_v3_rs.priq_log2=1"))
		return skip("the PRI queue is too large to overflow here (boot the Rust driver "
			    "with arm_smmu_v3_rs.priq_log2=1)");
	CHECK(fault_fd >= 0, "no fault queue");
	CHECK(!attach_pt(fault_hwpt), "ATTACH(fault HWPT): %s", strerror(errno));
	/* bursts of PRG 11 requests (back to back in the endpoint) until the queue discards some */
	wr(IPTD_DMA_ADDR, (uint32_t)(IOVA + (FAULT_PAGE + 7) * PAGE));
	wr(IPTD_DMA_ADDR + 4, (IOVA + (FAULT_PAGE + 7) * PAGE) >> 32);
	wr(IPTD_DMA_PASID, 0);
	wr(IPTD_PRI_REQ, IPTD_PRI_REQ_READ | 11 << 16);
	for (int i = 0; i < 8 && !discarded; i++) {
		wr(IPTD_PRI_CMD, IPTD_PRI_CMD_BURST);
		st = rd(IPTD_PRI_STATUS);
		CHECK(st == IPTD_STATUS_PRI_SENT || st == IPTD_STATUS_DMA_ERROR,
		      "burst %d of PRG 11: status %u", i, st);
		discarded += rd(IPTD_PRI_DISCARDED);
		sent += 8 - rd(IPTD_PRI_DISCARDED);
	}
	printf("# %d requests queued, %d discarded by the full PRI queue\n", sent, discarded);
	CHECK(discarded, "no request was discarded: the PRI queue never overflowed");
	/* the last request, once the driver has made room */
	for (int i = 0; i < 200; i++) {
		st = page_request(FAULT_PAGE + 7, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_LAST | 11 << 16);
		if (st != IPTD_STATUS_DMA_ERROR)
			break;
		usleep(10000);
	}
	CHECK(st == IPTD_STATUS_PRI_WAITING, "last request of PRG 11: status %u", st);
	{
		struct pollfd pfd = { .fd = fault_fd, .events = POLLIN };

		CHECK(poll(&pfd, 1, 2000) == 1, "PRG 11 did not reach the fault queue within 2 s");
	}
	got = read(fault_fd, f, sizeof(f));
	CHECK(got > 0 && got % sizeof(f[0]) == 0, "read %zd bytes of faults: %s", got,
	      got < 0 ? strerror(errno) : "");
	got /= sizeof(f[0]);
	printf("# PRG 11 came as a group of %zd of the %d requests queued\n", got, sent + 1);
	/* the requests the full queue held when it lost one were forgotten with their group */
	CHECK(got < sent + 1, "PRG 11 came whole (%zd requests) although some were lost: the "
	      "partial group was not discarded at the overflow", got);
	TRY(check_fault(&f[got - 1], FAULT_PAGE + 7, 11, IOMMU_PGFAULT_PERM_READ, 1));
	err = respond(f[got - 1].cookie, IOMMUFD_PAGE_RESP_INVALID);
	CHECK(!err, "response Invalid: %s", strerror(-err));
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK && rd(IPTD_PRI_RESP_PRGI) == 11,
	      "no response for PRG 11 (status %u, PRG %u)", st, rd(IPTD_PRI_RESP_PRGI));
	/* the overflow was acknowledged: the next group is queued */
	if (fault_served(FAULT_PAGE + 8, 12))
		return -1;
	CHECK(!attach_pt(c.ioas), "ATTACH(IOAS): %s", strerror(errno));
	return 0;
}

/* The fail-nth sweep of the fault queue ioctls: what one run made. */
static struct {
	int fd, attached;
	uint32_t fault, hwpt;
} fo;

enum { F_QUEUE, F_HWPT, F_ATTACH, F_DETACH, F_STEPS };

static const char *const fnames[F_STEPS] = {
	"IOMMU_FAULT_QUEUE_ALLOC", "IOMMU_HWPT_ALLOC(FAULT_ID_VALID)", "ATTACH(fault HWPT)",
	"ATTACH(IOAS)",
};

static void fault_reset(void *ctx)
{
	(void)ctx;
	memset(&fo, 0, sizeof(fo));
	fo.fd = -1;
}

static int fault_run(void *ctx, int *err)
{
	int step = 0;

	(void)ctx;
#define STEP(call) do { errno = 0; if (call) { *err = errno; return step; } step++; } while (0)
	STEP(fault_queue_alloc(&fo.fd, &fo.fault));
	STEP(fault_hwpt_alloc(fo.fault, &fo.hwpt));
	STEP(attach_pt(fo.hwpt));
	fo.attached = 1;
	STEP(attach_pt(c.ioas));
	fo.attached = 0;
#undef STEP
	return step;
}

static int fault_undo(void *ctx)
{
	struct iommu_destroy d = { .size = sizeof(d) };

	(void)ctx;
	if (fo.attached)
		CHECK(!attach_pt(c.ioas), "ATTACH(IOAS): %s", strerror(errno));
	if (fo.hwpt) {
		d.id = fo.hwpt;
		CHECK(!ioctl(c.iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY(fault HWPT %u): %s",
		      fo.hwpt, strerror(errno));
	}
	if (fo.fd >= 0)
		close(fo.fd);
	if (fo.fault) {
		d.id = fo.fault;
		CHECK(!ioctl(c.iommufd, IOMMU_DESTROY, &d), "IOMMU_DESTROY(fault queue %u): %s",
		      fo.fault, strerror(errno));
	}
	return 0;
}

static int test_failnth_fault_queue(void)
{
	const struct failnth_seq seq = {
		.names = fnames, .steps = F_STEPS, .reset = fault_reset, .run = fault_run,
		.undo = fault_undo,
	};
	struct iommu_hwpt_pgfault f;
	uint32_t st;
	int err;

	CHECK(fault_fd >= 0, "no fault queue");
	if (failnth_sweep(&seq))
		return -1;
	/* the first fault queue and its HWPT still work */
	CHECK(!attach_pt(fault_hwpt), "ATTACH(fault HWPT): %s", strerror(errno));
	st = page_request(FAULT_PAGE + 5, IPTD_PRI_REQ_READ | IPTD_PRI_REQ_LAST | 9 << 16);
	CHECK(st == IPTD_STATUS_PRI_WAITING, "Page Request after the sweep: status %u", st);
	TRY(read_faults(&f, 1));
	TRY(check_fault(&f, FAULT_PAGE + 5, 9, IOMMU_PGFAULT_PERM_READ, 1));
	err = respond(f.cookie, IOMMUFD_PAGE_RESP_INVALID);
	CHECK(!err, "response Invalid: %s", strerror(-err));
	st = wait_response();
	CHECK(st == IPTD_STATUS_OK && rd(IPTD_PRI_RESP_PRGI) == 9,
	      "no response for PRG 9 after the sweep (status %u, PRG %u)", st,
	      rd(IPTD_PRI_RESP_PRGI));
	CHECK(!attach_pt(c.ioas), "ATTACH(IOAS): %s", strerror(errno));
	return 0;
}

static const struct ktap_case cases[] = {
	{ "pri_enabled", test_pri_enabled },
	{ "page_request_answered", test_request_answered },
	{ "group_answered_once_after_its_last_request", test_group_answered_once },
	{ "no_unexpected_prg_response", test_no_unexpected_response },
	{ "fault_hwpt_enables_pri", test_fault_hwpt_enables_pri },
	{ "fault_reported_mapped_answered_and_retried", test_fault_mapped_answered_and_retried },
	{ "fault_group_of_two_answered_invalid", test_fault_group_of_two },
	{ "bad_fault_responses_refused", test_bad_responses_refused },
	{ "pending_fault_answered_on_detach", test_pending_answered_on_detach },
	{ "nested_fault_reported_mapped_answered", test_nested_fault },
	{ "pasid_fault_reported_mapped_answered", test_pasid_fault },
	{ "priq_overflow_group_still_answered", test_priq_overflow },
	{ "no_unexpected_prg_response_after_faults", test_no_unexpected_response },
	{ "failnth_fault_queue_ioctls", test_failnth_fault_queue },
};

static int setup(const char *dev)
{
	return ctx_open(&c, "iommufd", dev);
}

static void teardown(void)
{
	if (fault_fd >= 0)
		close(fault_fd);
	ctx_close(&c);
}

int main(int argc, char **argv)
{
	return ktap_program("smmu-model-pri", &iptd_id, argc, argv, bdf, setup, teardown, cases,
			    sizeof(cases) / sizeof(cases[0]), 0);
}
