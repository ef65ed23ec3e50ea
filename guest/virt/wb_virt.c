// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for the workbench, never part of the series:
 * /sys/kernel/debug/wb_virt lists, for every online CPU, whether hardware
 * virtualization is on there, as read on that CPU: CR4.VMXE (bit 13, set
 * while VMX is on) and EFER.SVME (bit 12, set while SVM is on).  A guest
 * script checks either without a debugger or the msr driver, also from
 * tmpfs after a suspend, and with the same helper for both vendors.
 */
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include <asm/msr.h>
#include <asm/special_insns.h>

static struct dentry *wb_virt_file;

struct wb_virt_regs {
	unsigned long cr4;
	u64 efer;
};

static void wb_virt_read(void *data)
{
	struct wb_virt_regs *r = data;

	r->cr4 = __read_cr4();
	if (rdmsrl_safe(MSR_EFER, &r->efer))
		r->efer = 0;
}

static int wb_virt_show(struct seq_file *m, void *unused)
{
	struct wb_virt_regs r;
	int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		smp_call_function_single(cpu, wb_virt_read, &r, 1);
		seq_printf(m, "cpu%d vmxe=%lu svme=%llu\n", cpu,
			   (r.cr4 >> 13) & 1, (r.efer >> 12) & 1);
	}
	cpus_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(wb_virt);

static int __init wb_virt_init(void)
{
	wb_virt_file = debugfs_create_file("wb_virt", 0444, NULL, NULL,
					   &wb_virt_fops);
	return 0;
}

static void __exit wb_virt_exit(void)
{
	debugfs_remove(wb_virt_file);
}

module_init(wb_virt_init);
module_exit(wb_virt_exit);
MODULE_DESCRIPTION("Workbench test helper: per-CPU VMX/SVM state in debugfs");
MODULE_LICENSE("GPL");
