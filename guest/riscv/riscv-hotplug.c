/*
 * riscv-hotplug: /init of the riscv64 lane's boot of that name (2 CPUs).
 *
 * KVM/riscv (built in) initialises with the H extension, a guest runs,
 * then, while a vCPU runs in a thread of its own (pinned to CPU 1 again
 * after every online, so that CPU 1 goes down under a running vCPU each
 * time), CPU 1 goes offline and online wb.cycles (20) times and a new
 * guest runs on CPU 1 after each online.  KVM's CPU hotplug callback
 * disables virtualization on CPU 1 as it goes down (hedeleg, hideleg) and
 * enables it again as it comes up: on the series from the ONLINE section,
 * on 6.1 from STARTING.  The common code (virt/kvm) on a third
 * architecture.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "lib.h"

/* the vCPU that runs throughout: its thread's state, shared with main */
struct runner {
	pthread_t thread;
	int tid;			/* for wb_pin() from main */
	int stop;
	unsigned long passes;		/* guest passes done so far */
	int failed;			/* the first failure ends the thread */
	struct wb_err err;
};

static void *runner_thread(void *arg)
{
	struct runner *r = arg;
	struct wb_err err;
	struct wb_vm vm;

	__atomic_store_n(&r->tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
	if (wb_vm_create(&vm, &err) < 0)
		goto failed;
	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		if (wb_vm_pass(&vm, &err) < 0) {
			wb_vm_destroy(&vm);
			goto failed;
		}
		__atomic_add_fetch(&r->passes, 1, __ATOMIC_RELEASE);
	}
	wb_vm_destroy(&vm);
	return NULL;
failed:
	r->err = err;
	__atomic_store_n(&r->failed, 1, __ATOMIC_RELEASE);
	return NULL;
}

static unsigned long passes(struct runner *r)
{
	return __atomic_load_n(&r->passes, __ATOMIC_ACQUIRE);
}

static int runner_failed(struct runner *r)
{
	return __atomic_load_n(&r->failed, __ATOMIC_ACQUIRE);
}

/* Wait (at most seconds) for the runner to get past passes from; 0 if it did. */
static int progress(struct runner *r, unsigned long from, int seconds)
{
	int i;

	for (i = 0; i < seconds * 100; i++) {
		if (passes(r) > from)
			return 0;
		if (runner_failed(r))
			return -1;
		usleep(10000);
	}
	return -1;
}

static long now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

int main(void)
{
	long cycles, i, start;
	struct runner r = { 0 };
	struct wb_err err = { "" }, first = { "" };
	unsigned long before;
	int kvm, fail = 0, stalled = 0, pinned = 1, e;

	wb_setup();
	cycles = wb_param_long("cycles", 20);

	wb_kmsg_print("kvm [");
	wb_check("KVM initialised (hypervisor extension available)",
		 wb_kmsg_has("]: hypervisor extension available") && access("/dev/kvm", F_OK) == 0,
		 "no 'hypervisor extension available' from KVM, or no /dev/kvm");
	kvm = wb_kvm_open(&err);
	wb_check("/dev/kvm opens, its API version is 12", kvm >= 0, err.msg);
	if (kvm >= 0)
		close(kvm);
	wb_check("a guest runs", wb_guest_run(-1, 3, &err) == 0, err.msg);
	wb_check("a guest runs on CPU 1", wb_guest_run(1, 1, &err) == 0, err.msg);

	e = pthread_create(&r.thread, NULL, runner_thread, &r);
	if (e) {
		snprintf(err.msg, sizeof(err.msg), "pthread_create: %s", strerror(e));
	} else {
		while (!__atomic_load_n(&r.tid, __ATOMIC_ACQUIRE))
			usleep(1000);
		if (wb_pin(r.tid, 1, &err) < 0)
			pinned = 0;
		else if (progress(&r, 0, 30) < 0 && runner_failed(&r))
			err = r.err;
		else if (!passes(&r))
			snprintf(err.msg, sizeof(err.msg), "no guest pass in 30 s");
	}
	wb_check("a vCPU runs in a thread of its own, pinned to CPU 1", pinned && passes(&r) > 0, err.msg);

	start = now();
	for (i = 0; i < cycles && passes(&r) > 0; i++) {
		before = passes(&r);
		if (wb_set_online(1, 0, 60, &err) < 0 ||
		    wb_set_online(1, 1, 60, &err) < 0 ||
		    wb_guest_run(1, 1, &err) < 0) {
			if (!fail++)
				snprintf(first.msg, sizeof(first.msg), "cycle %ld: %s", i + 1, err.msg);
			wb_say("cycle %ld: %s", i + 1, err.msg);
			/* a write that never returned: CPU 1 is gone for good */
			if (strstr(err.msg, "did not return"))
				break;
			continue;
		}
		/* back onto CPU 1 (the offline moved it), and running there */
		if (wb_pin(r.tid, 1, &err) < 0 || progress(&r, before, 10) < 0) {
			if (!stalled++)
				wb_say("cycle %ld: the vCPU made no progress in 10 s (%lu passes) %s",
				       i + 1, passes(&r), err.msg);
		}
	}
	wb_say("%ld cycles in %lds, %d failed, the vCPU made no progress in %d;"
	       " the vCPU made %lu guest passes", i, now() - start, fail, stalled, passes(&r));
	wb_check("CPU 1 offline and online wb.cycles times with a vCPU running, a guest on CPU 1 after each",
		 i == cycles && fail == 0, i < cycles && !fail ? "the vCPU never ran" : first.msg);
	wb_check("the running vCPU made progress in every cycle", i == cycles && stalled == 0,
		 "see the cycle lines above");

	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	if (!e)
		pthread_join(r.thread, NULL);
	wb_check("the running vCPU had no unexpected exit", !e && !runner_failed(&r), r.err.msg);

	e = wb_set_online(1, 0, 60, &err);
	if (e == 0)
		e = wb_set_online(1, 1, 60, &err);
	wb_check("CPU 1 offline and online without a VM", e == 0, err.msg);
	wb_check("a guest runs on CPU 1 afterwards", wb_guest_run(1, 1, &err) == 0, err.msg);
	wb_finish();
}
