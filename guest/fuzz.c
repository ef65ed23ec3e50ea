/*
 * fuzz - a seeded race fuzzer for KVM and CPU hotplug, run inside the x86
 * test guest (kvm-amd on QEMU's emulated SVM).  See usage() below and the
 * README's "make fuzz".
 *
 * Several threads each run a sequence of operations drawn from a PRNG of
 * their own, seeded from the seed and the thread's index: create and
 * destroy VMs and vCPUs, run a vCPU (a guest of a few instructions ending
 * in an OUT and a HLT, or in a HLT), set and delete memory slots, pin to a
 * CPU, take CPUs other than CPU 0 offline and online, unload and load
 * kvm-amd and kvm, suspend and resume (pm_test=core), arm fail_function at
 * KVM's enabling and load steps, and turn failslab on for the thread's
 * next operations.
 *
 * Determinism: the operations a thread attempts, in order, depend on the
 * seed, the thread's index and --kinds only (--dry-run prints them without
 * touching the kernel).  What each one does depends on the other threads
 * and the kernel: the interleaving of threads is not reproducible, and an
 * operation whose object is not there (a vCPU of a VM that failed to be
 * created, say) is skipped and counted.  A replay reruns the same
 * sequences; a race it found may need several replays to show again.
 *
 * Verdicts (TAP, numbered from --tap-base + 1, names without figures):
 *   - every operation ended in success or in an error its kind allows
 *     (the list per kind is in the op table below; ENOMEM is allowed for
 *     any operation run with failslab on); any other errno fails;
 *   - every KVM_RUN exit is one the guest code can make (its OUT, with the
 *     value it computes, then HLT; or KVM_EXIT_INTR);
 *   - the kernel's taint flags (/proc/sys/kernel/tainted) did not change;
 *   - no operation hung (took HANG_SECONDS: the blocked tasks go to the
 *     console through sysrq-w, the run stops, the hung thread is left);
 *   - lockdep is still on (/proc/lockdep_stats; SKIP without lockdep);
 *   - operations ran.
 * Splats are the judge's (scripts/report.py scans the console).  At the
 * first failure every thread stops; the failure is printed with the seed,
 * the thread, the operation's index and the command lines that replay it.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -pthread -o fuzz fuzz.c (x86_64)
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#ifndef __x86_64__
#error "fuzz runs KVM guests on x86_64 only"
#endif

/* ------------------------------------------------------------- limits -- */

#define MAX_THREADS	64
#define VMS		4	/* VM slots per thread */
#define VCPUS		4	/* vCPUs per VM */
#define MEMSLOTS	4	/* memslot 0 (the code) and 1..3 (spare) */
#define SLOT_SIZE	0x10000	/* 64 KiB each */
#define CODE_GPA	0x1000	/* where the guest starts, CS base 0 */
#define GUEST_PORT	0x11	/* the guest's OUT */
#define NERR		134	/* errno values counted one by one */
#define SEL		64	/* CPU selectors: sel % number of CPUs */

/* ---------------------------------------------------------------- PRNG -- */

/* splitmix64: expands the seed into the generator's state */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* xoshiro256**: the per-thread generator */
struct rng {
	uint64_t s[4];
};

static uint64_t rotl(uint64_t v, int k)
{
	return (v << k) | (v >> (64 - k));
}

static uint64_t rng_next(struct rng *r)
{
	uint64_t out = rotl(r->s[1] * 5, 7) * 9, t = r->s[1] << 17;

	r->s[2] ^= r->s[0];
	r->s[3] ^= r->s[1];
	r->s[1] ^= r->s[2];
	r->s[0] ^= r->s[3];
	r->s[2] ^= t;
	r->s[3] = rotl(r->s[3], 45);
	return out;
}

/* Thread i's generator: from seed + i, nothing else. */
static void rng_seed(struct rng *r, uint64_t seed, int thread)
{
	uint64_t x = seed + (uint64_t)thread;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

/* ---------------------------------------------------------- operations -- */

enum kind {
	K_VM_CREATE, K_VM_DESTROY, K_VM_DESTROY_ALL, K_VCPU_CREATE, K_VCPU_RUN,
	K_SLOT_SET, K_SLOT_DELETE, K_PIN, K_CPU_OFFLINE, K_CPU_ONLINE,
	K_MOD_UNLOAD, K_MOD_LOAD, K_SUSPEND, K_FF_ARM, K_FF_DISARM, K_FAILSLAB,
	K_PAUSE, NKINDS
};

/* groups, for --kinds */
enum {
	G_VM = 1 << 0, G_RUN = 1 << 1, G_SLOT = 1 << 2, G_CPU = 1 << 3,
	G_MODULE = 1 << 4, G_SUSPEND = 1 << 5, G_FAULT = 1 << 6,
	G_ALL = (1 << 7) - 1,
};

static const struct {
	const char *name;
	unsigned int mask;
} groups[] = {
	{ "vm", G_VM }, { "run", G_RUN }, { "slot", G_SLOT }, { "cpu", G_CPU },
	{ "module", G_MODULE }, { "suspend", G_SUSPEND }, { "fault", G_FAULT },
};

/*
 * The errors each kind may end in besides success: what the kernel
 * legitimately answers to it while the other threads do what they do.
 *   EINTR   the freezer (suspend) interrupts a sleeping call
 *   EIO     an injected fault (fail_function returns -EIO); the series
 *           stops every VM when enabling fails at resume (KVM_RUN and
 *           other vCPU ioctls return EIO)
 *   EBUSY   enabling virtualization failed (6.1), or the series refuses
 *           a new VM while stopped VMs exist; CPU hotplug is disabled
 *           (suspend, the series while it enables every CPU); a module
 *           is coming or going; a suspend is already running
 *   EAGAIN  (= EWOULDBLOCK) a module in use (delete_module)
 *   ENOENT  no /dev/kvm (kvm-amd unloaded); a module not loaded; kvm-amd
 *           loaded without kvm (unknown symbols)
 *   ENODEV, ENXIO  /dev/kvm's module is going away as it is opened
 *   EEXIST  a module already loaded
 *   EINVAL  pinning to an offline CPU; arming fail_function at a function
 *           this kernel lacks (or whose module is not loaded)
 *   ERANGE  arming a function that is not injectable here
 * ENOMEM is allowed for every kind while failslab is on for the thread.
 * Anything else fails.
 */
static const struct kind_info {
	const char *name;
	unsigned int group;
	unsigned int weight;
	int allowed[8];		/* 0-terminated */
} kinds[NKINDS] = {
	[K_VM_CREATE]      = { "vm_create", G_VM, 8,
			       { ENOENT, ENODEV, ENXIO, EBUSY, EIO, EINTR } },
	[K_VM_DESTROY]     = { "vm_destroy", G_VM, 6, { 0 } },
	[K_VM_DESTROY_ALL] = { "vm_destroy_all", G_VM, 4, { 0 } },
	[K_VCPU_CREATE]    = { "vcpu_create", G_VM, 8, { EIO, EBUSY, EINTR } },
	[K_VCPU_RUN]       = { "vcpu_run", G_RUN, 24, { EIO, EINTR } },
	[K_SLOT_SET]       = { "slot_set", G_SLOT, 6, { EIO, EINTR } },
	[K_SLOT_DELETE]    = { "slot_delete", G_SLOT, 5, { EIO, EINTR } },
	[K_PIN]            = { "pin", G_RUN, 5, { EINVAL } },
	[K_CPU_OFFLINE]    = { "cpu_offline", G_CPU, 5, { EBUSY, EIO, EAGAIN, EINTR } },
	[K_CPU_ONLINE]     = { "cpu_online", G_CPU, 6, { EBUSY, EIO, EAGAIN, EINTR } },
	[K_MOD_UNLOAD]     = { "mod_unload", G_MODULE, 2, { EAGAIN, EBUSY, ENOENT, EINTR } },
	[K_MOD_LOAD]       = { "mod_load", G_MODULE, 3,
			       { EEXIST, ENOENT, EBUSY, EIO, EINTR } },
	[K_SUSPEND]        = { "suspend", G_SUSPEND, 1, { EBUSY, EAGAIN, EINTR, EIO } },
	[K_FF_ARM]         = { "ff_arm", G_FAULT, 1, { EINVAL, ENOENT, ERANGE, EBUSY } },
	[K_FF_DISARM]      = { "ff_disarm", G_FAULT, 2, { 0 } },
	[K_FAILSLAB]       = { "failslab", G_FAULT, 2, { 0 } },
	[K_PAUSE]          = { "pause", G_VM | G_RUN | G_CPU, 2, { 0 } },
};

/* fail_function targets: KVM's enabling and load steps (config/test-only/) */
static const char *const ff_targets[] = {
	"kvm_arch_hardware_enable",		/* a CPU's enabling: VM, online, resume */
	"kvm_arch_hardware_enable",		/* (twice the weight) */
	"kvm_arch_check_online_cpu",		/* series: the check of a CPU */
	"kvm_arch_check_processor_compat",	/* 6.1: the load-time check */
	"kvm_x86_vendor_init", "kvm_mmu_vendor_module_init", "kvm_arch_init",
	"kvm_irqfd_init", "kvm_arch_hardware_setup", "kvm_async_pf_init",
	"misc_register",
};
#define NFF (sizeof(ff_targets) / sizeof(ff_targets[0]))

static const char *const modules[] = { "kvm_amd", "kvm" };
static const char *const module_files[] = { "kvm-amd.ko", "kvm.ko" };

struct op {
	enum kind kind;
	uint32_t a, b, c;
};

/* The next operation of a thread: only the PRNG and the kinds decide it. */
static void gen_op(struct rng *r, unsigned int mask, struct op *op)
{
	unsigned int total = 0, pick;
	int k;

	for (k = 0; k < NKINDS; k++)
		if (kinds[k].group & mask)
			total += kinds[k].weight;
	pick = rng_next(r) % total;
	for (k = 0; k < NKINDS; k++) {
		if (!(kinds[k].group & mask))
			continue;
		if (pick < kinds[k].weight)
			break;
		pick -= kinds[k].weight;
	}
	op->kind = k;
	op->a = rng_next(r) >> 32;
	op->b = rng_next(r) >> 32;
	op->c = rng_next(r) >> 32;
}

/* What an operation's parameters mean (the same in --dry-run and a run). */
#define OP_VM(op)	((op)->a % VMS)
#define OP_VCPU(op)	((op)->b % VCPUS)	/* run: % the VM's vCPUs */
#define OP_SLOT(op)	(1 + (op)->b % (MEMSLOTS - 1))
#define OP_DIRTY(op)	((op)->c & 1)
#define OP_SEL(op)	((op)->a % SEL)		/* CPU selector */
#define OP_RUNSEL(op)	((op)->c % (SEL + 16))	/* >= SEL: no pinning */
#define OP_GUEST_OUT(op) ((op)->b % 4 != 0)	/* the guest does its OUT */
#define OP_IMM(op)	((uint16_t)(1 + (op)->c % 30000))
#define OP_MOD(op)	((op)->a % 4 == 0)	/* 1: kvm, 0: kvm_amd */
#define OP_FF(op)	(ff_targets[(op)->a % NFF])
#define OP_FF_TIMES(op)	(1 + (op)->b % 2)
#define OP_FF_SPACE(op)	((op)->c % 4)
#define OP_NSLAB(op)	(1 + (op)->a % 3)
#define OP_PAUSE_US(op)	((op)->a % 20000)

static void op_text(const struct op *op, char *buf, size_t len)
{
	const char *n = kinds[op->kind].name;

	switch (op->kind) {
	case K_VM_CREATE:
		snprintf(buf, len, "%s vm=%u guest=%s imm=%u", n, OP_VM(op),
			 OP_GUEST_OUT(op) ? "out-hlt" : "hlt", OP_IMM(op));
		break;
	case K_VM_DESTROY:
	case K_VCPU_CREATE:
		snprintf(buf, len, "%s vm=%u", n, OP_VM(op));
		break;
	case K_VCPU_RUN:
		if (OP_RUNSEL(op) < SEL)
			snprintf(buf, len, "%s vm=%u vcpu=%u pin=%u", n, OP_VM(op),
				 OP_VCPU(op), OP_RUNSEL(op));
		else
			snprintf(buf, len, "%s vm=%u vcpu=%u", n, OP_VM(op), OP_VCPU(op));
		break;
	case K_SLOT_SET:
		snprintf(buf, len, "%s vm=%u slot=%u dirty-log=%u", n, OP_VM(op),
			 OP_SLOT(op), OP_DIRTY(op));
		break;
	case K_SLOT_DELETE:
		snprintf(buf, len, "%s vm=%u slot=%u", n, OP_VM(op), OP_SLOT(op));
		break;
	case K_PIN:
	case K_CPU_OFFLINE:
	case K_CPU_ONLINE:
		snprintf(buf, len, "%s sel=%u", n, OP_SEL(op));
		break;
	case K_MOD_UNLOAD:
	case K_MOD_LOAD:
		snprintf(buf, len, "%s %s", n, modules[OP_MOD(op)]);
		break;
	case K_FF_ARM:
		snprintf(buf, len, "%s %s times=%u space=%u", n, OP_FF(op),
			 OP_FF_TIMES(op), OP_FF_SPACE(op));
		break;
	case K_FAILSLAB:
		snprintf(buf, len, "%s ops=%u", n, OP_NSLAB(op));
		break;
	case K_PAUSE:
		snprintf(buf, len, "%s us=%u", n, OP_PAUSE_US(op));
		break;
	default:
		snprintf(buf, len, "%s", n);
		break;
	}
}

/* --------------------------------------------------------- the options -- */

static struct {
	uint64_t seed;
	int threads;
	int only_thread;	/* --thread: -1, or the one thread to run */
	long count;		/* operations per thread (0: no limit) */
	long seconds;		/* time budget (0: no limit) */
	unsigned int mask;	/* --kinds */
	const char *kinds_arg;
	const char *moddir;
	int failslab_pct;
	int dry_run;
	int anywhere;		/* run outside a workbench guest too */
	int console;
	int tap_base;
	const char *tap_file;
	const char *self;	/* argv[0], for the replay lines */
} opt = {
	.seed = 1, .threads = 4, .only_thread = -1, .mask = G_ALL,
	.kinds_arg = "all", .failslab_pct = 10,
};

/* ---------------------------------------------------------------- output -- */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int out_fd = 1;
static FILE *tap_fp;

/* One line of output, written in one write(): "wb: " first with --console. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[1024];
	int n = 0;
	va_list ap;

	if (opt.console)
		n = snprintf(line, sizeof(line), "wb: ");
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&out_lock);
	for (int off = 0; off < n;) {
		ssize_t w = write(out_fd, line + off, n - off);

		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += w;
	}
	pthread_mutex_unlock(&out_lock);
}

static int tap_n;

static void tap(int ok, const char *name, const char *note)
{
	char line[512];

	tap_n++;
	snprintf(line, sizeof(line), "%s %d - %s%s%s", ok ? "ok" : "not ok",
		 opt.tap_base + tap_n, name, note && *note ? " # " : "",
		 note ? note : "");
	say("%s", line);
	if (tap_fp) {
		fprintf(tap_fp, "%s\n", line);
		fflush(tap_fp);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *errname(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
		{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
		{ E2BIG, "E2BIG" }, { EBADF, "EBADF" }, { EAGAIN, "EAGAIN" },
		{ ENOMEM, "ENOMEM" }, { EACCES, "EACCES" }, { EFAULT, "EFAULT" },
		{ EBUSY, "EBUSY" }, { EEXIST, "EEXIST" }, { ENODEV, "ENODEV" },
		{ EINVAL, "EINVAL" }, { ENFILE, "ENFILE" }, { EMFILE, "EMFILE" },
		{ ENOTTY, "ENOTTY" }, { ENOSPC, "ENOSPC" }, { ERANGE, "ERANGE" },
		{ ENOSYS, "ENOSYS" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ ENOEXEC, "ENOEXEC" }, { EKEYREJECTED, "EKEYREJECTED" },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	return "E?";
}

/* ------------------------------------------------------- shared state -- */

/* What the run found; the first failure stops every thread. */
enum { F_ERRNO, F_EXIT, F_HANG, NFCLASS };
#define HANG_SECONDS 180	/* an operation taking longer is a hang */
static struct failure {
	int set;
	int thread;
	long op;
	char what[700];
} failures[NFCLASS];
static volatile int stop_all;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static pthread_mutex_t pm_lock = PTHREAD_MUTEX_INITIALIZER;	/* pm_test/state */
static pthread_mutex_t ff_lock = PTHREAD_MUTEX_INITIALIZER;	/* fail_function */
static int ff_armed_ever;

static int ncpus;		/* CPUs present (0..ncpus-1) */
static int have_suspend, have_ff, have_failslab;
static long vcpu_mmap_size;

#define FF "/sys/kernel/debug/fail_function"
#define FS "/sys/kernel/debug/failslab"

struct tvm {
	int fd;				/* -1: the slot is empty */
	uint8_t *mem[MEMSLOTS];
	int slot_on[MEMSLOTS];
	int nvcpu;			/* vCPUs in the table */
	int next_id;			/* ids used, a vCPU half set up included */
	int vcpu_fd[VCPUS];
	struct kvm_run *run[VCPUS];
	int guest_out;
	uint16_t imm;
};

struct thread {
	pthread_t tid;
	int idx;
	struct rng rng;
	struct tvm vm[VMS];
	int mif_fd;			/* /proc/thread-self/make-it-fail */
	int failslab_left;		/* ops still to run with failslab */
	int slab_op;			/* this op runs with failslab */
	volatile long cur;		/* index of the op in progress */
	volatile double cur_since;
	int hung;			/* in one op for HANG_SECONDS: not joined */
	struct op cur_op;
	long done;			/* ops run */
	long ok[NKINDS], skipped[NKINDS], legit[NKINDS];
	long errs[NKINDS][NERR];	/* legit errors by errno */
	long exits_io, exits_hlt, exits_intr;
	long stopped_closed;		/* VMs closed on a VM or vCPU ioctl's EIO */
	long ebusy_held_stopped;	/* KVM_CREATE_VM's EBUSY with a stopped VM held here */
	long ebusy_none_open;		/* KVM_CREATE_VM's EBUSY with no VM open in any thread */
	long ebusy_kernel_vms;		/* ... while KVM's debugfs still lists a VM */
	long unmap_retries;		/* munmap()s tried again after an injected ENOMEM */
};

static struct thread threads[MAX_THREADS];

/* The command lines that replay this run, and one thread's ops up to @op. */
static void replay_lines(int thread, long op)
{
	char common[512];

	snprintf(common, sizeof(common), "%s --seed %" PRIu64 " --kinds %s%s%s%s --failslab-pct %d",
		 opt.self, opt.seed, opt.kinds_arg, opt.moddir ? " --modules " : "",
		 opt.moddir ? opt.moddir : "", opt.console ? " --console" : "",
		 opt.failslab_pct);
	if (opt.count)
		say("fuzz: replay (every thread, the same sequences): %s --threads %d --count %ld",
		    common, opt.threads, opt.count);
	else
		say("fuzz: replay (every thread, the same sequences): %s --threads %d --seconds %ld",
		    common, opt.threads, opt.seconds);
	if (thread >= 0)
		say("fuzz: replay (thread %d alone, up to its op %ld): %s --threads %d --thread %d --count %ld",
		    thread, op, common, opt.threads, thread, op + 1);
	say("fuzz: its operations: %s --dry-run --seed %" PRIu64 " --threads %d --kinds %s --count %ld",
	    opt.self, opt.seed, opt.threads, opt.kinds_arg, thread >= 0 ? op + 1 : 100);
}

static void __attribute__((format(printf, 3, 4)))
failure(struct thread *t, int cls, const char *fmt, ...)
{
	char what[400], desc[128];
	va_list ap;
	int first;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	op_text(&t->cur_op, desc, sizeof(desc));
	pthread_mutex_lock(&fail_lock);
	first = !failures[cls].set;
	if (first) {
		failures[cls].set = 1;
		failures[cls].thread = t->idx;
		failures[cls].op = t->cur;
		snprintf(failures[cls].what, sizeof(failures[cls].what),
			 "seed %" PRIu64 " thread %d op %ld (%s): %s",
			 opt.seed, t->idx, t->cur, desc, what);
	}
	stop_all = 1;
	pthread_mutex_unlock(&fail_lock);
	say("fuzz: FAIL seed %" PRIu64 " thread %d op %ld (%s): %s", opt.seed, t->idx,
	    t->cur, desc, what);
	if (first)
		replay_lines(t->idx, t->cur);
}

/*
 * The result of a call that failed with @err: an error the operation's kind
 * allows (or ENOMEM under failslab) is counted and returns 1; anything else
 * is a failure (returns 0).
 */
static int legit(struct thread *t, const char *call, int err)
{
	const struct kind_info *k = &kinds[t->cur_op.kind];

	for (int i = 0; k->allowed[i]; i++)
		if (k->allowed[i] == err)
			goto counted;
	if (err == ENOMEM && t->slab_op)
		goto counted;
	failure(t, F_ERRNO, "%s: unexpected error %s (%s)", call, errname(err), strerror(err));
	return 0;
counted:
	t->legit[t->cur_op.kind]++;
	t->errs[t->cur_op.kind][err < NERR ? err : 0]++;
	return 1;
}

/* ---------------------------------------------------------- file helpers -- */

/* Write @val to @path; 0 or the errno. */
static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return errno;
	if (write(fd, val, strlen(val)) < 0)
		e = errno;
	close(fd);
	return e;
}

/* Read @path into @buf (NUL-terminated); 0 or the errno. */
static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return errno;
	buf[n] = '\0';
	return 0;
}

static long read_taint(void)
{
	char buf[64];

	if (read_file("/proc/sys/kernel/tainted", buf, sizeof(buf)))
		return -1;
	return strtol(buf, NULL, 10);
}

/* 1: lockdep on, 0: it turned itself off (it reported), -1: no lockdep */
static int lockdep_on(void)
{
	static char buf[8192];
	char *p;

	if (read_file("/proc/lockdep_stats", buf, sizeof(buf)))
		return -1;
	p = strstr(buf, "debug_locks:");
	if (!p)
		return -1;
	return strtol(p + strlen("debug_locks:"), NULL, 10) != 0;
}

/* highest CPU number in /sys/devices/system/cpu/present, plus one */
static int count_cpus(void)
{
	char buf[256], *p;
	int hi = 0;

	if (read_file("/sys/devices/system/cpu/present", buf, sizeof(buf)))
		return 1;
	for (p = buf; *p;) {
		char *end;
		long v;

		if (*p < '0' || *p > '9') {	/* "," "-" "\n" */
			p++;
			continue;
		}
		v = strtol(p, &end, 10);
		if (v > hi)
			hi = v;
		p = end;
	}
	return hi + 1;
}

static void set_make_it_fail(struct thread *t, int on)
{
	if (t->mif_fd >= 0 && pwrite(t->mif_fd, on ? "1" : "0", 1, 0) < 0)
		say("fuzz: thread %d: make-it-fail: %s", t->idx, strerror(errno));
}

/* ---------------------------------------------------------- the guest -- */

/*
 * 16-bit real mode at CODE_GPA: AX = 2 * imm; then OUT AX to GUEST_PORT
 * and HLT, or HLT alone.
 */
static size_t guest_code(uint8_t *p, uint16_t imm, int with_out)
{
	size_t n = 0;

	p[n++] = 0xb8;			/* mov $imm, %ax */
	p[n++] = imm & 0xff;
	p[n++] = imm >> 8;
	p[n++] = 0x01;			/* add %ax, %ax */
	p[n++] = 0xc0;
	if (with_out) {
		p[n++] = 0xe7;		/* out %ax, $GUEST_PORT */
		p[n++] = GUEST_PORT;
	}
	p[n++] = 0xf4;			/* hlt */
	return n;
}

/* ------------------------------------------------------ the operations -- */

enum { RES_OK, RES_SKIP, RES_LEGIT, RES_FAIL };

/* a call's failure: RES_LEGIT if its errno is allowed, else RES_FAIL */
static int call_failed(struct thread *t, const char *call)
{
	return legit(t, call, errno) ? RES_LEGIT : RES_FAIL;
}

/* VMs open in all threads: at an EBUSY, none means no VM holds KVM in use */
static long vms_open;

/*
 * munmap() that does not give up on an injected ENOMEM (failslab reaches
 * the maple tree's nodes).  A vCPU's kvm_run mapping left behind keeps the
 * vCPU's file, and with it the whole VM, alive with every fd closed: the
 * VM then holds kvm-amd and, once stopped, makes KVM refuse new VMs.
 */
static void unmap(struct thread *t, void *p, size_t len, const char *what)
{
	for (int tries = 0; munmap(p, len) < 0; tries++) {
		if (errno != ENOMEM || tries == 1000) {
			failure(t, F_ERRNO, "munmap of %s: %s, %d tries", what, strerror(errno), tries + 1);
			return;
		}
		t->unmap_retries++;
	}
}

static void vm_free(struct thread *t, struct tvm *v)
{
	for (int i = 0; i < v->nvcpu; i++) {
		unmap(t, v->run[i], vcpu_mmap_size, "kvm_run");
		close(v->vcpu_fd[i]);
	}
	if (v->fd >= 0) {
		close(v->fd);
		__atomic_sub_fetch(&vms_open, 1, __ATOMIC_RELAXED);
	}
	for (int s = 0; s < MEMSLOTS; s++)
		if (v->mem[s])
			unmap(t, v->mem[s], SLOT_SIZE, "guest memory");
	memset(v, 0, sizeof(*v));
	v->fd = -1;
}

static int set_slot(struct tvm *v, int slot, int size, int dirty)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = dirty ? KVM_MEM_LOG_DIRTY_PAGES : 0,
		.guest_phys_addr = (uint64_t)slot * 0x100000,
		.memory_size = size,
		.userspace_addr = (uintptr_t)v->mem[slot],
	};

	return ioctl(v->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/*
 * A VM or vCPU ioctl failed.  EIO: the VM is dead (the series stopped it
 * because enabling failed at resume) and the series refuses new VMs until
 * every stopped one is closed; close it now, as a VMM would, or new VMs
 * stay refused while a thread holds one.
 */
static int vm_call_failed(struct thread *t, struct tvm *v, const char *call)
{
	int e = errno, r = call_failed(t, call);

	if (r == RES_LEGIT && e == EIO) {
		vm_free(t, v);
		t->stopped_closed++;
	}
	return r;
}

/*
 * KVM_CREATE_VM said EBUSY: close the VMs of this thread that are dead (a
 * VM ioctl returns EIO) whatever op comes next; returns how many.
 */
static int close_stopped_vms(struct thread *t)
{
	int n = 0;

	for (int i = 0; i < VMS; i++) {
		struct tvm *v = &t->vm[i];

		if (v->fd >= 0 && ioctl(v->fd, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) < 0 &&
		    errno == EIO) {
			vm_free(t, v);
			t->stopped_closed++;
			n++;
		}
	}
	return n;
}

/*
 * KVM_CREATE_VM said EBUSY while no thread has a VM open: does the kernel
 * still have VMs?  Each VM has a debugfs directory "PID-FD" until it is
 * destroyed.  Returns how many; the first time, names them and this
 * process's KVM file descriptors (a leaked fd would keep a VM alive).
 */
static int kernel_vms(void)
{
	static int told;
	char names[512] = "", fds[512] = "", path[300], link[64];
	size_t n = 0, m = 0;
	struct dirent *d;
	int count = 0;
	DIR *dir;

	dir = opendir("/sys/kernel/debug/kvm");
	if (!dir)
		return 0;
	while ((d = readdir(dir))) {
		if (!strchr(d->d_name, '-'))
			continue;
		count++;
		if (n < sizeof(names))
			n += snprintf(names + n, sizeof(names) - n, " %s", d->d_name);
	}
	closedir(dir);
	if (!count || __atomic_exchange_n(&told, 1, __ATOMIC_RELAXED))
		return count;
	dir = opendir("/proc/self/fd");
	while (dir && (d = readdir(dir))) {
		ssize_t l;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", d->d_name);
		l = readlink(path, link, sizeof(link) - 1);
		if (l <= 0)
			continue;
		link[l] = 0;
		if (strstr(link, "kvm") && m < sizeof(fds))
			m += snprintf(fds + m, sizeof(fds) - m, " %s:%s", d->d_name, link);
	}
	if (dir)
		closedir(dir);
	say("fuzz: first EBUSY with no VM open here: the kernel lists %d VM(s):%s; "
	    "this process's KVM fds:%s", count, names, m ? fds : " none");
	/* a mapping of a vCPU's kvm_run keeps its file, and so its VM, alive */
	{
		FILE *maps = fopen("/proc/self/maps", "r");
		char line[256];
		int k = 0;

		while (maps && fgets(line, sizeof(line), maps))
			if (strstr(line, "kvm") && k++ < 8)
				say("fuzz: a KVM mapping: %s", line);
		if (maps)
			fclose(maps);
		say("fuzz: %d KVM mappings in all", k);
	}
	return count;
}

static int op_vcpu_create(struct thread *t, const struct op *op);

/* A VM, memslot 0 with the guest's code, and vCPU 0 */
static int op_vm_create(struct thread *t, const struct op *op)
{
	struct tvm *v = &t->vm[OP_VM(op)];
	int kvm, r;

	if (v->fd >= 0)
		return RES_SKIP;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return call_failed(t, "open /dev/kvm");
	if (!__atomic_load_n(&vcpu_mmap_size, __ATOMIC_RELAXED)) {
		r = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
		if (r < (int)sizeof(struct kvm_run)) {
			failure(t, F_ERRNO, "KVM_GET_VCPU_MMAP_SIZE: %d (%s)", r, strerror(errno));
			close(kvm);
			return RES_FAIL;
		}
		__atomic_store_n(&vcpu_mmap_size, r, __ATOMIC_RELAXED);
	}
	v->fd = ioctl(kvm, KVM_CREATE_VM, 0);
	r = errno;
	close(kvm);		/* the VM keeps the module; /dev/kvm's fd need not */
	if (v->fd < 0) {
		v->fd = -1;
		if (r == EBUSY && close_stopped_vms(t))
			t->ebusy_held_stopped++;
		if (r == EBUSY && !__atomic_load_n(&vms_open, __ATOMIC_RELAXED)) {
			t->ebusy_none_open++;
			if (kernel_vms())
				t->ebusy_kernel_vms++;
		}
		errno = r;
		return call_failed(t, "KVM_CREATE_VM");
	}
	__atomic_add_fetch(&vms_open, 1, __ATOMIC_RELAXED);
	for (int s = 0; s < MEMSLOTS; s++) {
		v->mem[s] = mmap(NULL, SLOT_SIZE, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (v->mem[s] == MAP_FAILED) {	/* ENOMEM under failslab (the VMA) */
			v->mem[s] = NULL;
			r = call_failed(t, "mmap of guest memory");
			vm_free(t, v);
			return r;
		}
	}
	v->guest_out = OP_GUEST_OUT(op);
	v->imm = OP_IMM(op);
	guest_code(v->mem[0] + CODE_GPA, v->imm, v->guest_out);
	if (set_slot(v, 0, SLOT_SIZE, 0) < 0) {
		r = vm_call_failed(t, v, "KVM_SET_USER_MEMORY_REGION (slot 0)");
		vm_free(t, v);
		return r;
	}
	v->slot_on[0] = 1;
	/* its first vCPU (a VM without one has nothing to run) */
	return op_vcpu_create(t, op);
}

static int op_vcpu_create(struct thread *t, const struct op *op)
{
	struct tvm *v = &t->vm[OP_VM(op)];
	struct kvm_sregs sregs;
	struct kvm_run *run;
	int fd, r, e;

	if (v->fd < 0 || v->nvcpu == VCPUS || v->next_id == 4 * VCPUS)
		return RES_SKIP;
	fd = ioctl(v->fd, KVM_CREATE_VCPU, v->next_id);
	if (fd < 0)
		return vm_call_failed(t, v, "KVM_CREATE_VCPU");
	v->next_id++;
	run = mmap(NULL, vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (run == MAP_FAILED) {
		r = call_failed(t, "mmap of kvm_run");
		close(fd);
		return r;
	}
	/* CS base 0, so that CS:IP = 0:CODE_GPA */
	if (ioctl(fd, KVM_GET_SREGS, &sregs) < 0) {
		e = errno;
		r = call_failed(t, "KVM_GET_SREGS");
		goto undo;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(fd, KVM_SET_SREGS, &sregs) < 0) {
		e = errno;
		r = call_failed(t, "KVM_SET_SREGS");
		goto undo;
	}
	v->vcpu_fd[v->nvcpu] = fd;
	v->run[v->nvcpu] = run;
	v->nvcpu++;
	return RES_OK;
undo:
	/* the id is used up: a vCPU half set up stays out of the table */
	unmap(t, run, vcpu_mmap_size, "kvm_run");
	close(fd);
	if (r == RES_LEGIT && e == EIO) {	/* a dead VM, as in vm_call_failed() */
		vm_free(t, v);
		t->stopped_closed++;
	}
	return r;
}

static void describe_exit(const struct kvm_run *run, char *buf, size_t len)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "KVM_EXIT_IO dir %u port 0x%x size %u count %u",
			 run->io.direction, run->io.port, run->io.size, run->io.count);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, len, "KVM_EXIT_FAIL_ENTRY reason 0x%llx",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, len, "KVM_EXIT_INTERNAL_ERROR suberror %u", run->internal.suberror);
		break;
	case KVM_EXIT_SHUTDOWN:
		snprintf(buf, len, "KVM_EXIT_SHUTDOWN (triple fault)");
		break;
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "KVM_EXIT_MMIO at 0x%llx", (unsigned long long)run->mmio.phys_addr);
		break;
	default:
		snprintf(buf, len, "exit reason %u", run->exit_reason);
		break;
	}
}

static int op_pin(struct thread *t, unsigned int sel)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(sel % ncpus, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		return call_failed(t, "sched_setaffinity");
	return RES_OK;
}

/* Run the vCPU from CODE_GPA: its OUT (if any) with 2 * imm, then HLT. */
static int op_vcpu_run(struct thread *t, const struct op *op)
{
	struct tvm *v = &t->vm[OP_VM(op)];
	int vc = OP_VCPU(op), fd, stage = 0, r;
	struct kvm_regs regs = { .rip = CODE_GPA, .rflags = 0x2 };
	struct kvm_run *run;
	char buf[160];

	if (v->fd < 0 || !v->nvcpu)
		return RES_SKIP;
	vc %= v->nvcpu;		/* the selector: one of the VM's vCPUs */
	if (OP_RUNSEL(op) < SEL) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(OP_RUNSEL(op) % ncpus, &set);
		/* an offline CPU (EINVAL): run where the thread is */
		if (sched_setaffinity(0, sizeof(set), &set) < 0 && errno != EINVAL &&
		    !(errno == ENOMEM && t->slab_op)) {
			failure(t, F_ERRNO, "sched_setaffinity: %s", strerror(errno));
			return RES_FAIL;
		}
	}
	fd = v->vcpu_fd[vc];
	run = v->run[vc];
	if (ioctl(fd, KVM_SET_REGS, &regs) < 0)
		return vm_call_failed(t, v, "KVM_SET_REGS");
	for (int tries = 0; tries < 8; tries++) {
		r = ioctl(fd, KVM_RUN, 0);
		if (r < 0 && errno == EINTR) {
			t->exits_intr++;
			continue;	/* the freezer: run on */
		}
		if (r < 0)
			return vm_call_failed(t, v, "KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_INTR:
			t->exits_intr++;
			continue;
		case KVM_EXIT_IO:
			if (stage == 0 && v->guest_out && run->io.direction == KVM_EXIT_IO_OUT &&
			    run->io.port == GUEST_PORT && run->io.size == 2 && run->io.count == 1) {
				uint16_t val;

				memcpy(&val, (uint8_t *)run + run->io.data_offset, 2);
				if (val != (uint16_t)(2 * v->imm)) {
					failure(t, F_EXIT, "the guest's OUT wrote %u, not %u",
						val, (uint16_t)(2 * v->imm));
					return RES_FAIL;
				}
				t->exits_io++;
				stage = 1;
				continue;
			}
			break;
		case KVM_EXIT_HLT:
			if (stage == 1 || !v->guest_out) {
				t->exits_hlt++;
				return RES_OK;
			}
			break;
		}
		describe_exit(run, buf, sizeof(buf));
		failure(t, F_EXIT, "KVM_RUN: %s, which the guest code (%s) cannot make%s", buf,
			v->guest_out ? "OUT then HLT" : "HLT",
			stage ? " (after its OUT)" : "");
		return RES_FAIL;
	}
	/* interrupted every time */
	return legit(t, "KVM_RUN", EINTR) ? RES_LEGIT : RES_FAIL;
}

static int op_slot(struct thread *t, const struct op *op, int set)
{
	struct tvm *v = &t->vm[OP_VM(op)];
	int s = OP_SLOT(op);

	if (v->fd < 0 || (!set && !v->slot_on[s]))
		return RES_SKIP;
	/* set on a slot that exists changes its flags (dirty logging) */
	if (set_slot(v, s, set ? SLOT_SIZE : 0, set && OP_DIRTY(op)) < 0)
		return vm_call_failed(t, v, set ? "KVM_SET_USER_MEMORY_REGION (set)" :
						  "KVM_SET_USER_MEMORY_REGION (delete)");
	v->slot_on[s] = set;
	return RES_OK;
}

static int op_cpu(struct thread *t, const struct op *op, int online)
{
	char path[64];
	int cpu, e;

	if (ncpus < 2)
		return RES_SKIP;
	cpu = 1 + OP_SEL(op) % (ncpus - 1);
	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	e = write_file(path, online ? "1" : "0");
	if (e == ENOENT)
		return RES_SKIP;
	if (e)
		return legit(t, online ? "CPU online" : "CPU offline", e) ? RES_LEGIT : RES_FAIL;
	return RES_OK;
}

static int op_mod_unload(struct thread *t, const struct op *op)
{
	if (!opt.moddir)
		return RES_SKIP;
	/* the thread's own VMs first: only the other threads' hold the module */
	for (int i = 0; i < VMS; i++)
		if (t->vm[i].fd >= 0)
			vm_free(t, &t->vm[i]);
	/* up to 10 tries 50 ms apart: the other threads' VMs come and go */
	for (int tries = 0; ; tries++) {
		if (syscall(SYS_delete_module, modules[OP_MOD(op)], O_NONBLOCK) == 0)
			return RES_OK;
		if (errno != EAGAIN || tries == 9 || stop_all)
			return call_failed(t, "delete_module");
		usleep(50000);
	}
}

static int op_mod_load(struct thread *t, const struct op *op)
{
	char path[512];
	int fd, r = RES_OK;

	if (!opt.moddir)
		return RES_SKIP;
	snprintf(path, sizeof(path), "%s/%s", opt.moddir, module_files[OP_MOD(op)]);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOMEM && t->slab_op)
			return call_failed(t, "open module file");
		failure(t, F_ERRNO, "open %s: %s", path, strerror(errno));
		return RES_FAIL;
	}
	if (syscall(SYS_finit_module, fd, "", 0) < 0)
		r = call_failed(t, "finit_module");
	close(fd);
	return r;
}

static int op_suspend(struct thread *t)
{
	int e, r = RES_OK;

	if (!have_suspend)
		return RES_SKIP;
	pthread_mutex_lock(&pm_lock);
	/* no failslab here: a failed "none" would leave pm_test set */
	set_make_it_fail(t, 0);
	e = write_file("/sys/power/pm_test", "core");
	if (e) {
		r = legit(t, "write pm_test", e) ? RES_LEGIT : RES_FAIL;
	} else {
		e = write_file("/sys/power/state", "mem");
		if (e)
			r = legit(t, "write /sys/power/state", e) ? RES_LEGIT : RES_FAIL;
		e = write_file("/sys/power/pm_test", "none");
		if (e) {
			failure(t, F_ERRNO, "pm_test back to none: %s", strerror(e));
			r = RES_FAIL;
		}
	}
	if (t->slab_op)
		set_make_it_fail(t, 1);
	pthread_mutex_unlock(&pm_lock);
	return r;
}

static int ff_write(const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), FF "/%s", file);
	return write_file(path, val);
}

static int op_ff_arm(struct thread *t, const struct op *op)
{
	char path[128], num[32];
	int e;

	if (!have_ff)
		return RES_SKIP;
	pthread_mutex_lock(&ff_lock);
	ff_armed_ever = 1;
	/*
	 * times=0 first: a function is armed as soon as it is written to
	 * inject, with the default retval (-EINVAL) and the last run's times,
	 * until its retval is written (seen: "cannot enable virtualization at
	 * resume (-22)").  One injection point at a time.
	 */
	e = ff_write("times", "0");
	if (e) {
		pthread_mutex_unlock(&ff_lock);
		return legit(t, "fail_function times=0", e) ? RES_LEGIT : RES_FAIL;
	}
	ff_write("inject", "\n");
	e = ff_write("inject", OP_FF(op));
	if (!e) {
		/* -EIO, every call, OP_FF_TIMES times after OP_FF_SPACE calls */
		snprintf(path, sizeof(path), "%s/retval", OP_FF(op));
		e = ff_write(path, "0xfffffffffffffffb");
		if (!e)
			e = ff_write("probability", "100");
		if (!e)
			e = ff_write("interval", "1");
		snprintf(num, sizeof(num), "%u", OP_FF_SPACE(op));
		if (!e)
			e = ff_write("space", num);
		if (!e)
			e = ff_write("task-filter", "N");
		if (!e)
			e = ff_write("verbose", "1");
		snprintf(num, sizeof(num), "%u", OP_FF_TIMES(op));
		if (!e)
			e = ff_write("times", num);
		if (e) {
			ff_write("inject", "\n");	/* nothing half armed */
			pthread_mutex_unlock(&ff_lock);
			return legit(t, "fail_function setup", e) ? RES_LEGIT : RES_FAIL;
		}
	}
	pthread_mutex_unlock(&ff_lock);
	if (e)
		return legit(t, "fail_function inject", e) ? RES_LEGIT : RES_FAIL;
	return RES_OK;
}

static int op_ff_disarm(struct thread *t)
{
	int e;

	if (!have_ff)
		return RES_SKIP;
	pthread_mutex_lock(&ff_lock);
	e = ff_write("inject", "\n");
	pthread_mutex_unlock(&ff_lock);
	if (e)
		return legit(t, "fail_function clear", e) ? RES_LEGIT : RES_FAIL;
	return RES_OK;
}

static int run_op(struct thread *t, const struct op *op)
{
	switch (op->kind) {
	case K_VM_CREATE:
		return op_vm_create(t, op);
	case K_VM_DESTROY:
		if (t->vm[OP_VM(op)].fd < 0)
			return RES_SKIP;
		vm_free(t, &t->vm[OP_VM(op)]);
		return RES_OK;
	case K_VM_DESTROY_ALL:
		for (int i = 0; i < VMS; i++)
			if (t->vm[i].fd >= 0)
				vm_free(t, &t->vm[i]);
		return RES_OK;
	case K_VCPU_CREATE:
		return op_vcpu_create(t, op);
	case K_VCPU_RUN:
		return op_vcpu_run(t, op);
	case K_SLOT_SET:
		return op_slot(t, op, 1);
	case K_SLOT_DELETE:
		return op_slot(t, op, 0);
	case K_PIN:
		return op_pin(t, OP_SEL(op));
	case K_CPU_OFFLINE:
		return op_cpu(t, op, 0);
	case K_CPU_ONLINE:
		return op_cpu(t, op, 1);
	case K_MOD_UNLOAD:
		return op_mod_unload(t, op);
	case K_MOD_LOAD:
		return op_mod_load(t, op);
	case K_SUSPEND:
		return op_suspend(t);
	case K_FF_ARM:
		return op_ff_arm(t, op);
	case K_FF_DISARM:
		return op_ff_disarm(t);
	case K_FAILSLAB:
		if (!have_failslab || t->mif_fd < 0)
			return RES_SKIP;
		/* this op is not itself under failslab: the next ones are */
		t->failslab_left = OP_NSLAB(op) + 1;
		return RES_OK;
	case K_PAUSE:
		usleep(OP_PAUSE_US(op));
		return RES_OK;
	default:
		return RES_SKIP;
	}
}

static double deadline;
static int alive;		/* threads not yet ended */

static void *thread_main(void *arg)
{
	struct thread *t = arg;
	struct op op;

	t->mif_fd = have_failslab ? open("/proc/thread-self/make-it-fail",
					 O_RDWR | O_CLOEXEC) : -1;
	for (long i = 0; !opt.count || i < opt.count; i++) {
		if (stop_all || (opt.seconds && now() >= deadline))
			break;
		gen_op(&t->rng, opt.mask, &op);
		t->cur_op = op;
		t->cur_since = now();
		__atomic_store_n(&t->cur, i, __ATOMIC_RELEASE);
		/*
		 * Not module loads and unloads: a failed allocation there makes
		 * the module loader's jump_label notifier WARN by design ("Failed
		 * to allocate memory: jump_label may not work properly", then
		 * jump_label_del_module's WARNs; seen on the series, seed 3):
		 * a splat of the kernel's, not KVM's.
		 */
		t->slab_op = t->failslab_left > 0 && op.kind != K_FAILSLAB &&
			     op.kind != K_MOD_LOAD && op.kind != K_MOD_UNLOAD;
		if (t->slab_op)
			set_make_it_fail(t, 1);
		switch (run_op(t, &op)) {
		case RES_OK:
			t->ok[op.kind]++;
			break;
		case RES_SKIP:
			t->skipped[op.kind]++;
			break;
		default:
			break;	/* counted where it was judged */
		}
		if (t->slab_op)
			set_make_it_fail(t, 0);
		t->slab_op = 0;
		if (t->failslab_left > 0)
			t->failslab_left--;
		t->done = i + 1;
	}
	set_make_it_fail(t, 0);
	t->failslab_left = 0;
	for (int v = 0; v < VMS; v++)
		if (t->vm[v].fd >= 0)
			vm_free(t, &t->vm[v]);
	if (t->mif_fd >= 0)
		close(t->mif_fd);
	t->cur = -1;
	__atomic_sub_fetch(&alive, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* ------------------------------------------------------------ the run -- */

static void setup_faults(void)
{
	char buf[64];

	have_ff = (opt.mask & G_FAULT) && access(FF "/inject", W_OK) == 0;
	have_failslab = (opt.mask & G_FAULT) && access(FS "/probability", W_OK) == 0;
	if (have_ff)
		ff_write("inject", "\n");
	if (have_failslab) {
		snprintf(buf, sizeof(buf), "%d", opt.failslab_pct);
		if (write_file(FS "/probability", buf) || write_file(FS "/interval", "1") ||
		    write_file(FS "/times", "0xffffffff") || write_file(FS "/space", "0") ||
		    write_file(FS "/verbose", "0") || write_file(FS "/task-filter", "Y") ||
		    write_file(FS "/ignore-gfp-wait", "N")) {
			say("fuzz: failslab setup failed (%s): no failslab", strerror(errno));
			have_failslab = 0;
		}
	}
}

static void setup_suspend(void)
{
	char buf[256];

	have_suspend = 0;
	if (!(opt.mask & G_SUSPEND))
		return;
	if (read_file("/sys/power/pm_test", buf, sizeof(buf)) || !strstr(buf, "core"))
		return;
	if (read_file("/sys/power/state", buf, sizeof(buf)) || !strstr(buf, "mem"))
		return;
	/* pm_test waits pm_test_delay seconds (5 by default) in the state */
	write_file("/sys/module/suspend/parameters/pm_test_delay", "0");
	have_suspend = 1;
}

/* Leave the machine as the script expects it: no fault armed, CPUs online, modules loaded. */
static void cleanup(void)
{
	char path[512];
	int e, fd;

	if (have_ff)
		ff_write("inject", "\n");
	if (have_failslab) {
		write_file(FS "/probability", "0");
		write_file(FS "/task-filter", "N");
	}
	if (have_suspend)
		write_file("/sys/power/pm_test", "none");
	for (int c = 1; c < ncpus && (opt.mask & G_CPU); c++) {
		snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", c);
		for (int tries = 0; tries < 10; tries++) {
			e = write_file(path, "1");
			if (e != EBUSY)
				break;
			usleep(200000);
		}
		if (e && e != ENOENT)
			say("fuzz: cleanup: onlining CPU %d: %s", c, strerror(e));
	}
	for (int m = 1; m >= 0 && opt.moddir && (opt.mask & G_MODULE); m--) {	/* kvm, then kvm-amd */
		snprintf(path, sizeof(path), "%s/%s", opt.moddir, module_files[m]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			say("fuzz: cleanup: open %s: %s", path, strerror(errno));
			continue;
		}
		if (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST)
			say("fuzz: cleanup: loading %s: %s", modules[m], strerror(errno));
		close(fd);
	}
}

static void print_stats(double secs)
{
	long total = 0, legit_total = 0, skip_total = 0, io = 0, hlt = 0, intr = 0, closed = 0;
	long held = 0, none_open = 0, kernel = 0, unmap_retries = 0;

	for (int i = 0; i < opt.threads; i++) {
		total += threads[i].done;
		io += threads[i].exits_io;
		hlt += threads[i].exits_hlt;
		intr += threads[i].exits_intr;
		closed += threads[i].stopped_closed;
		held += threads[i].ebusy_held_stopped;
		none_open += threads[i].ebusy_none_open;
		kernel += threads[i].ebusy_kernel_vms;
		unmap_retries += threads[i].unmap_retries;
	}
	for (int k = 0; k < NKINDS; k++) {
		long ok = 0, sk = 0, lg = 0;
		char errs[256] = "";
		size_t n = 0;

		for (int i = 0; i < opt.threads; i++) {
			ok += threads[i].ok[k];
			sk += threads[i].skipped[k];
			lg += threads[i].legit[k];
		}
		for (int e = 0; e < NERR; e++) {
			long c = 0;

			for (int i = 0; i < opt.threads; i++)
				c += threads[i].errs[k][e];
			if (c && n < sizeof(errs))
				n += snprintf(errs + n, sizeof(errs) - n, " %s:%ld", errname(e), c);
		}
		legit_total += lg;
		skip_total += sk;
		if (ok || sk || lg)
			say("fuzz: stats %s ok=%ld skipped=%ld errors=%ld%s%s", kinds[k].name,
			    ok, sk, lg, n ? " by errno" : "", errs);
	}
	say("fuzz: stats seed=%" PRIu64 " threads=%d ops=%ld seconds=%.0f allowed-errors=%ld "
	    "skipped=%ld exits-io=%ld exits-hlt=%ld eintr=%ld stopped-vms-closed=%ld "
	    "create-ebusy-holding-stopped=%ld create-ebusy-no-vm-open=%ld "
	    "create-ebusy-no-vm-open-kernel-has-vms=%ld unmap-retries=%ld", opt.seed, opt.threads,
	    total, secs, legit_total, skip_total, io, hlt, intr, closed, held, none_open, kernel,
	    unmap_retries);
}

static int run(void)
{
	long taint0, taint1;
	int lockdep0, lockdep1, bad = 0, nhung = 0;
	double t0 = now(), last_progress = t0, last_lockdep = t0;
	char note[480];

	ncpus = count_cpus();
	setup_faults();
	setup_suspend();
	taint0 = read_taint();
	lockdep0 = lockdep1 = lockdep_on();
	say("fuzz: seed %" PRIu64 ", %d threads%s, kinds %s, %s%ld, %d CPUs; suspend %s, "
	    "fail_function %s, failslab %s at %d%%, modules %s", opt.seed, opt.threads,
	    opt.only_thread >= 0 ? " (one of them run)" : "", opt.kinds_arg,
	    opt.count ? "ops per thread " : "seconds ", opt.count ? opt.count : opt.seconds,
	    ncpus, have_suspend ? "yes" : "no", have_ff ? "yes" : "no",
	    have_failslab ? "yes" : "no", opt.failslab_pct, opt.moddir ? opt.moddir : "not touched");
	replay_lines(-1, 0);
	deadline = t0 + opt.seconds;
	for (int i = 0; i < opt.threads; i++) {
		threads[i].idx = i;
		threads[i].cur = -1;
		rng_seed(&threads[i].rng, opt.seed, i);
		for (int v = 0; v < VMS; v++)
			threads[i].vm[v].fd = -1;
	}
	alive = opt.only_thread >= 0 ? 1 : opt.threads;
	for (int i = 0; i < opt.threads; i++) {
		int e;

		if (opt.only_thread >= 0 && i != opt.only_thread)
			continue;
		e = pthread_create(&threads[i].tid, NULL, thread_main, &threads[i]);
		if (e) {
			say("fuzz: pthread_create: %s", strerror(e));
			return 2;
		}
	}
	/* watch: taint, lockdep, progress; the threads end by themselves */
	for (;;) {
		double tn;

		if (__atomic_load_n(&alive, __ATOMIC_ACQUIRE) <= nhung)
			break;
		taint1 = read_taint();
		tn = now();
		if (lockdep0 == 1 && tn - last_lockdep >= 2) {
			last_lockdep = tn;
			lockdep1 = lockdep_on();
		}
		if ((taint1 != taint0 || lockdep1 == 0) && !stop_all) {
			if (taint1 != taint0)
				say("fuzz: the kernel's taint changed from %ld to %ld; the threads were at:",
				    taint0, taint1);
			else
				say("fuzz: lockdep turned itself off (it reported); the threads were at:");
			stop_all = 1;
			for (int i = 0; i < opt.threads; i++) {
				char d[128];

				if (threads[i].cur < 0)
					continue;
				op_text(&threads[i].cur_op, d, sizeof(d));
				say("fuzz:   thread %d op %ld (%s)", i, threads[i].cur, d);
			}
			replay_lines(-1, 0);
		}
		for (int i = 0; i < opt.threads; i++) {
			struct thread *h = &threads[i];

			if (h->hung || __atomic_load_n(&h->cur, __ATOMIC_ACQUIRE) < 0 ||
			    tn - h->cur_since < HANG_SECONDS)
				continue;
			/* a hang: the blocked tasks to the console, and stop */
			h->hung = 1;
			nhung++;
			write_file("/proc/sysrq-trigger", "w");
			failure(h, F_HANG, "still in it after %.0f s (blocked tasks: sysrq-w on the console)",
				tn - h->cur_since);
		}
		if (tn - last_progress >= 30) {
			long total = 0;

			last_progress = tn;
			for (int i = 0; i < opt.threads; i++) {
				total += threads[i].done;
				if (threads[i].cur >= 0 && tn - threads[i].cur_since > 60) {
					char d[128];

					op_text(&threads[i].cur_op, d, sizeof(d));
					say("fuzz: thread %d in op %ld (%s) for %.0f s", i,
					    threads[i].cur, d, tn - threads[i].cur_since);
				}
			}
			say("fuzz: %.0f s, %ld ops", tn - t0, total);
		}
		usleep(100000);
	}
	for (int i = 0; i < opt.threads; i++)
		if ((opt.only_thread < 0 || i == opt.only_thread) && !threads[i].hung)
			pthread_join(threads[i].tid, NULL);
	cleanup();
	print_stats(now() - t0);
	taint1 = read_taint();
	lockdep1 = lockdep_on();

	for (int c = 0; c < NFCLASS; c++) {
		static const char *const names[NFCLASS] = {
			"fuzz: every operation ended in success or an error its kind allows",
			"fuzz: every KVM_RUN exit is one the guest code can make",
			"fuzz: no operation hung (none took 180 s)",
		};

		tap(!failures[c].set, names[c], failures[c].set ? failures[c].what : NULL);
		bad |= failures[c].set;
	}
	snprintf(note, sizeof(note), "tainted %ld at the start, %ld at the end", taint0, taint1);
	tap(taint1 == taint0, "fuzz: the kernel's taint flags did not change",
	    taint1 == taint0 ? NULL : note);
	bad |= taint1 != taint0;
	if (lockdep0 < 0)
		tap(1, "fuzz: lockdep stayed on", "SKIP no /proc/lockdep_stats");
	else
		tap(lockdep1 == 1 || lockdep0 == 0, "fuzz: lockdep stayed on",
		    lockdep0 == 0 ? "it was off at the start" :
		    lockdep1 != 1 ? "debug_locks is 0: lockdep reported (see the console)" : NULL);
	bad |= lockdep0 == 1 && lockdep1 != 1;
	{
		long total = 0;

		for (int i = 0; i < opt.threads; i++)
			total += threads[i].done;
		tap(total > 0, "fuzz: operations ran", total ? NULL : "none");
		bad |= total == 0;
	}
	return bad;
}

static void dry_run(void)
{
	char d[128];

	for (int i = 0; i < opt.threads; i++) {
		struct rng r;
		struct op op;

		if (opt.only_thread >= 0 && i != opt.only_thread)
			continue;
		rng_seed(&r, opt.seed, i);
		for (long n = 0; n < opt.count; n++) {
			gen_op(&r, opt.mask, &op);
			op_text(&op, d, sizeof(d));
			printf("t%d %ld %s\n", i, n, d);
		}
	}
}

/* ----------------------------------------------------------- the options -- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: fuzz [--seed N] [--threads T] [--seconds S] [--count K] [--kinds LIST]\n"
"            [--modules DIR] [--failslab-pct P] [--thread I] [--console]\n"
"            [--tap-base N] [--tap-file PATH] [--dry-run]\n"
"\n"
"  --seed N          the seed (default 1); thread i's PRNG is seeded with N + i\n"
"  --threads T       threads (default 4, at most %d)\n"
"  --seconds S       stop after S seconds; --count K: after K ops per thread\n"
"                    (at least one of the two; --dry-run: K, default 20)\n"
"  --kinds LIST      comma-separated groups of operations (default all):\n"
"                    vm (VMs, vCPUs), run (KVM_RUN, pinning), slot (memory\n"
"                    slots), cpu (CPUs 1.. offline/online), module (kvm-amd\n"
"                    and kvm unload/load), suspend (pm_test=core), fault\n"
"                    (fail_function at KVM's enabling and load steps,\n"
"                    failslab for the thread's next ops)\n"
"  --modules DIR     kvm.ko and kvm-amd.ko for loading (without it module\n"
"                    operations are skipped)\n"
"  --failslab-pct P  failslab's probability while a thread has it on (10)\n"
"  --thread I        run thread I's sequence alone (a replay)\n"
"  --console         write to /dev/console, each line after \"wb: \"\n"
"  --tap-base N      number the TAP lines from N + 1 (default 0)\n"
"  --tap-file PATH   the TAP lines also go to PATH\n"
"  --dry-run         print each thread's operations (\"tI N op params\"),\n"
"                    touch nothing\n"
"  --anywhere        run even without wb.script= on the kernel command line\n"
"                    (by default it refuses to run outside a workbench guest)\n"
"\n"
"Exit status: 0 all checks passed, 1 a check failed, 2 bad usage.\n", MAX_THREADS);
}

static long parse_num(const char *o, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "fuzz: %s: invalid value \"%s\" (%ld..%ld)\n", o, s, min, max);
		exit(2);
	}
	return v;
}

static unsigned int parse_kinds(const char *s)
{
	char *copy = strdup(s), *save = NULL, *tok;
	unsigned int mask = 0;

	if (!copy)
		exit(2);
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		size_t i;

		if (!strcmp(tok, "all")) {
			mask |= G_ALL;
			continue;
		}
		for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
			if (!strcmp(tok, groups[i].name))
				break;
		if (i == sizeof(groups) / sizeof(groups[0])) {
			fprintf(stderr, "fuzz: --kinds: unknown group \"%s\"\n", tok);
			exit(2);
		}
		mask |= groups[i].mask;
	}
	free(copy);
	if (!mask) {
		fprintf(stderr, "fuzz: --kinds: empty\n");
		exit(2);
	}
	return mask;
}

int main(int argc, char **argv)
{
	enum { O_SEED = 1, O_THREADS, O_SECONDS, O_COUNT, O_KINDS, O_MODULES,
	       O_PCT, O_THREAD, O_CONSOLE, O_TAPBASE, O_TAPFILE, O_DRY, O_ANYWHERE, O_HELP };
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, O_SEED },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "seconds", required_argument, NULL, O_SECONDS },
		{ "count", required_argument, NULL, O_COUNT },
		{ "kinds", required_argument, NULL, O_KINDS },
		{ "modules", required_argument, NULL, O_MODULES },
		{ "failslab-pct", required_argument, NULL, O_PCT },
		{ "thread", required_argument, NULL, O_THREAD },
		{ "console", no_argument, NULL, O_CONSOLE },
		{ "tap-base", required_argument, NULL, O_TAPBASE },
		{ "tap-file", required_argument, NULL, O_TAPFILE },
		{ "dry-run", no_argument, NULL, O_DRY },
		{ "anywhere", no_argument, NULL, O_ANYWHERE },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int o;

	opt.self = argv[0];
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_SEED: {
			char *end;

			errno = 0;
			opt.seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end) {
				fprintf(stderr, "fuzz: --seed: invalid value \"%s\"\n", optarg);
				return 2;
			}
			break;
		}
		case O_THREADS:
			opt.threads = parse_num("--threads", optarg, 1, MAX_THREADS);
			break;
		case O_SECONDS:
			opt.seconds = parse_num("--seconds", optarg, 1, 1L << 30);
			break;
		case O_COUNT:
			opt.count = parse_num("--count", optarg, 1, LONG_MAX / 2);
			break;
		case O_KINDS:
			opt.mask = parse_kinds(optarg);
			opt.kinds_arg = optarg;
			break;
		case O_MODULES:
			opt.moddir = optarg;
			break;
		case O_PCT:
			opt.failslab_pct = parse_num("--failslab-pct", optarg, 0, 100);
			break;
		case O_THREAD:
			opt.only_thread = parse_num("--thread", optarg, 0, MAX_THREADS - 1);
			break;
		case O_CONSOLE:
			opt.console = 1;
			break;
		case O_TAPBASE:
			opt.tap_base = parse_num("--tap-base", optarg, 0, 1 << 20);
			break;
		case O_TAPFILE:
			opt.tap_file = optarg;
			break;
		case O_DRY:
			opt.dry_run = 1;
			break;
		case O_ANYWHERE:
			opt.anywhere = 1;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "fuzz: unexpected argument \"%s\"\n", argv[optind]);
		return 2;
	}
	if (opt.only_thread >= opt.threads) {
		fprintf(stderr, "fuzz: --thread %d: only %d threads\n", opt.only_thread, opt.threads);
		return 2;
	}
	if (opt.dry_run) {
		if (!opt.count)
			opt.count = 20;
		dry_run();
		return 0;
	}
	if (!opt.count && !opt.seconds) {
		fprintf(stderr, "fuzz: --seconds or --count is needed\n");
		return 2;
	}
	/*
	 * It takes CPUs offline, suspends, unloads modules and injects faults:
	 * only in a workbench guest (wb.script= on the kernel command line)
	 * unless told otherwise.
	 */
	if (!opt.anywhere) {
		char cmdline[4096];

		if (read_file("/proc/cmdline", cmdline, sizeof(cmdline)) ||
		    !strstr(cmdline, "wb.script=")) {
			fprintf(stderr, "fuzz: not in a workbench guest (no wb.script= in /proc/cmdline): "
				"it would take this machine's CPUs offline, suspend it and inject faults; "
				"--dry-run prints the operations, --anywhere runs them here\n");
			return 2;
		}
	}
	if (opt.console) {
		out_fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (out_fd < 0) {
			perror("fuzz: /dev/console");
			return 2;
		}
	}
	if (opt.tap_file) {
		tap_fp = fopen(opt.tap_file, "w");
		if (!tap_fp) {
			perror("fuzz: --tap-file");
			return 2;
		}
	}
	return run();
}
