// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for the workbench's Bochs lane, never part of the series:
 * /sys/kernel/debug/wb_cr4 lists every online CPU's CR4 as read on that
 * CPU, so a guest script can see whether VMX is on (CR4.VMXE, bit 13)
 * without a debugger.  The AMD lane reads EFER.SVME through /dev/cpu/N/msr
 * instead; CR4 has no such interface.
 */
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include <asm/special_insns.h>

static struct dentry *wb_cr4_file;

static void wb_cr4_read(void *val)
{
	*(unsigned long *)val = __read_cr4();
}

static int wb_cr4_show(struct seq_file *m, void *unused)
{
	unsigned long cr4;
	int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		smp_call_function_single(cpu, wb_cr4_read, &cr4, 1);
		seq_printf(m, "cpu%d cr4=%#lx vmxe=%lu\n", cpu, cr4,
			   (cr4 >> 13) & 1);
	}
	cpus_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(wb_cr4);

static int __init wb_cr4_init(void)
{
	wb_cr4_file = debugfs_create_file("wb_cr4", 0444, NULL, NULL,
					  &wb_cr4_fops);
	return 0;
}

static void __exit wb_cr4_exit(void)
{
	debugfs_remove(wb_cr4_file);
}

module_init(wb_cr4_init);
module_exit(wb_cr4_exit);
MODULE_DESCRIPTION("Workbench test helper: per-CPU CR4 in debugfs");
MODULE_LICENSE("GPL");
