# SPDX-License-Identifier: GPL-2.0
"""Host side of the qemu-ci harness: boot, parse, judge."""
