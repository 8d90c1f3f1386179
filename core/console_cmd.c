/*
 * The management console: one table of commands, each a row with its
 * usage and a handler, like QEMU's monitor or bhyvectl.  A command that
 * names a VM gets it looked up (by name, or by id) before its handler
 * runs; a bad name or command never reaches a handler.
 *
 * A VM is looked at and acted on with the rebuild lock held
 * (vm_rebuild_lock()), so a restart on another CPU, which rebuilds the VM
 * in place, is never seen half done.  What is printed is first copied out
 * (struct vm_view) and written after the lock is dropped: a serial line
 * is slow.  Answers go straight to the console, whatever the log level.
 */
#include "core/console_cmd.h"
#include "core/vm.h"
#include "core/vm_hold.h"
#include "core/vm_create.h"
#include "core/sched.h"
#include "core/snapshot.h"
#include "core/clock.h"
#include "core/cmdline.h"
#include "core/gdbstub.h"
#include "kernel/log.h"
#include "mm/mm.h"
#include "arch/x86/cpu.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "devices/vswitch.h"

#define MAX_WORDS 4

struct cmd_args {
	unsigned argc;
	char *argv[MAX_WORDS];  /* after the command and its -j */
	bool json;
	struct vm *vm;          /* for a command on a VM: argv[0], looked up */
};

/*
 * One row of the table.  A command on a VM takes its NAME as the first
 * argument; min_args..max_args words follow the command (-j aside), so a
 * row such as `snapshot NAME [TAG]` is { vm, 1, 2 }.
 */
struct console_cmd {
	const char *name;
	const char *usage;      /* what follows the name */
	const char *help;
	bool vm;                /* argv[0] names a VM */
	unsigned min_args, max_args;
	bool json;              /* takes -j */
	void (*run)(struct cmd_args *a, const char *const state_name[]);
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	int n = kvsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write(buf, MIN((size_t)n, sizeof(buf) - 1));
}

/* ---- a copy of one VM, taken under the rebuild lock --------------------- */

struct vm_view {
	unsigned id, nr_vcpus, boots;
	char name[32];
	const char *state;
	const char *reason;             /* of its end, "" while it runs */
	char detail[160];
	int status;
	uint64_t mem_mib, uptime_ms, exits, intrs, migrations, run_ns, wait_ns, hv_tsc;
	unsigned cpu[VM_MAX_VCPUS];
	enum vcpu_state vstate[VM_MAX_VCPUS];
	uint64_t count[NR_EXIT_KINDS], tsc[NR_EXIT_KINDS];
};

static struct vm_view view;     /* the console runs on one CPU only */

static bool restarting(const struct vm *vm)
{
	return vm->ended && vm->vcpus_running &&
	       (vm->end_reason == VM_END_RESTART ||
		(vm->end_reason == VM_END_REBOOT && vm->cfg->on_reboot == CONFIG_ON_REBOOT_RESTART));
}

static const char *vm_state(const struct vm *vm)
{
	bool running = false, waiting = true;

	if (vm->ended)
		return restarting(vm) ? "restarting" : "ended";
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		enum vcpu_state s = vm->vcpu[i].state;
		running |= s == VCPU_RUNNING;
		waiting &= s == VCPU_HALTED || s == VCPU_WAIT_SIPI;
	}
	if (vm->paused)
		return running ? "pausing" : "paused";      /* stops at its next exit */
	return waiting ? "halted" : "running";
}

static void take_view(struct vm *vm)
{
	uint64_t f = vm_rebuild_lock();
	struct vm_view *w = &view;

	memset(w, 0, sizeof(*w));
	w->id = vm->id;
	strlcpy(w->name, vm->name, sizeof(w->name));
	w->state = vm_state(vm);
	w->reason = vm->ended ? vm_end_reason_name(vm->end_reason) : "";
	strlcpy(w->detail, vm->ended ? vm->end_detail : "", sizeof(w->detail));
	w->status = vm->status;
	w->boots = vm->boots + 1;
	w->mem_mib = vm->cfg->mem / MiB;
	uint64_t until = vm->ended ? vm->end_tsc : rdtsc();
	w->uptime_ms = until > vm->start_tsc ? clock_tsc_to_ns(until - vm->start_tsc) / 1000000 : 0;
	w->nr_vcpus = MIN(vm->nr_vcpus, (unsigned)VM_MAX_VCPUS);
	for (unsigned i = 0; i < w->nr_vcpus; i++) {
		const struct vcpu *v = &vm->vcpu[i];
		w->cpu[i] = v->pcpu;
		w->vstate[i] = v->state;
		w->exits += v->nr_exits;
		w->intrs += v->intrs;
		w->migrations += v->migrations;
		w->run_ns += v->run_ns;
		w->wait_ns += v->wait_ns;
		for (int k = 0; k < NR_EXIT_KINDS; k++) {
			w->count[k] += v->exits[k];
			w->tsc[k] += v->exit_tsc[k];
			w->hv_tsc += v->exit_tsc[k];
		}
	}
	vm_rebuild_unlock(f);
}

/* "12.3" from a part of a whole, in percent with one decimal. */
static const char *percent(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	uint64_t pm = whole ? part * 1000 / whole : 0;
	ksnprintf(buf, len, "%llu.%llu", (unsigned long long)(pm / 10), (unsigned long long)(pm % 10));
	return buf;
}

/* A string as JSON: printable ASCII, quotes and backslashes escaped. */
static const char *json_str(char *buf, size_t len, const char *s)
{
	size_t n = 0;

	for (; *s && n + 7 < len; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			buf[n++] = '\\';
			buf[n++] = (char)c;
		} else if (c < 0x20 || c > 0x7e) {
			n += ksnprintf(buf + n, len - n, "\\u%04x", c);
		} else {
			buf[n++] = (char)c;
		}
	}
	buf[n] = '\0';
	return buf;
}

/* ---- the commands ------------------------------------------------------------ */

static void cmd_help(struct cmd_args *a, const char *const state_name[]);

static void list_one(struct vm *vm, bool json)
{
	char cpus[VM_MAX_VCPUS * 48], st[200], esc[340];
	size_t n = 0;

	take_view(vm);
	cpus[0] = '\0';
	for (unsigned i = 0; i < view.nr_vcpus && n < sizeof(cpus); i++) {
		if (json)
			n += ksnprintf(cpus + n, sizeof(cpus) - n, "%s{\"id\":%u,\"cpu\":%u,\"state\":\"%s\"}",
				       i ? "," : "", i, view.cpu[i], vcpu_state_name[view.vstate[i]]);
		else
			n += ksnprintf(cpus + n, sizeof(cpus) - n, "%s%u@%u", i ? "," : "", i, view.cpu[i]);
	}
	if (json) {
		say("{\"id\":%u,\"name\":\"%s\",\"state\":\"%s\",\"end\":\"%s\",\"detail\":\"%s\","
		    "\"status\":%d,\"boots\":%u,\"memory_mib\":%llu,\"uptime_ms\":%llu,\"exits\":%llu,"
		    "\"vcpus\":[%s]}\n", view.id, view.name, view.state, view.reason,
		    json_str(esc, sizeof(esc), view.detail), view.status, view.boots,
		    (unsigned long long)view.mem_mib, (unsigned long long)view.uptime_ms,
		    (unsigned long long)view.exits, cpus);
		return;
	}
	if (*view.reason)
		ksnprintf(st, sizeof(st), "%s (%s, status %d)", view.state, view.reason, view.status);
	else
		strlcpy(st, view.state, sizeof(st));
	say("  %2u %-16s %-24s %-12s %5llu MiB %6llu.%llu s %10llu\n", view.id, view.name, st, cpus,
	    (unsigned long long)view.mem_mib, (unsigned long long)(view.uptime_ms / 1000),
	    (unsigned long long)(view.uptime_ms / 100 % 10), (unsigned long long)view.exits);
}

static void cmd_list(struct cmd_args *a, const char *const state_name[])
{
	if (!a->json) {
		say("kasane: %u VM%s, %llu KiB free\n", vm_count(), vm_count() == 1 ? "" : "s",
		    (unsigned long long)(mm_free_bytes() / 1024));
		say("  ID NAME             STATE                    VCPU@CPU      MEMORY     UPTIME      EXITS\n");
	}
	for (unsigned i = 0; i < vm_count(); i++)
		list_one(vm_at(i), a->json);
}

static void cmd_mem(struct cmd_args *a, const char *const state_name[])
{
	uint64_t kib = mm_free_bytes() / 1024;

	if (a->json)
		say("{\"free_kib\":%llu}\n", (unsigned long long)kib);
	else
		say("kasane: %llu KiB free\n", (unsigned long long)kib);
}

/* The switches' report, gathered under their locks and printed after. */
struct switch_text {
	char buf[6144];
	size_t len;
	bool cut;
};

static void switch_line(void *ctx, const char *line)
{
	struct switch_text *t = ctx;
	size_t n = strlen(line);

	if (t->len + n + 2 > sizeof(t->buf)) {
		t->cut = true;
		return;
	}
	memcpy(t->buf + t->len, line, n);
	t->buf[t->len + n] = '\n';
	t->len += n + 1;
}

static void cmd_switches(struct cmd_args *a, const char *const state_name[])
{
	static struct switch_text t;    /* console commands run one at a time */

	t.len = 0;
	t.cut = false;
	vswitch_report(switch_line, &t);
	if (t.len == 0)
		say("kasane: no switches\n");
	console_write(t.buf, t.len);
	if (t.cut)
		say("kasane: (report cut short)\n");
}

/* Like `perf kvm stat`: per exit reason, how often and how long in kasane. */
static void cmd_stats(struct cmd_args *a, const char *const state_name[])
{
	char p[16];

	take_view(a->vm);
	const struct vm_view *w = &view;
	if (a->json) {
		for (int k = 0; k < NR_EXIT_KINDS; k++) {
			if (!w->count[k])
				continue;
			uint64_t ns = clock_tsc_to_ns(w->tsc[k]);
			say("{\"vm\":\"%s\",\"exit\":\"%s\",\"count\":%llu,\"share\":%s,\"total_ns\":%llu,"
			    "\"mean_ns\":%llu}\n", w->name, exit_kind_name[k],
			    (unsigned long long)w->count[k], percent(p, sizeof(p), w->count[k], w->exits),
			    (unsigned long long)ns, (unsigned long long)(ns / w->count[k]));
		}
		say("{\"vm\":\"%s\",\"state\":\"%s\",\"exits\":%llu,\"hv_ns\":%llu,\"run_ns\":%llu,"
		    "\"wait_ns\":%llu,\"intrs\":%llu,\"halts\":%llu,\"migrations\":%llu}\n", w->name,
		    w->state, (unsigned long long)w->exits,
		    (unsigned long long)clock_tsc_to_ns(w->hv_tsc), (unsigned long long)w->run_ns,
		    (unsigned long long)w->wait_ns, (unsigned long long)w->intrs,
		    (unsigned long long)w->count[EXIT_HLT], (unsigned long long)w->migrations);
		return;
	}
	say("kasane: VM '%s' (%s): %llu exits, %llu us in kasane; run %llu ms, wait %llu ms; "
	    "%llu interrupts injected, %llu halts, %llu migrations\n", w->name, w->state,
	    (unsigned long long)w->exits, (unsigned long long)(clock_tsc_to_ns(w->hv_tsc) / 1000),
	    (unsigned long long)(w->run_ns / 1000000), (unsigned long long)(w->wait_ns / 1000000),
	    (unsigned long long)w->intrs, (unsigned long long)w->count[EXIT_HLT],
	    (unsigned long long)w->migrations);
	say("  %-12s %10s %7s %12s %10s\n", "EXIT", "COUNT", "SHARE", "TOTAL us", "MEAN ns");
	for (int k = 0; k < NR_EXIT_KINDS; k++) {
		if (!w->count[k])
			continue;
		uint64_t ns = clock_tsc_to_ns(w->tsc[k]);
		say("  %-12s %10llu %6s%% %12llu %10llu\n", exit_kind_name[k],
		    (unsigned long long)w->count[k], percent(p, sizeof(p), w->count[k], w->exits),
		    (unsigned long long)(ns / 1000), (unsigned long long)(ns / w->count[k]));
	}
}

static void cmd_sched(struct cmd_args *a, const char *const state_name[])
{
	sched_dump_cpus();
	vm_dump_vcpus(state_name);
}

/*
 * The VM commands below run with the rebuild lock held and refuse a VM
 * that has ended (or is being rebuilt by a restart): nothing is left of
 * it to act on.  False (and the reason said) if vm may not be acted on.
 */
static char name[32];    /* of the VM acted on, for what is said after the lock */

static bool lock_live_vm(struct vm *vm, uint64_t *flags)
{
	*flags = vm_rebuild_lock();
	strlcpy(name, vm->name, sizeof(name));
	if (!vm->ended)
		return true;
	bool again = restarting(vm);
	const char *why = vm_end_reason_name(vm->end_reason);
	vm_rebuild_unlock(*flags);
	if (again)
		say("kasane: VM '%s' is restarting; try again\n", name);
	else
		say("kasane: VM '%s' has ended (%s)\n", name, why);
	return false;
}

static void cmd_pause(struct cmd_args *a, const char *const state_name[])
{
	struct vm *vm = a->vm;
	uint64_t f;

	if (!lock_live_vm(vm, &f))
		return;
	bool was = vm->paused;
	if (!was)
		sched_pause_vm(vm);
	vm_rebuild_unlock(f);
	say(was ? "kasane: VM '%s' is already paused\n" : "kasane: VM '%s' paused\n", name);
}

static void cmd_resume(struct cmd_args *a, const char *const state_name[])
{
	struct vm *vm = a->vm;
	uint64_t f;

	if (!lock_live_vm(vm, &f))
		return;
	bool was = vm->paused;
	if (was) {
		vm_resume_held(vm);
		/* A CPU running another VM's vCPU took the paused VM's timers for
		 * none (its halted vCPUs would sleep on): end its slice. */
		sched_reap_vm_soon(vm);
	}
	vm_rebuild_unlock(f);
	say(was ? "kasane: VM '%s' resumed\n" : "kasane: VM '%s' is not paused\n", name);
}

/*
 * destroy ends the VM with status -1: it did not finish its work, so the
 * run's exit status says so.  Its vCPUs stop at their next exit (or where
 * they wait) and the last one reports the VM and frees it, as for any end.
 */
static void cmd_destroy(struct cmd_args *a, const char *const state_name[])
{
	uint64_t f;

	if (!lock_live_vm(a->vm, &f))
		return;
	say("kasane: destroying VM '%s'\n", name);
	vm_end(a->vm, VM_END_DESTROYED, -1, "destroyed from the console");
	sched_reap_vm_soon(a->vm);
	vm_rebuild_unlock(f);
}

/* restart rebuilds the VM from power-on (core/run.c), whatever on_reboot says. */
static void cmd_restart(struct cmd_args *a, const char *const state_name[])
{
	uint64_t f;

	if (!lock_live_vm(a->vm, &f))
		return;
	say("kasane: restarting VM '%s'\n", name);
	vm_end(a->vm, VM_END_RESTART, 0, "restart from the console");
	sched_reap_vm_soon(a->vm);
	vm_rebuild_unlock(f);
}

/* debug attaches the gdb stub on COM2 (core/gdbstub.c): the VM stops. */
static void cmd_debug(struct cmd_args *a, const char *const state_name[])
{
	const char *why;
	uint64_t f;

	if (!lock_live_vm(a->vm, &f))
		return;
	bool ok = gdbstub_attach(a->vm, &why);
	vm_rebuild_unlock(f);
	if (ok)
		say("kasane: VM '%s' stopped for gdb on COM2 (target remote to it)\n", name);
	else
		say("kasane: cannot debug VM '%s': %s\n", name, why);
}

/* ---- snapshot and restore ---------------------------------------------------- */

#define STOP_WAIT_NS (2000ULL * 1000 * 1000)

/* Let vm run again after a snapshot or restore, unless the operator had
 * paused it, or it is no longer the VM that was stopped. */
static void go_on(struct vm *vm, bool was_paused, unsigned boots)
{
	uint64_t f = vm_rebuild_lock();

	if (!was_paused && !vm->ended && vm->boots == boots) {
		vm_resume_held(vm);
		/* A CPU running another VM's vCPU took the paused VM's timers for
		 * none: end its slice so that it looks at them again. */
		sched_reap_vm_soon(vm);
	}
	vm_rebuild_unlock(f);
}

/*
 * Pause vm (if the operator has not) and wait until none of its vCPUs is
 * on a CPU: each leaves at its next exit (the pause kicks it), whatever
 * state it is in.  False, said, if it ended or restarted meanwhile, or did
 * not stop in STOP_WAIT_NS.
 */
static bool stop_vm(struct vm *vm, bool *was_paused, unsigned *boots)
{
	uint64_t f;

	if (!lock_live_vm(vm, &f))
		return false;
	*was_paused = vm->paused;
	*boots = vm->boots;
	if (!*was_paused)
		sched_pause_vm(vm);
	vm_rebuild_unlock(f);
	uint64_t until = clock_now_ns() + STOP_WAIT_NS;
	for (;;) {
		f = vm_rebuild_lock();
		bool gone = vm->ended || vm->boots != *boots;
		bool parked = !gone && snapshot_vm_parked(vm);
		vm_rebuild_unlock(f);
		if (gone) {
			say("kasane: VM '%s' ended or restarted meanwhile\n", name);
			return false;
		}
		if (parked)
			return true;
		if (clock_now_ns() > until) {
			say("kasane: VM '%s' did not stop; nothing done\n", name);
			go_on(vm, *was_paused, *boots);
			return false;
		}
		cpu_relax();
	}
}

/* TAG: printable, no blanks, shorter than SNAP_TAG_MAX; "default" if none. */
static const char *snap_tag(const struct cmd_args *a)
{
	const char *tag = a->argc > 1 ? a->argv[1] : "default";

	if (strlen(tag) >= SNAP_TAG_MAX) {
		say("kasane: a tag has at most %u characters\n", SNAP_TAG_MAX - 1);
		return NULL;
	}
	return tag;
}

static void cmd_snap(struct cmd_args *a, bool restore)
{
	char msg[200];
	bool was_paused;
	unsigned boots;
	const char *tag = snap_tag(a);

	if (!tag || !stop_vm(a->vm, &was_paused, &boots))
		return;
	if (restore)
		snapshot_restore(a->vm, tag, msg, sizeof(msg));
	else
		snapshot_take(a->vm, tag, msg, sizeof(msg));
	say("kasane: %s\n", msg);
	go_on(a->vm, was_paused, boots);
}

static void cmd_snapshot(struct cmd_args *a, const char *const state_name[])
{
	cmd_snap(a, false);
}

static void cmd_restore(struct cmd_args *a, const char *const state_name[])
{
	cmd_snap(a, true);
}

static void cmd_snapshots(struct cmd_args *a, const char *const state_name[])
{
	snapshot_list(say);
}

/*
 * start boots a VM that has ended (destroyed, or finished on its own) again
 * from its config: the create half of a create/destroy cycle.  Only once
 * its last vCPU has reported and freed it (its RAM is gone), and only
 * while the run goes on: when every VM has ended, kasane ends.
 */
static void cmd_start(struct cmd_args *a, const char *const state_name[])
{
	struct vm *vm = a->vm;
	uint64_t f = vm_rebuild_lock();

	strlcpy(name, vm->name, sizeof(name));
	bool freed = vm->ended && !vm->vcpus_running &&
		     !__atomic_load_n(&vm->ram_hpa, __ATOMIC_ACQUIRE);
	vm_rebuild_unlock(f);
	if (!freed) {
		say("kasane: VM '%s' has not ended (restart boots a running VM again)\n", name);
		return;
	}
	say("kasane: starting VM '%s' again\n", name);
	if (!vm_start_again(vm)) {
		f = vm_rebuild_lock();
		char why[160];
		strlcpy(why, vm->end_detail, sizeof(why));
		vm_rebuild_unlock(f);
		say("kasane: VM '%s' did not start: %s\n", name, why);
	}
}

static const char *const level_name[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static void cmd_log(struct cmd_args *a, const char *const state_name[])
{
	for (unsigned i = 0; i < ARRAY_SIZE(level_name); i++) {
		if (!strcmp(a->argv[0], level_name[i]) ||
		    (a->argv[0][0] == (char)('0' + i) && !a->argv[0][1])) {
			console_set_loglevel((int)i);
			say("kasane: log level %s\n", level_name[i]);
			return;
		}
	}
	say("kasane: no log level '%.32s'; levels: error warn info debug (or 0-3)\n", a->argv[0]);
}

/* One row per command; `help` prints them in this order. */
static const struct console_cmd cmds[] = {
	{ "help", "", "this list", false, 0, 0, false, cmd_help },
	{ "list", "[-j]", "every VM: id, name, state, vCPUs@CPUs, memory, uptime, exits",
	  false, 0, 0, true, cmd_list },
	{ "stats", "[-j] NAME", "per exit reason: count, share, time in kasane; interrupts, halts, migrations",
	  true, 1, 1, true, cmd_stats },
	{ "sched", "", "the scheduler's view: CPUs, their vCPUs and run times", false, 0, 0, false,
	  cmd_sched },
	{ "pause", "NAME", "stop every vCPU of the VM at its next exit", true, 1, 1, false, cmd_pause },
	{ "resume", "NAME", "let a paused VM go on", true, 1, 1, false, cmd_resume },
	{ "destroy", "NAME", "end the VM now (status -1) and free it", true, 1, 1, false, cmd_destroy },
	{ "restart", "NAME", "reset the VM and boot it again from its config", true, 1, 1, false,
	  cmd_restart },
	{ "start", "NAME", "boot a VM that has ended again from its config", true, 1, 1, false,
	  cmd_start },
	{ "snapshot", "NAME [TAG]", "keep a copy of the whole VM in kasane's memory", true, 1, 2,
	  false, cmd_snapshot },
	{ "restore", "NAME [TAG]", "put the VM back as its snapshot was", true, 1, 2, false,
	  cmd_restore },
	{ "snapshots", "", "the snapshots kept", false, 0, 0, false, cmd_snapshots },
	{ "mem", "[-j]", "free memory", false, 0, 0, true, cmd_mem },
	{ "switches", "", "each switch and its ports: frames, bytes and drops sent and received",
	  false, 0, 0, false, cmd_switches },
	{ "log", "LEVEL", "kasane's log level: error, warn, info or debug", false, 1, 1, false,
	  cmd_log },
	{ "debug", "NAME", "attach the gdb stub on COM2 to the VM (it stops)", true, 1, 1, false,
	  cmd_debug },
};
#define nr_cmds ARRAY_SIZE(cmds)

extern struct hv_options hv_opts;

static void cmd_help(struct cmd_args *a, const char *const state_name[])
{
	say("kasane: commands (NAME is a VM's name or id; -j: one JSON object a line):\n");
	for (unsigned i = 0; i < nr_cmds; i++) {
		char use[48];
		ksnprintf(use, sizeof(use), "%s %s", cmds[i].name, cmds[i].usage);
		say("  %-20s %s\n", use, cmds[i].help);
	}
	say("  Ctrl-%c three times moves the keyboard to each VM's COM1 in turn, and back\n",
	    'A' + hv_opts.conswitch - 1);
}

const char console_cmd_hint[] = "type 'help' for commands";

/* ---- parsing ---------------------------------------------------------------- */

static void say_commands(void)
{
	char all[256];
	size_t n = 0;

	for (unsigned i = 0; i < nr_cmds && n < sizeof(all); i++)
		n += ksnprintf(all + n, sizeof(all) - n, "%s%s", i ? " " : "", cmds[i].name);
	say("kasane: commands: %s\n", all);
}

static void say_vms(void)
{
	char all[MAX_VMS * 34];
	size_t n = 0;

	all[0] = '\0';
	for (unsigned i = 0; i < vm_count() && n < sizeof(all); i++) {
		uint64_t f = vm_rebuild_lock();
		n += ksnprintf(all + n, sizeof(all) - n, "%s%s", i ? " " : "", vm_at(i)->name);
		vm_rebuild_unlock(f);
	}
	say("kasane: VMs: %s\n", n ? all : "(none)");
}

/* A VM by its name, or by its id in decimal. */
static struct vm *find_vm(const char *s)
{
	uint64_t id;
	const char *end;
	struct vm *found = NULL;

	for (unsigned i = 0; i < vm_count() && !found; i++) {
		uint64_t f = vm_rebuild_lock();
		if (!strcmp(vm_at(i)->name, s))
			found = vm_at(i);
		vm_rebuild_unlock(f);
	}
	if (!found && parse_u64(s, &end, &id) && !*end && id < vm_count())
		found = vm_at((unsigned)id);
	return found;
}

static unsigned split(char *line, char *word[], unsigned max)
{
	unsigned n = 0;

	for (char *p = line; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		if (n == max)
			return max + 1;         /* too many */
		word[n++] = p;
		while (*p && *p != ' ')
			p++;
	}
	return n;
}

void console_cmd_run(char *line, const char *const state_name[])
{
	char *word[MAX_WORDS + 1];
	unsigned n = split(line, word, MAX_WORDS + 1);
	const struct console_cmd *c = NULL;
	struct cmd_args a = { 0 };

	if (!n)
		return;
	for (unsigned i = 0; i < nr_cmds && !c; i++)
		if (!strcmp(word[0], cmds[i].name))
			c = &cmds[i];
	if (!c) {
		say("kasane: unknown command '%.32s'\n", word[0]);
		say_commands();
		return;
	}
	for (unsigned i = 1; i < n && i <= MAX_WORDS; i++) {
		if (c->json && !strcmp(word[i], "-j") && !a.json)
			a.json = true;
		else if (a.argc < MAX_WORDS)
			a.argv[a.argc++] = word[i];
	}
	if (n > MAX_WORDS || a.argc < c->min_args || a.argc > c->max_args) {
		say("kasane: usage: %s %s\n", c->name, c->usage);
		return;
	}
	if (c->vm) {
		a.vm = find_vm(a.argv[0]);
		if (!a.vm) {
			say("kasane: no VM '%.32s'\n", a.argv[0]);
			say_vms();
			return;
		}
	}
	c->run(&a, state_name);
}
