/*
 * The riscv64 lane's guest library: PID 1's duties, TAP on the console,
 * CPU hotplug through sysfs, and a small KVM/riscv VM.  See lib.h.
 *
 * Build (guest/Makefile): riscv64-linux-gnu-gcc -O2 -Wall -Wextra -Werror
 *   -static -pthread -o guest/riscv/NAME guest/riscv/NAME.c guest/riscv/lib.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/klog.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

#ifndef __riscv
#error "guest/riscv is the riscv64 lane's guest program"
#endif

#define XSTR(x)	STR(x)
#define STR(x)	#x

int wb_fail(struct wb_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

static int fail_errno(struct wb_err *err, const char *what)
{
	return wb_fail(err, "%s: %s", what, strerror(errno));
}

/* ------------------------------------------------------------- PID 1 -- */

static int tests;	/* test points reported so far */
static char cmdline[4096];

void wb_say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	memcpy(line, "wb: ", 4);
	va_start(ap, fmt);
	n = vsnprintf(line + 4, sizeof(line) - 5, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = 4 + (n < (int)sizeof(line) - 5 ? n : (int)sizeof(line) - 6);
	line[n++] = '\n';
	if (write(1, line, n) < 0)
		return;		/* no console: nothing to tell it to */
}

int wb_check(const char *name, int good, const char *why)
{
	tests++;
	if (good)
		wb_say("ok %d - %s", tests, name);
	else if (why && *why)
		wb_say("not ok %d - %s # %s", tests, name, why);
	else
		wb_say("not ok %d - %s", tests, name);
	return good;
}

static void mount_one(const char *type, const char *dir)
{
	mkdir(dir, 0755);
	if (mount(type, dir, type, 0, NULL) < 0 && errno != EBUSY)
		wb_say("mount %s on %s: %s", type, dir, strerror(errno));
}

const char *wb_param(const char *name)
{
	static char value[256];
	char want[64];
	const char *p = cmdline;
	size_t wl;

	snprintf(want, sizeof(want), "wb.%s=", name);
	wl = strlen(want);
	while (*p) {
		size_t len = strcspn(p, " \n");

		if (len > wl && !strncmp(p, want, wl)) {
			len -= wl;
			if (len >= sizeof(value))
				len = sizeof(value) - 1;
			memcpy(value, p + wl, len);
			value[len] = 0;
			return value;
		}
		p += len;
		p += strspn(p, " \n");
	}
	return NULL;
}

long wb_param_long(const char *name, long dflt)
{
	const char *v = wb_param(name);
	char *end;
	long n;

	if (!v)
		return dflt;
	n = strtol(v, &end, 10);
	return *end || end == v ? dflt : n;
}

void wb_setup(void)
{
	struct utsname u;
	int fd;

	mount_one("proc", "/proc");
	mount_one("sysfs", "/sys");
	mount_one("devtmpfs", "/dev");
	mount_one("tmpfs", "/tmp");
	mount_one("debugfs", "/sys/kernel/debug");
	/* the kernel gives PID 1 the console as fds 0-2 when the
	 * initramfs has /dev/console (its built-in part does); if not,
	 * devtmpfs has it now */
	if (fcntl(1, F_GETFD) < 0) {
		fd = open("/dev/console", O_RDWR);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
			if (fd > 2)
				close(fd);
		}
	}
	fd = open("/proc/cmdline", O_RDONLY);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);

		cmdline[n > 0 ? n : 0] = 0;
		close(fd);
	}
	uname(&u);
	wb_say("guest up, kernel %s, %ld CPUs online, running %s", u.release,
	       sysconf(_SC_NPROCESSORS_ONLN), wb_param("script") ?: "(no wb.script=)");
}

void wb_finish(void)
{
	wb_check("guest script completed", 1, NULL);
	wb_say("script done");
	sync();
	reboot(RB_AUTOBOOT);
	/* PID 1 must not exit: wait for the host to end the boot */
	for (;;)
		pause();
}

/* ------------------------------------------------------------ kernel -- */

static char *kmsg(void)
{
	int size = klogctl(10 /* SYSLOG_ACTION_SIZE_BUFFER */, NULL, 0);
	char *buf;
	int n;

	if (size <= 0)
		return NULL;
	buf = malloc(size + 1);
	if (!buf)
		return NULL;
	n = klogctl(3 /* SYSLOG_ACTION_READ_ALL */, buf, size);
	buf[n > 0 ? n : 0] = 0;
	return buf;
}

int wb_kmsg_has(const char *text)
{
	char *buf = kmsg();
	int has = buf && strstr(buf, text);

	free(buf);
	return has;
}

void wb_kmsg_print(const char *text)
{
	char *buf = kmsg(), *line, *save = NULL;

	if (!buf)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* the "<6>" level in front: the message itself follows */
		if (strstr(line, text))
			wb_say("%s", line[0] == '<' && strchr(line, '>') ? strchr(line, '>') + 1 : line);
	}
	free(buf);
}

int wb_set_online(int cpu, int on, int timeout_s, struct wb_err *err)
{
	char path[64];
	struct timespec t0, now;
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	pid = fork();
	if (pid < 0)
		return fail_errno(err, "fork");
	if (pid == 0) {
		/* async-signal-safe only: the parent has threads */
		int fd = open(path, O_WRONLY);

		if (fd < 0)
			_exit(errno & 0x7f);
		if (write(fd, on ? "1" : "0", 1) != 1)
			_exit(errno & 0x7f);
		_exit(0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			break;
		if (w < 0)
			return fail_errno(err, "waitpid");
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec >= timeout_s) {
			kill(pid, SIGKILL);
			return wb_fail(err, "cpu%d online=%d: the write did not return in %d s",
				       cpu, on, timeout_s);
		}
		usleep(10000);
	}
	if (!WIFEXITED(status))
		return wb_fail(err, "cpu%d online=%d: the writer died (status %#x)", cpu, on, status);
	if (WEXITSTATUS(status))
		return wb_fail(err, "cpu%d online=%d: %s", cpu, on, strerror(WEXITSTATUS(status)));
	if (wb_is_online(cpu) != on)
		return wb_fail(err, "cpu%d online=%d: the write succeeded, online reads %d",
			       cpu, on, wb_is_online(cpu));
	return 0;
}

int wb_is_online(int cpu)
{
	char path[64], c = '?';
	int fd;

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	if (read(fd, &c, 1) != 1)
		c = '?';
	close(fd);
	return c == '1' ? 1 : c == '0' ? 0 : -1;
}

int wb_pin(int tid, int cpu, struct wb_err *err)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(tid, sizeof(set), &set) < 0)
		return wb_fail(err, "pinning thread %d to CPU %d: %s", tid, cpu, strerror(errno));
	return 0;
}

/* --------------------------------------------------------------- KVM -- */

/*
 * The guest (see lib.h), assembled by the compiler into .rodata and copied
 * to WB_GUEST_BASE.  No compressed instructions: nothing is assumed about
 * the guest's misa.
 */
extern const uint32_t wb_guest_code[], wb_guest_code_end[];
__asm__(
	"	.pushsection .rodata\n"
	"	.balign 4\n"
	"	.globl wb_guest_code\n"
	"wb_guest_code:\n"
	"	.option push\n"
	"	.option norvc\n"
	"1:	li	a0, 0\n"
	"	li	a1, 100\n"
	"2:	add	a0, a0, a1\n"
	"	addi	a1, a1, -1\n"
	"	bnez	a1, 2b\n"
	"	li	t0, " XSTR(WB_GUEST_MMIO) "\n"
	"	sd	a0, 0(t0)\n"
	/* a breakpoint, to the guest's own trap handler at 3: (stvec is
	 * vstvec in VS mode), which counts it in a3 and returns past it */
	"	li	a3, 0\n"
	"	lla	t1, 3f\n"
	"	csrw	stvec, t1\n"
	"	ebreak\n"
	"	mv	a0, a3\n"
	"	li	a7, " XSTR(WB_GUEST_SBI_EXT) "\n"
	"	li	a6, " XSTR(WB_GUEST_SBI_FID) "\n"
	"	ecall\n"
	"	j	1b\n"
	"	.balign	4\n"
	"3:	addi	a3, a3, 1\n"
	"	csrr	t2, sepc\n"
	"	addi	t2, t2, 4\n"
	"	csrw	sepc, t2\n"
	"	sret\n"
	"	.option pop\n"
	"	.globl wb_guest_code_end\n"
	"wb_guest_code_end:\n"
	"	.popsection\n");

#define PC_REG	(KVM_REG_RISCV | KVM_REG_SIZE_U64 | KVM_REG_RISCV_CORE | \
		 KVM_REG_RISCV_CORE_REG(regs.pc))

int wb_kvm_open(struct wb_err *err)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int api;

	if (kvm < 0)
		return fail_errno(err, "open /dev/kvm");
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		close(kvm);
		return wb_fail(err, "KVM_GET_API_VERSION: %d, not %d", api, KVM_API_VERSION);
	}
	return kvm;
}

int wb_vm_create(struct wb_vm *vm, struct wb_err *err)
{
	struct kvm_userspace_memory_region slot;
	uint64_t pc = WB_GUEST_BASE, back = 0;
	struct kvm_one_reg reg;
	long size;

	memset(vm, 0, sizeof(*vm));
	vm->vm = vm->vcpu = -1;
	vm->kvm = wb_kvm_open(err);
	if (vm->kvm < 0)
		return -1;
	vm->vm = ioctl(vm->kvm, KVM_CREATE_VM, 0);
	if (vm->vm < 0)
		goto fail_errno_out;
	vm->mem = mmap(NULL, WB_GUEST_MEM, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		fail_errno(err, "mmap (guest memory)");
		goto out;
	}
	/* wb_set_online() forks: keep the guest's memory out of the child
	 * (fork would make it copy-on-write under the running guest) */
	if (madvise(vm->mem, WB_GUEST_MEM, MADV_DONTFORK) < 0) {
		fail_errno(err, "madvise (MADV_DONTFORK)");
		goto out;
	}
	memcpy(vm->mem, wb_guest_code, (char *)wb_guest_code_end - (char *)wb_guest_code);
	slot = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = WB_GUEST_BASE,
		.memory_size = WB_GUEST_MEM, .userspace_addr = (uintptr_t)vm->mem,
	};
	if (ioctl(vm->vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
		fail_errno(err, "KVM_SET_USER_MEMORY_REGION");
		goto out;
	}
	vm->vcpu = ioctl(vm->vm, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0) {
		fail_errno(err, "KVM_CREATE_VCPU");
		goto out;
	}
	size = ioctl(vm->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size < (long)sizeof(struct kvm_run)) {
		wb_fail(err, "KVM_GET_VCPU_MMAP_SIZE: %ld", size);
		goto out;
	}
	vm->run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		fail_errno(err, "mmap (kvm_run)");
		goto out;
	}
	vm->run_size = size;
	reg = (struct kvm_one_reg){ .id = PC_REG, .addr = (uintptr_t)&pc };
	if (ioctl(vm->vcpu, KVM_SET_ONE_REG, &reg) < 0) {
		fail_errno(err, "KVM_SET_ONE_REG (pc)");
		goto out;
	}
	reg.addr = (uintptr_t)&back;
	if (ioctl(vm->vcpu, KVM_GET_ONE_REG, &reg) < 0) {
		fail_errno(err, "KVM_GET_ONE_REG (pc)");
		goto out;
	}
	if (back != pc) {
		wb_fail(err, "pc reads back as %#llx, not %#llx",
			(unsigned long long)back, (unsigned long long)pc);
		goto out;
	}
	return 0;
fail_errno_out:
	fail_errno(err, "KVM_CREATE_VM");
out:
	wb_vm_destroy(vm);
	return -1;
}

int wb_vm_pass(struct wb_vm *vm, struct wb_err *err)
{
	struct kvm_run *run = vm->run;
	int mmio = 0, i;
	uint64_t v;

	/* a pass is two exits; anything else more than a few times is wrong */
	for (i = 0; i < 16; i++) {
		if (ioctl(vm->vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			/* KVM's answer to a guest exception it does not handle,
			 * e.g. the breakpoint when this CPU does not delegate it */
			if (errno == EFAULT)
				return wb_fail(err, "KVM_RUN: %s on CPU %d (a guest exception KVM"
					       " does not handle: not delegated to the guest here?)",
					       strerror(errno), sched_getcpu());
			return fail_errno(err, "KVM_RUN");
		}
		switch (run->exit_reason) {
		case KVM_EXIT_MMIO:
			memcpy(&v, run->mmio.data, sizeof(v));
			if (!run->mmio.is_write || run->mmio.len != 8 ||
			    run->mmio.phys_addr != WB_GUEST_MMIO || v != WB_GUEST_SUM)
				return wb_fail(err, "MMIO exit: %s of %u bytes at %#llx, value %llu;"
					       " expected a store of 8 bytes at %#x, value %d",
					       run->mmio.is_write ? "store" : "load", run->mmio.len,
					       (unsigned long long)run->mmio.phys_addr,
					       (unsigned long long)v, WB_GUEST_MMIO, WB_GUEST_SUM);
			mmio = 1;
			break;
		case KVM_EXIT_RISCV_SBI:
			if (run->riscv_sbi.extension_id != WB_GUEST_SBI_EXT ||
			    run->riscv_sbi.function_id != WB_GUEST_SBI_FID)
				return wb_fail(err, "SBI exit: extension %#lx function %#lx,"
					       " expected %#x %#x",
					       run->riscv_sbi.extension_id, run->riscv_sbi.function_id,
					       WB_GUEST_SBI_EXT, WB_GUEST_SBI_FID);
			if (!mmio)
				return wb_fail(err, "SBI exit before the guest's MMIO store");
			if (run->riscv_sbi.args[0] != 1)
				return wb_fail(err, "the guest's breakpoint reached its own handler"
					       " %lu times, not once", run->riscv_sbi.args[0]);
			run->riscv_sbi.ret[0] = 0;	/* SBI_SUCCESS */
			run->riscv_sbi.ret[1] = 0;
			return 0;
		case KVM_EXIT_INTR:
			break;
		default:
			return wb_fail(err, "unexpected exit %u", run->exit_reason);
		}
	}
	return wb_fail(err, "no SBI exit after %d KVM_RUNs", i);
}

void wb_vm_destroy(struct wb_vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->vm >= 0)
		close(vm->vm);
	if (vm->mem)
		munmap(vm->mem, WB_GUEST_MEM);
	if (vm->kvm >= 0)
		close(vm->kvm);
	memset(vm, 0, sizeof(*vm));
	vm->kvm = vm->vm = vm->vcpu = -1;
}

struct guest_job {
	int cpu, passes, rc;
	struct wb_err err;
};

static void *guest_thread(void *arg)
{
	struct guest_job *job = arg;
	struct wb_vm vm;
	int i;

	job->rc = -1;
	if (job->cpu >= 0 && wb_pin(0, job->cpu, &job->err) < 0)
		return NULL;
	if (wb_vm_create(&vm, &job->err) < 0)
		return NULL;
	for (i = 0; i < job->passes; i++) {
		if (wb_vm_pass(&vm, &job->err) < 0)
			goto out;
		if (job->cpu >= 0 && sched_getcpu() != job->cpu) {
			wb_fail(&job->err, "the guest ran on CPU %d, not %d", sched_getcpu(), job->cpu);
			goto out;
		}
	}
	job->rc = 0;
out:
	wb_vm_destroy(&vm);
	return NULL;
}

int wb_guest_run(int cpu, int passes, struct wb_err *err)
{
	struct guest_job job = { .cpu = cpu, .passes = passes };
	pthread_t t;
	int e;

	e = pthread_create(&t, NULL, guest_thread, &job);
	if (e)
		return wb_fail(err, "pthread_create: %s", strerror(e));
	pthread_join(t, NULL);
	if (job.rc < 0)
		*err = job.err;
	return job.rc;
}
