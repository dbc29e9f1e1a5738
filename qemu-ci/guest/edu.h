// SPDX-License-Identifier: GPL-2.0
/*
 * edu.h: QEMU's "edu" test device as the guest test programs drive it: its
 * registers, one DMA of its 4 KiB buffer, and the page patterns the DMA
 * checks compare. Include after vfio-lib.h.
 */
#ifndef EDU_H
#define EDU_H

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

/* One edu DMA; to_ram: device buffer -> iova, else iova -> device buffer. */
static inline int edu_dma(struct ctx *c, uint64_t iova, size_t len, int to_ram)
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

static inline void fill(uint8_t *p, uint8_t seed)
{
	for (size_t i = 0; i < PAGE; i++)
		p[i] = (uint8_t)(seed ^ (i * 7) ^ (i >> 8));
}

static inline int same(const uint8_t *p, uint8_t seed)
{
	for (size_t i = 0; i < PAGE; i++)
		if (p[i] != (uint8_t)(seed ^ (i * 7) ^ (i >> 8)))
			return 0;
	return 1;
}

static inline int all_zero(const uint8_t *p)
{
	for (size_t i = 0; i < PAGE; i++)
		if (p[i])
			return 0;
	return 1;
}

#endif /* EDU_H */
