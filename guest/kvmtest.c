/*
 * kvmtest - small KVM exerciser, run inside the test guest (kvm-amd on
 * emulated SVM; on aarch64, KVM/arm64 in a QEMU guest with EL2).  One
 * binary, several subcommands; see usage() below.
 *
 * Build: gcc -O2 -Wall -Wextra -Werror -pthread -o kvmtest kvmtest.c
 *   aarch64: aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -static -pthread ...
 *
 * The architecture-specific parts (the guest program, vCPU setup, the exit
 * checks, svme, lockdep-chain and gbpages, which are x86-only) are under
 * #ifdef __x86_64__ / __aarch64__; everything else is shared.
 *
 * Every failure is reported as "kvmtest: <what> failed: <reason>" on
 * stderr; the process exits 0 on success and 1 on any failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#ifdef __aarch64__
#include <stddef.h>		/* offsetof, for KVM_REG_ARM_CORE_REG() */
#endif
#include <linux/kvm.h>

#if !defined(__x86_64__) && !defined(__aarch64__)
#error "kvmtest supports x86_64 and aarch64 only"
#endif

#define GUEST_MEM_SIZE	0x10000		/* 64 KiB per memslot */
#define GUEST_ENTRY	0x1000		/* guest code address (CS base 0) */
#define GUEST_RESULT	5050		/* 1 + 2 + ... + 100 */
#define MAX_REPORTS	20	/* hold/churn: cap on printed failures */

#ifdef __x86_64__
#define GUEST_PORT	0x10		/* guest reports its result here */
#define SLOT1_GPA	0x100000	/* lockdep-chain's temporary slot */

#define MSR_IA32_APICBASE	0x1b
#define APICBASE_BSP		0x100ULL
#define APICBASE_ENABLE		0x800ULL	/* deliberately left clear */
#define APICBASE_DEFAULT	0xfee00000ULL

#define NX_PARAM	"/sys/module/kvm/parameters/nx_huge_pages"
#endif

#ifdef __aarch64__
/* No memslot there: a store to it is a KVM_EXIT_MMIO with the value. */
#define GUEST_MMIO	0x10000000ULL
#define ARM64_CORE_REG(x)	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | \
				 KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(x))
#endif

#ifdef __x86_64__
/*
 * 16-bit real-mode guest, copied to GUEST_ENTRY: sums 1..100 into AX,
 * writes AX (16-bit) to GUEST_PORT, then halts.
 */
static const uint8_t guest_code[] = {
	0xb9, 0x64, 0x00,	/*     mov  $100, %cx                 */
	0x31, 0xc0,		/*     xor  %ax, %ax                  */
	0x01, 0xc8,		/* 1:  add  %cx, %ax                  */
	0xe2, 0xfc,		/*     loop 1b   (dec %cx; jnz 1b)    */
	0xe7, GUEST_PORT,	/*     out  %ax, $GUEST_PORT          */
	0xf4,			/*     hlt                            */
};
#endif

#ifdef __aarch64__
/*
 * AArch64 guest at EL1, MMU off (the state KVM_ARM_VCPU_INIT leaves),
 * copied to GUEST_ENTRY: sums 1..100 into x0, stores x0 (64-bit) to
 * GUEST_MMIO (unmapped: KVM_EXIT_MMIO), then PSCI SYSTEM_OFF through HVC
 * (KVM_EXIT_SYSTEM_EVENT, SHUTDOWN).  Checked with aarch64-linux-gnu-as.
 */
_Static_assert(PSCI_0_2_FN_SYSTEM_OFF == 0x84000008, "guest_code's SYSTEM_OFF id");
static const uint32_t guest_code[] = {
	0xd2800000,	/*     mov   x0, #0                        */
	0xd2800c81,	/*     mov   x1, #100                      */
	0x8b010000,	/* 1:  add   x0, x0, x1                    */
	0xf1000421,	/*     subs  x1, x1, #1                    */
	0x54ffffc1,	/*     b.ne  1b                            */
	0xd2a20002,	/*     movz  x2, #0x1000, lsl #16 (GUEST_MMIO) */
	0xf9000040,	/*     str   x0, [x2]                      */
	0xd2800100,	/*     movz  x0, #0x0008                   */
	0xf2b08000,	/*     movk  x0, #0x8400, lsl #16          */
			/*     (x0 = PSCI_0_2_FN_SYSTEM_OFF)        */
	0xd4000002,	/*     hvc   #0                            */
	0x14000000,	/*     b     .                             */
};
#endif

/* ---------- error reporting ---------- */

static int reports;	/* failures printed so far (updated atomically) */

/* Print "kvmtest: <what> failed: <detail>" (rate-limited); returns -1. */
static int fail(const char *what, const char *detail)
{
	int n = __atomic_fetch_add(&reports, 1, __ATOMIC_RELAXED);

	if (n < MAX_REPORTS)
		fprintf(stderr, "kvmtest: %s failed: %s\n", what, detail);
	else if (n == MAX_REPORTS)
		fprintf(stderr, "kvmtest: further failure messages suppressed\n");
	return -1;
}

/* fail() with strerror(errno) as detail; thread-safe (GNU strerror_r). */
static int fail_errno(const char *what)
{
	char buf[128];

	return fail(what, strerror_r(errno, buf, sizeof(buf)));
}

static void __attribute__((noreturn)) die_errno(const char *what)
{
	fail_errno(what);
	exit(1);
}

/* ---------- VM setup / teardown ---------- */

struct vm {
	int kvm_fd, vm_fd, vcpu_fd;
	uint8_t *mem;		/* backing of memslot 0 */
	struct kvm_run *run;	/* vCPU's shared run structure */
	size_t run_size;
#ifdef __aarch64__
	struct kvm_vcpu_init init;	/* KVM_ARM_PREFERRED_TARGET + PSCI 0.2 */
#endif
};

static int set_memslot(int vm_fd, uint32_t slot, uint64_t gpa,
		       uint64_t size, void *host)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,	/* 0 deletes the slot */
		.userspace_addr = (uintptr_t)host,
	};

	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* Release whatever vm_create() managed to set up; safe on partial state. */
static void vm_destroy(struct vm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->vcpu_fd >= 0)
		close(v->vcpu_fd);
	if (v->vm_fd >= 0)
		close(v->vm_fd);
	if (v->mem)
		munmap(v->mem, GUEST_MEM_SIZE);
	if (v->kvm_fd >= 0)
		close(v->kvm_fd);
	*v = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };
}

/*
 * Open /dev/kvm, create a VM (optionally with an in-kernel irqchip),
 * memslot 0 holding the guest code, and vCPU 0 prepared for real mode at
 * 0:GUEST_ENTRY (aarch64: the vCPU target chosen; guest_run() initializes
 * the vCPU).  On failure returns -1; the caller must still call
 * vm_destroy().
 */
static int vm_create(struct vm *v, int irqchip)
{
#ifdef __x86_64__
	struct kvm_sregs sregs;
#endif
	char buf[64];
	int r;

	*v = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1 };

	v->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (v->kvm_fd < 0)
		return fail_errno("open /dev/kvm");
	r = ioctl(v->kvm_fd, KVM_GET_API_VERSION, 0);
	if (r < 0)
		return fail_errno("KVM_GET_API_VERSION");
	if (r != KVM_API_VERSION) {
		snprintf(buf, sizeof(buf), "version %d, expected %d",
			 r, KVM_API_VERSION);
		return fail("KVM_GET_API_VERSION check", buf);
	}

	/*
	 * EINTR: the MMU notifier's registration gives up when a signal is
	 * pending, e.g. the freezer's at suspend; QEMU retries too.
	 */
	do
		v->vm_fd = ioctl(v->kvm_fd, KVM_CREATE_VM, 0);
	while (v->vm_fd < 0 && errno == EINTR);
	if (v->vm_fd < 0)
		return fail_errno("KVM_CREATE_VM");
	if (irqchip && ioctl(v->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return fail_errno("KVM_CREATE_IRQCHIP");

	v->mem = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		return fail_errno("mmap guest memory");
	}
	memcpy(v->mem + GUEST_ENTRY, guest_code, sizeof(guest_code));
	if (set_memslot(v->vm_fd, 0, 0, GUEST_MEM_SIZE, v->mem) < 0)
		return fail_errno("KVM_SET_USER_MEMORY_REGION (slot 0)");

	v->vcpu_fd = ioctl(v->vm_fd, KVM_CREATE_VCPU, 0);
	if (v->vcpu_fd < 0)
		return fail_errno("KVM_CREATE_VCPU");
	r = ioctl(v->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < 0)
		return fail_errno("KVM_GET_VCPU_MMAP_SIZE");
	if ((size_t)r < sizeof(struct kvm_run)) {
		snprintf(buf, sizeof(buf), "size %d is too small", r);
		return fail("KVM_GET_VCPU_MMAP_SIZE check", buf);
	}
	v->run_size = r;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu_fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return fail_errno("mmap kvm_run");
	}

#ifdef __x86_64__
	/*
	 * A new vCPU is at the reset vector (CS base 0xffff0000); make CS
	 * flat at 0 so that CS:IP = 0:GUEST_ENTRY.  The other segments
	 * already have base 0 and a 64 KiB limit.
	 */
	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail_errno("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail_errno("KVM_SET_SREGS");
#endif
#ifdef __aarch64__
	/*
	 * The host CPU's vCPU type; PSCI 0.2 so that the guest can end with
	 * SYSTEM_OFF (PSCI 0.1 has no such call).
	 */
	if (ioctl(v->vm_fd, KVM_ARM_PREFERRED_TARGET, &v->init) < 0)
		return fail_errno("KVM_ARM_PREFERRED_TARGET");
	v->init.features[0] |= 1U << KVM_ARM_VCPU_PSCI_0_2;
#endif
	return 0;
}

/* KVM_RUN, restarted if a signal interrupted it (guest state is kept). */
static int vcpu_run(struct vm *v)
{
	int r;

	do
		r = ioctl(v->vcpu_fd, KVM_RUN, 0);
	while (r < 0 && errno == EINTR);
	return r;
}

static void describe_exit(const struct kvm_run *run, char *buf, size_t len)
{
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		snprintf(buf, len, "I/O exit dir %u port 0x%x size %u count %u",
			 run->io.direction, run->io.port, run->io.size,
			 run->io.count);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(buf, len, "entry failure, reason 0x%llx",
			 (unsigned long long)
			 run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		snprintf(buf, len, "internal error, suberror %u",
			 run->internal.suberror);
		break;
#ifdef __aarch64__
	case KVM_EXIT_MMIO:
		snprintf(buf, len, "MMIO exit %s 0x%llx len %u",
			 run->mmio.is_write ? "write to" : "read of",
			 (unsigned long long)run->mmio.phys_addr,
			 run->mmio.len);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		snprintf(buf, len, "system event exit, type %u",
			 run->system_event.type);
		break;
#endif
	default:
		snprintf(buf, len, "unexpected exit reason %u",
			 run->exit_reason);
		break;
	}
}

#ifdef __x86_64__
/*
 * Run the guest program once from the start: expect an OUT of
 * GUEST_RESULT to GUEST_PORT, then a HLT exit (no in-kernel irqchip, so
 * HLT comes back to userspace and the vCPU stays runnable).
 */
static int guest_run(struct vm *v)
{
	struct kvm_run *run = v->run;
	struct kvm_regs regs;
	uint16_t val;
	char buf[128];

	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ENTRY;
	regs.rflags = 0x2;	/* bit 1 of RFLAGS is reserved, always 1 */
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail_errno("KVM_SET_REGS");

	if (vcpu_run(v) < 0)
		return fail_errno("KVM_RUN");
	if (run->exit_reason != KVM_EXIT_IO ||
	    run->io.direction != KVM_EXIT_IO_OUT ||
	    run->io.port != GUEST_PORT || run->io.size != 2 ||
	    run->io.count != 1) {
		describe_exit(run, buf, sizeof(buf));
		return fail("guest I/O exit check", buf);
	}
	memcpy(&val, (uint8_t *)run + run->io.data_offset, sizeof(val));
	if (val != GUEST_RESULT) {
		snprintf(buf, sizeof(buf), "guest wrote %u, expected %u",
			 val, GUEST_RESULT);
		return fail("guest result check", buf);
	}

	/* This KVM_RUN completes the OUT and continues to the HLT. */
	if (vcpu_run(v) < 0)
		return fail_errno("KVM_RUN (after I/O)");
	if (run->exit_reason != KVM_EXIT_HLT) {
		describe_exit(run, buf, sizeof(buf));
		return fail("guest HLT exit check", buf);
	}
	return 0;
}
#endif

#ifdef __aarch64__
/*
 * Run the guest program once from the start: (re)initialize the vCPU
 * (KVM_ARM_VCPU_INIT resets it, and makes it runnable again after the
 * previous run's SYSTEM_OFF), set PC to GUEST_ENTRY, expect a 64-bit MMIO
 * write of GUEST_RESULT to GUEST_MMIO, then a SYSTEM_OFF system event.
 */
static int guest_run(struct vm *v)
{
	struct kvm_run *run = v->run;
	uint64_t pc = GUEST_ENTRY, val;
	struct kvm_one_reg reg = {
		.id = ARM64_CORE_REG(regs.pc),
		.addr = (uintptr_t)&pc,
	};
	char buf[128];

	if (ioctl(v->vcpu_fd, KVM_ARM_VCPU_INIT, &v->init) < 0)
		return fail_errno("KVM_ARM_VCPU_INIT");
	if (ioctl(v->vcpu_fd, KVM_SET_ONE_REG, &reg) < 0)
		return fail_errno("KVM_SET_ONE_REG (pc)");

	if (vcpu_run(v) < 0)
		return fail_errno("KVM_RUN");
	if (run->exit_reason != KVM_EXIT_MMIO || !run->mmio.is_write ||
	    run->mmio.phys_addr != GUEST_MMIO || run->mmio.len != 8) {
		describe_exit(run, buf, sizeof(buf));
		return fail("guest MMIO exit check", buf);
	}
	memcpy(&val, run->mmio.data, sizeof(val));
	if (val != GUEST_RESULT) {
		snprintf(buf, sizeof(buf), "guest wrote %llu, expected %u",
			 (unsigned long long)val, GUEST_RESULT);
		return fail("guest result check", buf);
	}

	/* This KVM_RUN completes the MMIO write and continues to the HVC. */
	if (vcpu_run(v) < 0)
		return fail_errno("KVM_RUN (after MMIO)");
	if (run->exit_reason != KVM_EXIT_SYSTEM_EVENT ||
	    run->system_event.type != KVM_SYSTEM_EVENT_SHUTDOWN) {
		describe_exit(run, buf, sizeof(buf));
		return fail("guest SYSTEM_OFF exit check", buf);
	}
	return 0;
}
#endif

/* Full cycle: create VM + vCPU, run the guest once, tear down. */
static int vm_cycle(void)
{
	struct vm v;
	int r = vm_create(&v, 0);

	if (r == 0)
		r = guest_run(&v);
	vm_destroy(&v);
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Pin the calling thread (the whole process if single-threaded). */
static int pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* ---------- run ---------- */

static int cmd_run(int count)
{
	for (int i = 0; i < count; i++)
		if (vm_cycle() < 0)
			return 1;
	printf("kvmtest: run: %d/%d guest runs ok on cpu %d\n",
	       count, count, sched_getcpu());
	return 0;
}

/* ---------- hold ---------- */

static volatile sig_atomic_t stop_requested;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int cmd_hold(const char *until_file, int max_seconds)
{
	/* No SA_RESTART: the signal just cuts the 100 ms sleep short. */
	struct sigaction sa = { .sa_handler = on_stop_signal };
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 100000000 };
	long runs = 0, failures = 0;
	double deadline;
	struct vm v;

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0)
		die_errno("sigaction");

	if (vm_create(&v, 0) < 0) {
		vm_destroy(&v);
		return 1;
	}
	deadline = now() + max_seconds;
	for (;;) {
		if (guest_run(&v) == 0) {
			if (runs++ == 0) {
				printf("ready\n");
				fflush(stdout);
			}
		} else {
			failures++;
		}
		if (stop_requested || access(until_file, F_OK) == 0 ||
		    now() >= deadline)
			break;
		nanosleep(&tick, NULL);	/* EINTR is fine: re-checked above */
	}
	vm_destroy(&v);
	printf("kvmtest: hold: %ld runs, %ld failures\n", runs, failures);
	return failures > 0 || runs == 0;
}

/* ---------- churn ---------- */

struct churn_thread {
	pthread_t tid;
	int index;
	const int *cpus;	/* CPU list to rotate over (may be empty) */
	int ncpus;
	double deadline;
	long created, failures, offline_skips;
};

/*
 * Pin the calling thread to the next CPU of the list, starting at *next.
 * EINVAL means the CPU is offline (another process hot-unplugs CPUs):
 * skip it and try the following one; it will be retried on a later
 * round.  If every listed CPU is offline, keep the current affinity.
 */
static void churn_pin(struct churn_thread *t, int *next)
{
	char what[64];

	for (int tries = 0; tries < t->ncpus; tries++) {
		int cpu = t->cpus[*next];

		*next = (*next + 1) % t->ncpus;
		if (pin_to_cpu(cpu) == 0)
			return;
		if (errno == EINVAL) {
			t->offline_skips++;
			continue;
		}
		snprintf(what, sizeof(what), "sched_setaffinity to cpu %d", cpu);
		fail_errno(what);
		t->failures++;
		return;
	}
}

static void *churn_main(void *arg)
{
	struct churn_thread *t = arg;
	int next = t->ncpus ? t->index % t->ncpus : 0;	/* stagger threads */

	while (now() < t->deadline && !stop_requested) {
		if (t->ncpus)
			churn_pin(t, &next);
		if (vm_cycle() == 0)
			t->created++;
		else
			t->failures++;
	}
	return NULL;
}

static int cmd_churn(int nthreads, int seconds, const int *cpus, int ncpus)
{
	struct churn_thread *threads = calloc(nthreads, sizeof(*threads));
	struct sigaction sa = { .sa_handler = on_stop_signal };
	long created = 0, failures = 0, skips = 0;
	double deadline = now() + seconds;
	int r;

	if (!threads)
		die_errno("calloc");
	/* SIGINT/SIGTERM end the churn early, as a normal finish. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) < 0 ||
	    sigaction(SIGINT, &sa, NULL) < 0)
		die_errno("sigaction");
	for (int i = 0; i < nthreads; i++) {
		threads[i].index = i;
		threads[i].cpus = cpus;
		threads[i].ncpus = ncpus;
		threads[i].deadline = deadline;
		r = pthread_create(&threads[i].tid, NULL, churn_main,
				   &threads[i]);
		if (r) {
			errno = r;
			die_errno("pthread_create");
		}
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(threads[i].tid, NULL);
		created += threads[i].created;
		failures += threads[i].failures;
		skips += threads[i].offline_skips;
	}
	free(threads);
	if (ncpus)
		printf("kvmtest: churn: %ld pin attempts skipped an offline cpu\n",
		       skips);
	printf("kvmtest: churn: %ld vms created and run, %ld failures\n",
	       created, failures);
	return failures > 0 || created == 0;
}

/* ---------- vmtime ---------- */

/*
 * K times: create a VM (KVM_CREATE_VM only: no vCPU, no memory) and destroy
 * it (close of its last fd), printing each step's time in microseconds.
 * With no other VM open, each create is KVM's first VM (usage count 0 -> 1,
 * virtualization enabled on every CPU) and each destroy its last.
 */
static int cmd_vmtime(int count)
{
	int kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (kvm_fd < 0)
		return fail_errno("open /dev/kvm");
	for (int i = 0; i < count; i++) {
		double t0 = now(), t1, t2;
		int vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);

		t1 = now();
		if (vm_fd < 0)
			return fail_errno("KVM_CREATE_VM");
		close(vm_fd);
		t2 = now();
		printf("kvmtest: vmtime: create_us %.1f destroy_us %.1f\n",
		       (t1 - t0) * 1e6, (t2 - t1) * 1e6);
	}
	close(kvm_fd);
	return 0;
}

/* ---------- failvm ---------- */

/*
 * Fault injection into VM creation, through the kernel's own framework
 * (Documentation/fault-injection/fault-injection.rst): the guest script sets
 * up failslab (or fail_function) in debugfs; this process marks itself as the
 * task to fail around KVM_CREATE_VM and KVM_CREATE_VCPU only:
 *   default      /proc/thread-self/make-it-fail is 1 around the two calls
 *                (for a fault attribute with task-filter=Y), K times
 *   --fail-nth   systematic: for N = 1, 2, ... /proc/thread-self/fail-nth
 *                fails the Nth fault site the two calls reach, until a pass
 *                reaches fewer than N sites (each site has failed once)
 * The fds of those files are opened once, outside the window: opening a
 * file allocates, and would use up the fault itself.  Every --check-every
 * attempts and at the end a VM is created and its guest run with no fault
 * injected: that must work.  Prints the calls' errors by errno.
 */
#define FAILVM_NERR	256

struct failvm {
	int ctl_fd;			/* make-it-fail or fail-nth */
	long tries, created, injected, absorbed, checks;
	long errs[2][FAILVM_NERR];	/* [KVM_CREATE_VM, KVM_CREATE_VCPU][errno] */
};

static int failvm_ctl(struct failvm *f, long val)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%ld", val);

	if (pwrite(f->ctl_fd, buf, n, 0) != n)
		return fail_errno("write /proc/thread-self fault control");
	return 0;
}

static long failvm_left(struct failvm *f)
{
	char buf[24];
	ssize_t n = pread(f->ctl_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return fail_errno("read /proc/thread-self/fail-nth");
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

static void failvm_count(struct failvm *f, int step, int err)
{
	f->errs[step][err > 0 && err < FAILVM_NERR ? err : 0]++;
}

/*
 * KVM_CREATE_VM and KVM_CREATE_VCPU with the fault control set to @val
 * (make-it-fail 1, or fail-nth N), reset to 0 before anything else; with
 * @left, what fail-nth had left (0: its fault was injected).  Returns 1 if
 * both calls succeeded, 0 if one failed (counted by errno), -1 if the
 * control file failed.
 */
static int failvm_once(struct failvm *f, int kvm_fd, long val, long *left)
{
	int vm_fd, vcpu_fd = -1, err_vm = 0, err_vcpu = 0;

	if (failvm_ctl(f, val) < 0)
		return -1;
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		err_vm = errno;
	else if ((vcpu_fd = ioctl(vm_fd, KVM_CREATE_VCPU, 0)) < 0)
		err_vcpu = errno;
	if (left && (*left = failvm_left(f)) < 0)
		return -1;
	if (failvm_ctl(f, 0) < 0)
		return -1;
	if (vcpu_fd >= 0)
		close(vcpu_fd);
	if (vm_fd >= 0)
		close(vm_fd);
	f->tries++;
	if (err_vm)
		failvm_count(f, 0, err_vm);
	else if (err_vcpu)
		failvm_count(f, 1, err_vcpu);
	else
		f->created++;
	return !err_vm && !err_vcpu;
}

static void failvm_print_errs(const struct failvm *f)
{
	static const char *const step[2] = { "KVM_CREATE_VM", "KVM_CREATE_VCPU" };

	for (int s = 0; s < 2; s++) {
		const char *sep = ":";
		long total = 0;

		for (int e = 0; e < FAILVM_NERR; e++)
			total += f->errs[s][e];
		printf("kvmtest: failvm: %s failed %ld times", step[s], total);
		for (int e = 0; e < FAILVM_NERR; e++) {
			if (!f->errs[s][e])
				continue;
			printf("%s %s x%ld", sep,
			       e ? strerror(e) : "errno out of range", f->errs[s][e]);
			sep = ",";
		}
		printf("\n");
	}
}

static int cmd_failvm(int count, int fail_nth, int check_every)
{
	static struct failvm f;
	int kvm_fd, r, bad = 0;
	long left = 0;

	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0)
		return fail_errno("open /dev/kvm");
	f.ctl_fd = open(fail_nth ? "/proc/thread-self/fail-nth" :
			"/proc/thread-self/make-it-fail", O_RDWR | O_CLOEXEC);
	if (f.ctl_fd < 0)
		return fail_errno("open /proc/thread-self fault control");

	for (long n = 1; fail_nth ? n <= 100000 : n <= count; n++) {
		r = failvm_once(&f, kvm_fd, fail_nth ? n : 1, fail_nth ? &left : NULL);
		if (r < 0)
			return 1;
		if (fail_nth) {
			if (left > 0) {		/* fewer than n sites: all done */
				f.tries--;
				f.created--;
				break;
			}
			f.injected++;
			f.absorbed += r;
		}
		if (check_every && n % check_every == 0) {
			f.checks++;
			if (vm_cycle() < 0)
				bad++;
		}
	}
	f.checks++;
	if (vm_cycle() < 0)
		bad++;
	close(f.ctl_fd);
	close(kvm_fd);
	if (fail_nth)
		printf("kvmtest: failvm: fail-nth: %ld fault sites in KVM_CREATE_VM and KVM_CREATE_VCPU, "
		       "each failed once: %ld made a call fail, %ld were absorbed\n",
		       f.injected, f.injected - f.absorbed, f.absorbed);
	else
		printf("kvmtest: failvm: %ld attempts with make-it-fail, %ld created a VM and vCPU\n",
		       f.tries, f.created);
	failvm_print_errs(&f);
	printf("kvmtest: failvm: %ld/%ld guest runs without faults ok\n", f.checks - bad, f.checks);
	return bad > 0;
}

/* ---------- svme ---------- */

static int parse_cpu_list(const char *s, int *cpus, int max);

#ifdef __x86_64__
/*
 * Read EFER (MSR 0xc0000080) of every online CPU through the msr driver and
 * check that SVME (bit 12) is @want on each; print what was seen.
 */
static int cmd_svme(int want)
{
	char list[256] = "", path[64];
	int cpus[CPU_SETSIZE], n, bad = 0;
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");

	if (!f || !fgets(list, sizeof(list), f))
		die_errno("read /sys/devices/system/cpu/online");
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	n = parse_cpu_list(list, cpus, CPU_SETSIZE);
	printf("kvmtest: svme: EFER.SVME");
	for (int i = 0; i < n; i++) {
		uint64_t efer = 0;
		int fd, svme;

		snprintf(path, sizeof(path), "/dev/cpu/%d/msr", cpus[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || pread(fd, &efer, 8, 0xc0000080) != 8)
			die_errno(path);
		close(fd);
		svme = (efer >> 12) & 1;
		printf(" cpu%d=%d", cpus[i], svme);
		bad |= svme != want;
	}
	printf(", expected %d on every online CPU\n", want);
	return bad;
}

/* ---------- lockdep-chain ---------- */

static int write_param(const char *val)
{
	int fd = open(NX_PARAM, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, val, strlen(val));
	close(fd);
	return n < 0 ? -1 : 0;
}

/*
 * Flip kvm.nx_huge_pages and restore it.  The brief asks for writing "Y";
 * a write of the value already set is a no-op in the kernel (no locks
 * taken), so when it is already "Y" we flip to "N" instead.
 */
static int nx_huge_pages_toggle(void)
{
	char orig[32];
	const char *flip;
	ssize_t n;
	int fd = open(NX_PARAM, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT) {
		printf("kvmtest: note: %s missing, skipping its write\n",
		       NX_PARAM);
		return 0;
	}
	if (fd < 0)
		return fail_errno("open " NX_PARAM);
	n = read(fd, orig, sizeof(orig) - 1);
	close(fd);
	if (n < 0)
		return fail_errno("read " NX_PARAM);
	orig[n] = '\0';
	orig[strcspn(orig, "\n")] = '\0';

	flip = orig[0] == 'Y' ? "N" : "Y";
	if (write_param(flip) < 0) {
		if (errno == EPERM || errno == EACCES) {
			/* e.g. "never": mitigation hard-disabled at boot */
			printf("kvmtest: note: cannot write %s (value \"%s\"): %s; continuing\n",
			       NX_PARAM, orig, strerror(errno));
			return 0;
		}
		return fail_errno("write " NX_PARAM);
	}
	if (write_param(orig) < 0)
		return fail_errno("restore " NX_PARAM);
	return 0;
}

/*
 * Take, in one pass, the lock edges of the kvm_lock / cpu_hotplug_lock
 * cycle so that a lockdep kernel records all of them:
 *   - memslot add/delete: slots_lock held across synchronize_srcu() on
 *     kvm->srcu                                  => slots_lock -> srcu
 *   - KVM_SET_MSRS runs under the vCPU's kvm->srcu read lock; clearing
 *     the APIC enable bit bumps the apic_hw_disabled static key, whose
 *     static_key_slow_inc() takes cpus_read_lock() => srcu -> cpu_hotplug_lock
 *   - writing nx_huge_pages takes kvm_lock, then every VM's slots_lock
 *     (our VM must still exist)                  => kvm_lock -> slots_lock
 * CPU hotplug (KVM's online/offline callbacks take kvm_lock under the
 * hotplug lock) supplies cpu_hotplug_lock -> kvm_lock, closing the cycle.
 * The vCPU is never run.
 */
static int cmd_lockdep_chain(void)
{
	struct kvm_msrs *msrs = NULL;
	void *mem1 = MAP_FAILED;
	struct vm v;
	int ret = 1, r;

	/* KVM_CREATE_VM, KVM_CREATE_IRQCHIP, memslot 0, KVM_CREATE_VCPU */
	if (vm_create(&v, 1) < 0)
		goto out;

	mem1 = mmap(NULL, GUEST_MEM_SIZE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem1 == MAP_FAILED) {
		fail_errno("mmap slot 1 memory");
		goto out;
	}
	if (set_memslot(v.vm_fd, 1, SLOT1_GPA, GUEST_MEM_SIZE, mem1) < 0) {
		fail_errno("KVM_SET_USER_MEMORY_REGION (add slot 1)");
		goto out;
	}
	if (set_memslot(v.vm_fd, 1, SLOT1_GPA, 0, mem1) < 0) {
		fail_errno("KVM_SET_USER_MEMORY_REGION (delete slot 1)");
		goto out;
	}

	/* kvm_msrs ends in a flexible array: room for one entry. */
	msrs = calloc(1, sizeof(*msrs) + sizeof(msrs->entries[0]));
	if (!msrs) {
		fail_errno("calloc");
		goto out;
	}
	msrs->nmsrs = 1;
	msrs->entries[0].index = MSR_IA32_APICBASE;
	msrs->entries[0].data = (APICBASE_DEFAULT | APICBASE_BSP) & ~APICBASE_ENABLE;
	/* KVM_SET_MSRS returns how many MSRs it set; stops at the first bad one. */
	r = ioctl(v.vcpu_fd, KVM_SET_MSRS, msrs);
	if (r < 0) {
		fail_errno("KVM_SET_MSRS (APIC base)");
		goto out;
	}
	if (r != 1) {
		fail("KVM_SET_MSRS (APIC base)", "KVM rejected the value (0 of 1 MSRs set)");
		goto out;
	}

	if (nx_huge_pages_toggle() < 0)
		goto out;

	printf("kvmtest: lockdep-chain: done\n");
	ret = 0;
out:
	free(msrs);
	if (mem1 != MAP_FAILED)
		munmap(mem1, GUEST_MEM_SIZE);
	vm_destroy(&v);
	return ret;
}

/* ---------- gbpages ---------- */

/*
 * A 64-bit guest that reaches its data through a 1 GiB page, with an
 * instruction KVM emulates: OUTSB intercepts as string I/O, so KVM's
 * emulator reads the byte at RSI through KVM's walk of the guest's page
 * tables.  With nested paging KVM lets that walk take a 1 GiB page if the
 * host has them (guest_can_use_gbpages(): X86_FEATURE_GBPAGES of the host,
 * not of the guest's CPUID); if KVM thinks the host has none, the PS bit of
 * the PDPTE is a reserved bit to the walk and the guest takes a #PF with
 * the RSVD bit in its error code instead.  The guest's code, tables and
 * stack are in 4 KiB pages, so only the OUTSB's data goes through the
 * 1 GiB page.  Guest physical layout (memslot 0, GUEST_MEM_SIZE):
 */
#define GB_GDT		0x0500	/* null, 64-bit code (0x08), data (0x10) */
#define GB_IDT		0x0600	/* 16 gates; only #PF (14) is set */
#define GB_CODE		GUEST_ENTRY
#define GB_PF_HANDLER	0x1100
#define GB_PML4		0x2000
#define GB_PDPT		0x3000	/* [0]: GB_PD; [1]: 1 GiB page at GPA 0 */
#define GB_PD		0x4000
#define GB_PT		0x5000	/* 4 KiB pages: VA = GPA over the memslot */
#define GB_DATA		0x6000	/* the byte the guest sends */
#define GB_STACK	0x8000	/* top of the stack */
#define GB_VA		(0x40000000ULL + GB_DATA)	/* GB_DATA via PDPT[1] */
#define GB_BYTE		0xa5
#define GB_PORT_DATA	0x12	/* OUTSB: the byte read through the 1 GiB page */
#define GB_PORT_PF	0x13	/* the #PF handler: its error code (32-bit) */
#define PTE_P_RW	0x3ULL
#define PTE_PS		0x80ULL
#define PFERR_RSVD	0x8

static const uint8_t gb_code[] = {
	0xbe, 0x00, 0x60, 0x00, 0x40,	/* mov  $GB_VA, %esi               */
	0x66, 0xba, GB_PORT_DATA, 0x00,	/* mov  $GB_PORT_DATA, %dx         */
	0x6e,				/* outsb %ds:(%rsi), (%dx)         */
	0xf4,				/* hlt                             */
};
_Static_assert(GB_VA == 0x40006000, "gb_code's mov $GB_VA");

static const uint8_t gb_pf_handler[] = {
	0x58,				/* pop  %rax   (the error code)    */
	0xe7, GB_PORT_PF,		/* out  %eax, $GB_PORT_PF          */
	0xf4,				/* hlt                             */
};

static void gb_put64(uint8_t *mem, uint64_t gpa, uint64_t val)
{
	memcpy(mem + gpa, &val, sizeof(val));
}

/* The guest's memory: descriptor tables, page tables, code, data. */
static void gb_setup_memory(uint8_t *mem)
{
	uint64_t h = GB_PF_HANDLER;
	uint8_t gate[16] = {
		h & 0xff, (h >> 8) & 0xff, 0x08, 0x00,	/* offset 15:0, CS 0x08 */
		0x00, 0x8e,				/* IST 0, 64-bit interrupt gate, P */
		(h >> 16) & 0xff, (h >> 24) & 0xff,	/* offset 31:16 */
	};						/* offset 63:32 and the rest 0 */

	gb_put64(mem, GB_GDT + 0x08, 0x00af9b000000ffffULL);	/* 64-bit code */
	gb_put64(mem, GB_GDT + 0x10, 0x00cf93000000ffffULL);	/* data */
	memcpy(mem + GB_IDT + 14 * 16, gate, sizeof(gate));
	gb_put64(mem, GB_PML4, GB_PDPT | PTE_P_RW);
	gb_put64(mem, GB_PDPT, GB_PD | PTE_P_RW);
	gb_put64(mem, GB_PDPT + 8, 0 | PTE_PS | PTE_P_RW);	/* 1 GiB at GPA 0 */
	gb_put64(mem, GB_PD, GB_PT | PTE_P_RW);
	for (uint64_t a = 0; a < GUEST_MEM_SIZE; a += 0x1000)
		gb_put64(mem, GB_PT + a / 0x1000 * 8, a | PTE_P_RW);
	memcpy(mem + GB_CODE, gb_code, sizeof(gb_code));
	memcpy(mem + GB_PF_HANDLER, gb_pf_handler, sizeof(gb_pf_handler));
	mem[GB_DATA] = GB_BYTE;
}

/* The guest's CPUID: what KVM supports (long mode needs CPUID.LM). */
static int gb_set_cpuid(struct vm *v)
{
	struct kvm_cpuid2 *c;
	int n = 100, r;

	for (;;) {
		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			return fail_errno("calloc");
		c->nent = n;
		r = ioctl(v->kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (r == 0 || errno != E2BIG || n >= 1600)
			break;
		free(c);
		n *= 2;
	}
	if (r < 0) {
		fail_errno("KVM_GET_SUPPORTED_CPUID");
	} else if (ioctl(v->vcpu_fd, KVM_SET_CPUID2, c) < 0) {
		r = -1;
		fail_errno("KVM_SET_CPUID2");
	}
	free(c);
	return r;
}

/* 64-bit mode at GB_CODE: paging on (CR3 = GB_PML4), flat segments. */
static int gb_set_long_mode(struct vm *v)
{
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb,
		.present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.base = 0, .limit = 0xffffffff, .selector = 0x10, .type = 0x3,
		.present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	if (ioctl(v->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		return fail_errno("KVM_GET_SREGS");
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = GB_GDT;
	sregs.gdt.limit = 3 * 8 - 1;
	sregs.idt.base = GB_IDT;
	sregs.idt.limit = 16 * 16 - 1;
	sregs.cr0 = 0x80050033;		/* PG, AM, WP, NE, ET, MP, PE */
	sregs.cr3 = GB_PML4;
	sregs.cr4 = 0x20;		/* PAE */
	sregs.efer = 0x500;		/* LMA, LME */
	if (ioctl(v->vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		return fail_errno("KVM_SET_SREGS (64-bit mode)");
	memset(&regs, 0, sizeof(regs));
	regs.rip = GB_CODE;
	regs.rsp = GB_STACK;
	regs.rflags = 0x2;
	if (ioctl(v->vcpu_fd, KVM_SET_REGS, &regs) < 0)
		return fail_errno("KVM_SET_REGS");
	return 0;
}

/*
 * Run the guest: the OUTSB must come out as a 1-byte write of GB_BYTE to
 * GB_PORT_DATA, then the guest halts.  A #PF instead comes out of its
 * handler as a 4-byte write of the error code to GB_PORT_PF; CR2 says
 * where.
 */
static int cmd_gbpages(void)
{
	struct kvm_sregs sregs;
	struct kvm_run *run;
	char buf[160];
	uint32_t err = 0;
	struct vm v;
	int ret = 1;

	if (vm_create(&v, 0) < 0)
		goto out;
	run = v.run;
	gb_setup_memory(v.mem);
	if (gb_set_cpuid(&v) < 0 || gb_set_long_mode(&v) < 0)
		goto out;
	if (vcpu_run(&v) < 0) {
		fail_errno("KVM_RUN");
		goto out;
	}
	if (run->exit_reason == KVM_EXIT_IO && run->io.port == GB_PORT_PF &&
	    run->io.direction == KVM_EXIT_IO_OUT && run->io.size == 4) {
		memcpy(&err, (uint8_t *)run + run->io.data_offset, sizeof(err));
		if (ioctl(v.vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
			fail_errno("KVM_GET_SREGS");
			goto out;
		}
		snprintf(buf, sizeof(buf),
			 "the guest took #PF, error code 0x%x%s, CR2 0x%llx: "
			 "its OUTSB did not read its byte through the 1 GiB page at 0x%llx",
			 err, err & PFERR_RSVD ? " (a reserved bit set)" : "",
			 (unsigned long long)sregs.cr2, GB_VA & ~0x3fffffffULL);
		fail("gbpages", buf);
		goto out;
	}
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != GB_PORT_DATA ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 1 ||
	    run->io.count != 1) {
		describe_exit(run, buf, sizeof(buf));
		fail("gbpages: guest I/O exit check", buf);
		goto out;
	}
	if (*((uint8_t *)run + run->io.data_offset) != GB_BYTE) {
		snprintf(buf, sizeof(buf), "the guest sent 0x%x, expected 0x%x",
			 *((uint8_t *)run + run->io.data_offset), GB_BYTE);
		fail("gbpages: guest result check", buf);
		goto out;
	}
	if (vcpu_run(&v) < 0) {
		fail_errno("KVM_RUN (after I/O)");
		goto out;
	}
	if (run->exit_reason != KVM_EXIT_HLT) {
		describe_exit(run, buf, sizeof(buf));
		fail("gbpages: guest HLT exit check", buf);
		goto out;
	}
	printf("kvmtest: gbpages: the guest read 0x%x at 0x%llx through its 1 GiB page (cpu %d)\n",
	       GB_BYTE, GB_VA, sched_getcpu());
	ret = 0;
out:
	vm_destroy(&v);
	return ret;
}
#endif /* __x86_64__: svme, lockdep-chain */

#ifdef __aarch64__
/*
 * svme reads x86's EFER; lockdep-chain's lock edges come from x86 code
 * (the APIC base MSR, kvm.nx_huge_pages).  Exit 2: not a failure of KVM.
 */
static int not_supported(const char *cmd)
{
	fprintf(stderr, "kvmtest: %s: not supported on this architecture (aarch64)\n",
		cmd);
	return 2;
}

static int cmd_svme(int want)
{
	(void)want;
	return not_supported("svme");
}

static int cmd_lockdep_chain(void)
{
	return not_supported("lockdep-chain");
}

static int cmd_gbpages(void)
{
	return not_supported("gbpages");
}
#endif

/* ---------- command line ---------- */

#ifdef __x86_64__
#define USAGE_GUEST	"                             tiny real-mode guest (OUT then HLT), destroy it\n"
#define USAGE_X86_ONLY	""
#endif
#ifdef __aarch64__
#define USAGE_GUEST	"                             tiny EL1 guest (MMIO write, then PSCI SYSTEM_OFF),\n" \
			"                             destroy it\n"
#define USAGE_X86_ONLY	"                             (x86 only: exits 2 on this architecture)\n"
#endif

static void usage(FILE *f)
{
	fprintf(f,
"usage: kvmtest <command> [options]\n"
"\n"
"commands:\n"
"  run [--count K]            K times (default 1): create a VM and vCPU, run a\n"
USAGE_GUEST
"  hold --until-file PATH [--max-seconds S]\n"
"                             keep one VM; re-run the guest every 100 ms until\n"
"                             PATH exists, S seconds pass (default 600) or\n"
"                             SIGTERM/SIGINT; prints \"ready\" after the first\n"
"                             good run; R in the summary counts good runs\n"
"  churn --threads T --seconds S [--cpus LIST]\n"
"                             T threads create/run/destroy VMs for S seconds;\n"
"                             with LIST (e.g. 0,2-3) each thread re-pins to the\n"
"                             next listed CPU per VM, skipping offline CPUs;\n"
"                             SIGTERM/SIGINT end it early\n"
"  vmtime [--count K]         K times (default 1): create a VM (no vCPU) and\n"
"                             destroy it; prints each step's time in us\n"
"  failvm [--count K] [--check-every M] | failvm --fail-nth [--check-every M]\n"
"                             KVM_CREATE_VM and KVM_CREATE_VCPU K times (default\n"
"                             1) with /proc/thread-self/make-it-fail set (the\n"
"                             script sets up failslab/fail_function), or with\n"
"                             fail-nth = 1, 2, ... until every fault site failed\n"
"                             once; a guest runs every M attempts and at the end\n"
"  svme [--expect 0|1]       check EFER.SVME of every online CPU (default 1)\n"
USAGE_X86_ONLY
"  lockdep-chain              walk the kvm_lock/slots_lock/srcu/cpu_hotplug_lock\n"
"                             edges once (irqchip, memslot add+delete, APIC base\n"
"                             write, nx_huge_pages toggle)\n"
USAGE_X86_ONLY
"  gbpages                    run a 64-bit guest whose OUTSB (emulated by KVM)\n"
"                             reads its byte through a 1 GiB page; fails if the\n"
"                             guest takes a #PF instead\n"
USAGE_X86_ONLY
"\n"
"common options:\n"
"  --cpu N                    pin the process to CPU N before creating VMs\n"
"  --help                     show this text\n");
}

static void __attribute__((noreturn)) bad_usage(const char *what,
						const char *detail)
{
	fail(what, detail);
	fprintf(stderr, "kvmtest: see 'kvmtest --help'\n");
	exit(1);
}

static int parse_int(const char *opt, const char *s, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max) {
		char buf[96];

		snprintf(buf, sizeof(buf), "invalid value \"%s\" (want %d..%d)",
			 s, min, max);
		bad_usage(opt, buf);
	}
	return v;
}

/* Parse "0,2-3,5" into cpus[]; returns the number of entries. */
static int parse_cpu_list(const char *s, int *cpus, int max)
{
	const int lim = CPU_SETSIZE - 1;
	char *copy = strdup(s), *save = NULL, *tok;
	int n = 0;

	if (!copy)
		die_errno("strdup");
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		char *dash = strchr(tok, '-');
		int lo, hi;

		if (dash)
			*dash = '\0';
		lo = parse_int("--cpus", tok, 0, lim);
		hi = dash ? parse_int("--cpus", dash + 1, lo, lim) : lo;
		for (int c = lo; c <= hi; c++) {
			if (n == max)
				bad_usage("--cpus", "too many entries");
			cpus[n++] = c;
		}
	}
	free(copy);
	if (n == 0)
		bad_usage("--cpus", "empty list");
	return n;
}

enum { O_CPU = 1, O_COUNT, O_UNTIL, O_MAXSEC, O_THREADS, O_SECONDS,
       O_CPUS, O_HELP, O_EXPECT, O_FAILNTH, O_CHECKEVERY };
#define BIT(o) (1u << (o))

static const struct command {
	const char *name;
	unsigned int allowed;	/* BIT() of the options it accepts */
} commands[] = {
	{ "run",           BIT(O_COUNT) },
	{ "hold",          BIT(O_UNTIL) | BIT(O_MAXSEC) },
	{ "churn",         BIT(O_THREADS) | BIT(O_SECONDS) | BIT(O_CPUS) },
	{ "lockdep-chain", 0 },
	{ "svme",          BIT(O_EXPECT) },
	{ "failvm",        BIT(O_COUNT) | BIT(O_FAILNTH) | BIT(O_CHECKEVERY) },
	{ "vmtime",        BIT(O_COUNT) },
	{ "gbpages",       0 },
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "cpu",         required_argument, NULL, O_CPU },
		{ "count",       required_argument, NULL, O_COUNT },
		{ "until-file",  required_argument, NULL, O_UNTIL },
		{ "max-seconds", required_argument, NULL, O_MAXSEC },
		{ "threads",     required_argument, NULL, O_THREADS },
		{ "seconds",     required_argument, NULL, O_SECONDS },
		{ "cpus",        required_argument, NULL, O_CPUS },
		{ "help",        no_argument,       NULL, O_HELP },
		{ "expect",      required_argument, NULL, O_EXPECT },
		{ "fail-nth",    no_argument,       NULL, O_FAILNTH },
		{ "check-every", required_argument, NULL, O_CHECKEVERY },
		{ NULL, 0, NULL, 0 },
	};
	static int cpus[CPU_SETSIZE];
	const struct command *cmd = NULL;
	const char *until_file = NULL;
	int cpu = -1, count = 1, max_seconds = 600, nthreads = 0;
	int seconds = 0, ncpus = 0, expect = 1, o;
	int fail_nth = 0, check_every = 0;
	unsigned int seen = 0;

	if (argc < 2)
		bad_usage("command line", "no command given");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			cmd = &commands[i];
	if (!cmd)
		bad_usage("command line", "unknown command");

	/* Options follow the command: parse argv[1..] as their own argv. */
	while ((o = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (o) {
		case O_HELP:
			usage(stdout);
			return 0;
		case O_CPU:
			cpu = parse_int("--cpu", optarg, 0, CPU_SETSIZE - 1);
			break;
		case O_COUNT:
			count = parse_int("--count", optarg, 1, INT_MAX);
			break;
		case O_UNTIL:
			until_file = optarg;
			break;
		case O_MAXSEC:
			max_seconds = parse_int("--max-seconds", optarg, 1,
						INT_MAX / 2);
			break;
		case O_THREADS:
			nthreads = parse_int("--threads", optarg, 1, 4096);
			break;
		case O_SECONDS:
			seconds = parse_int("--seconds", optarg, 1,
					    INT_MAX / 2);
			break;
		case O_CPUS:
			ncpus = parse_cpu_list(optarg, cpus, CPU_SETSIZE);
			break;
		case O_EXPECT:
			expect = parse_int("--expect", optarg, 0, 1);
			break;
		case O_FAILNTH:
			fail_nth = 1;
			break;
		case O_CHECKEVERY:
			check_every = parse_int("--check-every", optarg, 0, INT_MAX);
			break;
		default:	/* getopt already printed the reason */
			bad_usage("command line", "bad option");
		}
		if (o != O_CPU && !(cmd->allowed & BIT(o)))
			bad_usage("command line",
				  "option not valid for this command");
		seen |= BIT(o);
	}
	if (optind < argc - 1)
		bad_usage("command line", "unexpected extra argument");
	if (!strcmp(cmd->name, "hold") && !until_file)
		bad_usage("hold", "--until-file is required");
	if (!strcmp(cmd->name, "churn") &&
	    !((seen & BIT(O_THREADS)) && (seen & BIT(O_SECONDS))))
		bad_usage("churn", "--threads and --seconds are required");

	if (cpu >= 0 && pin_to_cpu(cpu) < 0) {
		char what[64];

		snprintf(what, sizeof(what),
			 "sched_setaffinity to cpu %d (offline or absent?)", cpu);
		die_errno(what);
	}

	if (!strcmp(cmd->name, "run"))
		return cmd_run(count);
	if (!strcmp(cmd->name, "hold"))
		return cmd_hold(until_file, max_seconds);
	if (!strcmp(cmd->name, "churn"))
		return cmd_churn(nthreads, seconds, cpus, ncpus);
	if (!strcmp(cmd->name, "svme"))
		return cmd_svme(expect);
	if (!strcmp(cmd->name, "vmtime"))
		return cmd_vmtime(count);
	if (!strcmp(cmd->name, "failvm"))
		return cmd_failvm(count, fail_nth, check_every);
	if (!strcmp(cmd->name, "gbpages"))
		return cmd_gbpages();
	return cmd_lockdep_chain();
}
