// SPDX-License-Identifier: GPL-2.0
/*
 * kexec-boot: load a kernel with kexec_file_load(2) and reboot into it.
 *
 * The smallest kexec that the e2e tests need, without kexec-tools: the
 * running kernel parses the Image itself (arm64 kexec_file) and hands the
 * new kernel its own device tree with the new command line and initrd.
 * reboot(RB_KEXEC) runs every driver's shutdown hook (device_shutdown())
 * before jumping, which is what the test looks at.
 *
 * Usage: kexec-boot IMAGE INITRD CMDLINE
 * Logs "IOMMU-RS-KEXEC: loaded ..." (to the kernel log) once the kernel is
 * loaded; on success it does not return.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int kernel, initrd, kmsg;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 4) {
		fprintf(stderr, "usage: kexec-boot IMAGE INITRD CMDLINE\n");
		return 2;
	}
	kernel = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (kernel < 0) {
		fprintf(stderr, "kexec-boot: open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	initrd = open(argv[2], O_RDONLY | O_CLOEXEC);
	if (initrd < 0) {
		fprintf(stderr, "kexec-boot: open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	/* The command line length counts its terminating NUL. */
	if (syscall(SYS_kexec_file_load, kernel, initrd, strlen(argv[3]) + 1, argv[3], 0UL)) {
		fprintf(stderr, "kexec-boot: kexec_file_load: %s\n", strerror(errno));
		return 1;
	}
	/*
	 * Through the kernel log: printk reaches the console before the jump,
	 * which output still in the tty buffer may not.
	 */
	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg < 0 || dprintf(kmsg, "<5>IOMMU-RS-KEXEC: loaded %s, rebooting into it\n",
				argv[1]) < 0)
		printf("IOMMU-RS-KEXEC: loaded %s, rebooting into it\n", argv[1]);
	sync();
	reboot(RB_KEXEC);
	fprintf(stderr, "kexec-boot: reboot(RB_KEXEC): %s\n", strerror(errno));
	return 1;
}
