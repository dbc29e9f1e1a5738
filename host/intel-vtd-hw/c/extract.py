#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Writes c_defs.h: the C VT-d driver's register, descriptor and entry macros and inline
helpers, taken from the kernel tree given as argv[1] (drivers/iommu/intel/iommu.h and pasid.h),
with just enough stand-ins for kernel types and helpers to compile them in user space."""

import re
import sys

src = sys.argv[1] + "/drivers/iommu/intel/"
ih = open(src + "iommu.h").read()
ph = open(src + "pasid.h").read()
cache = open(src + "cache.c").read()
dmar = open(src + "dmar.c").read()


def inline(text, name):
    """The text of `static inline ... name(...) { ... }`."""
    m = re.search(r"static inline[^\n]*\n?[^\n]*\b" + name + r"\(", text)
    return text[m.start():text.index("\n}\n", m.start()) + 3]


def static(text, name):
    """The text of a `static` function `name` (its return type on the same line or the one
    before)."""
    m = re.search(r"\n(static [^\n(]*\n?[^\n(]*\b" + name + r"\()", text)
    return text[m.start(1):text.index("\n}\n", m.start(1)) + 3]


def defines(text, prefixes):
    """Every `#define` of a name starting with one of `prefixes`, with its continuations."""
    out, lines, k = [], text.split("\n"), 0
    while k < len(lines):
        line = lines[k]
        if any(line.startswith("#define " + p) for p in prefixes):
            out.append(line)
            while line.endswith("\\"):
                k += 1
                line = lines[k]
                out.append(line)
        k += 1
    return out


PRELUDE = """#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
typedef uint64_t u64;
typedef uint32_t u32;
typedef uint16_t u16;
typedef uint8_t u8;
#define BIT_ULL(n) (1ULL << (n))
#define GENMASK_ULL(h, l) (((~0ULL) << (l)) & (~0ULL >> (63 - (h))))
#define READ_ONCE(x) (x)
#define WRITE_ONCE(x, v) ((x) = (v))
#define VTD_PAGE_SHIFT 12
#define VTD_PAGE_MASK (((u64)-1) << VTD_PAGE_SHIFT)
#define PAGE_SHIFT 12
#define IS_ALIGNED(x, a) (((x) & ((a) - 1)) == 0)
#define pr_warn_ratelimited(...) ((void)0)
#define dma_wmb() do { } while (0)
struct intel_iommu { u64 cap, ecap; };
struct context_entry { u64 lo, hi; };
struct pasid_entry { u64 val[8]; };
struct qi_desc { u64 qw0, qw1, qw2, qw3; };
#define CONTEXT_TT_MULTI_LEVEL 0
#define CONTEXT_TT_DEV_IOTLB 1
#define CONTEXT_TT_PASS_THROUGH 2
#define CONTEXT_PASIDE BIT_ULL(3)
#define BITS_PER_LONG 64
#define GENMASK(h, l) GENMASK_ULL(h, l)
#define unlikely(x) (x)
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))
#define FW_BUG ""
#define pr_info(...) ((void)0)
static inline unsigned int fls_long(unsigned long x) { return x ? 64 - __builtin_clzl(x) : 0; }
struct dmar_pci_path { u8 bus; u8 device; u8 function; };
struct dmar_pci_notify_info {
	void *dev;
	unsigned long event;
	int bus;
	u16 seg;
	u16 level;
	struct dmar_pci_path path[];
} __attribute__((packed));
struct acpi_dmar_pci_path { u8 device; u8 function; };
"""

body = [l for l in defines(ih, ["cap_", "ecap_", "DMA_TLB", "DMA_CCMD", "DMA_GCMD", "DMA_GSTS",
                                "DMA_FSTS", "dma_fsts", "DMA_FRCD", "dma_frcd", "QI_",
                                "DMA_RTADDR", "context_pdts"])]
body += defines(ph, ["PASID_"])
for name in ["context_set_present", "context_set_fault_enable", "context_set_translation_type",
             "context_set_address_root", "context_set_address_width", "context_set_domain_id",
             "context_set_pasid", "context_set_sm_rid2pasid", "context_set_sm_dte",
             "context_set_sm_pre", "qi_desc_iotlb", "qi_desc_dev_iotlb", "qi_desc_piotlb",
             "qi_desc_dev_iotlb_pasid"]:
    body.append(inline(ih, name))
for name in ["pasid_set_bits", "pasid_set_domain_id", "pasid_set_slptr",
             "pasid_set_address_width", "pasid_set_translation_type", "pasid_set_fault_enable",
             "pasid_set_ssade", "pasid_set_sre", "pasid_set_wpe", "pasid_set_present",
             "pasid_set_page_snoop", "pasid_set_pgsnp", "pasid_set_flptr", "pasid_set_flpm",
             "pasid_set_eafe"]:
    body.append(inline(ph, name))
body += defines(ih, ["LEVEL_", "MAX_AGAW_"])
body.append(inline(ih, "width_to_agaw"))
body.append(static(cache, "calculate_psi_aligned_address"))
body.append(static(dmar, "dmar_match_pci_path"))
sys.stdout.write(PRELUDE + "\n".join(body) + "\n")
