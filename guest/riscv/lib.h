/*
 * The riscv64 lane's guest side (scripts/boot.py, lane qemu-riscv64).
 *
 * Debian 12 has no riscv64 userspace to put in the guest (its archive has
 * no riscv64 architecture), so there is no shell: each scenario of the lane
 * is a static C program, guest/riscv/NAME.c, linked with this library and
 * run as /init of an initramfs.  It does what guest/init.sh and
 * guest/lib.sh do on the other lanes: mounts, the wb.NAME= parameters of
 * the kernel command line, test points as TAP on the console ("wb: ok N -
 * NAME", read by scripts/report.py), "wb: script done", and the reboot that
 * ends the boot (QEMU runs with -no-reboot).
 *
 * Every function that can fail returns -1 and leaves a one-line reason in
 * the caller's struct wb_err.
 */
#ifndef WB_RISCV_LIB_H
#define WB_RISCV_LIB_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

struct wb_err {
	char msg[256];
};

/* printf-style, into err; returns -1 */
int wb_fail(struct wb_err *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- PID 1 ---- */

/* Mount /proc, /sys, /dev, /tmp and debugfs, make sure fds 0-2 are the
 * console, and print "wb: guest up, kernel R, N CPUs online, running S". */
void wb_setup(void);
/* The value of wb.NAME= on the kernel command line, or NULL. */
const char *wb_param(const char *name);
long wb_param_long(const char *name, long dflt);
/* One console line, "wb: " in front (one write: kernel messages printed
 * meanwhile do not land inside it). */
void wb_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A test point: "wb: ok N - NAME", or "wb: not ok N - NAME # WHY".
 * Returns good. */
int wb_check(const char *name, int good, const char *why);
/* "wb: ok N - guest script completed", "wb: script done", reboot. */
void wb_finish(void) __attribute__((noreturn));

/* ---- the kernel ---- */

/* Whether the kernel log holds text. */
int wb_kmsg_has(const char *text);
/* Print the kernel log's lines that hold text, each after "wb: ". */
void wb_kmsg_print(const char *text);
/* Write 0 or 1 to /sys/devices/system/cpu/cpuN/online, from a child
 * process: a hotplug callback that dies leaves the write blocked for good,
 * so after timeout_s seconds it counts as failed. */
int wb_set_online(int cpu, int on, int timeout_s, struct wb_err *err);
int wb_is_online(int cpu);
/* Pin a thread (0: the caller) to one CPU. */
int wb_pin(int tid, int cpu, struct wb_err *err);

/* ---- KVM ---- */

/*
 * A VM with one vCPU and one 64 KiB memslot at WB_GUEST_BASE holding the
 * guest code: in VS mode with the MMU off it sums 1..100, stores the sum
 * (64-bit) to WB_GUEST_MMIO, which no memslot covers (KVM_EXIT_MMIO),
 * takes a breakpoint into its own trap handler, which counts it (6.1 has
 * KVM delegate breakpoints to the guest in hedeleg, set per CPU when
 * virtualization is enabled on it: a CPU coming online without that
 * gives KVM_RUN -EFAULT instead), then calls an SBI extension of the
 * experimental range with that count, which KVM forwards to userspace
 * (KVM_EXIT_RISCV_SBI), and starts over.  One such round is a "pass".
 */
#define WB_GUEST_BASE	0x80000000UL
#define WB_GUEST_MEM	0x10000UL
/* also operands of the guest's assembly: no suffixes */
#define WB_GUEST_MMIO	0x10000000
#define WB_GUEST_SUM	5050
#define WB_GUEST_SBI_EXT 0x08000000	/* SBI_EXT_EXPERIMENTAL_START */
#define WB_GUEST_SBI_FID 0x57

struct wb_vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	void *mem;
};

/* /dev/kvm opened, KVM_GET_API_VERSION checked, nothing else. */
int wb_kvm_open(struct wb_err *err);
/* A VM as above, the vCPU's pc at the guest code (KVM_SET_ONE_REG, read
 * back with KVM_GET_ONE_REG). */
int wb_vm_create(struct wb_vm *vm, struct wb_err *err);
/* One pass of the guest: its MMIO store of the sum, then its SBI call. */
int wb_vm_pass(struct wb_vm *vm, struct wb_err *err);
void wb_vm_destroy(struct wb_vm *vm);
/* A new VM on CPU cpu (-1: any), passes passes, destroyed: from a thread
 * of its own, pinned there. */
int wb_guest_run(int cpu, int passes, struct wb_err *err);

#endif
