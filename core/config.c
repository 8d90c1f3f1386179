/*
 * VM configuration, first half: the config-file and module-command-line
 * parsers (the checks against the machine are in core/config_check.c).
 * See core/config.h for the syntax.  All input is bounded: lines
 * (CONFIG_LINE_MAX), VMs (MAX_VMS), modules, vCPUs and every string field.
 */
#include "core/config.h"
#include "core/cmdline.h"
#include "lib/string.h"
#include "lib/printf.h"

/* Longest piece of the user's text quoted back in a message. */
#define SHOW_MAX        64
#define SHOW(sp)        (int)MIN((sp).n, (size_t)SHOW_MAX), (sp).p
#define CONFIG_MEM_MAX  (1024 * GiB)

struct span {
	const char *p;
	size_t n;
};

/* Where messages go, and what they start with: "where:line: " or "where: ". */
struct sink {
	config_report_fn report;
	void *ctx;
	const char *where;
	unsigned line;                  /* 0: no line number */
	int errors;
};

enum cfg_key {
	K_NAME, K_KERNEL, K_CMDLINE, K_MODULE, K_MEMORY, K_CPUS, K_CPU,
	K_AFFINITY, K_EXCLUSIVE, K_WEIGHT, K_INITRD, K_ON_REBOOT, K_WATCHDOG,
	K_PCI_TESTDEV,
	K_NET,
	K_DISK, K_CONSOLE, K_RNG,
	K_PAGING,
	K_GDB, K_PARAVIRT,
	K_COUNT
};

struct key_def {
	const char *name;
	enum cfg_key key;
};

/* The differences between the two ways of declaring a VM. */
struct form {
	bool file;
	const struct key_def *keys;
	size_t nr_keys;
	const char *expected;           /* key list for "unknown key" */
	const char *mem_missing;
	const char *cpu_example;
	const char *affinity_example;
	const char *exclusive_example;
};

static const struct key_def file_keys[] = {
	{ "kernel", K_KERNEL }, { "cmdline", K_CMDLINE }, { "module", K_MODULE },
	{ "memory", K_MEMORY }, { "mem", K_MEMORY },
	{ "cpus", K_CPUS }, { "vcpus", K_CPUS }, { "cpu", K_CPU },
	{ "affinity", K_AFFINITY }, { "exclusive", K_EXCLUSIVE }, { "weight", K_WEIGHT },
	{ "initrd", K_INITRD }, { "on_reboot", K_ON_REBOOT }, { "watchdog", K_WATCHDOG },
	{ "pci_testdev", K_PCI_TESTDEV },
	{ "net", K_NET },
	{ "disk", K_DISK }, { "console", K_CONSOLE }, { "rng", K_RNG },
	{ "paging", K_PAGING },
	{ "gdb", K_GDB },
	{ "paravirt", K_PARAVIRT },
};

static const struct key_def module_keys[] = {
	{ "name", K_NAME }, { "mem", K_MEMORY }, { "memory", K_MEMORY },
	{ "cpus", K_CPUS }, { "vcpus", K_CPUS }, { "cpu", K_CPU },
	{ "affinity", K_AFFINITY }, { "exclusive", K_EXCLUSIVE }, { "weight", K_WEIGHT },
	{ "cmdline", K_CMDLINE }, { "initrd", K_INITRD }, { "on_reboot", K_ON_REBOOT },
	{ "watchdog", K_WATCHDOG }, { "paging", K_PAGING },
};

static const struct form file_form = {
	true, file_keys, ARRAY_SIZE(file_keys),
	"kernel, cmdline, module, memory, cpus, cpu, affinity, exclusive, weight, "
	"initrd, on_reboot, watchdog",
	"missing 'memory = SIZE' (e.g. memory = 64M)", "cpu = 1 2-3",
	"affinity = 1-3,6", "cpu = 2 3",
};

static const struct form module_form = {
	false, module_keys, ARRAY_SIZE(module_keys),
	"name, mem, cpus, cpu, affinity, exclusive, weight, cmdline, initrd, "
	"on_reboot, watchdog",
	"missing mem=SIZE (e.g. mem=16M)", "cpu=1,2-3",
	"affinity=1-3,6", "cpu=2,3",
};

/* One VM declaration being read into its slot of the set. */
struct vm_decl {
	struct vm_config *vm;
	const struct form *form;
	unsigned hdr_line;
	int errors_before;              /* sink errors when the declaration began */
	bool seen[K_COUNT];
	unsigned line[K_COUNT];         /* where each key was set */
	int nr_cpu_list;
	uint64_t cpu_set[VM_MAX_VCPUS]; /* CPUs of each cpu list item; 0 for "any" */
	uint64_t affinity;              /* for the vCPUs without a CPU or range */
};

static void say(struct sink *s, unsigned line, const char *fmt, va_list ap)
{
	char msg[384];
	int n;

	if (line)
		n = ksnprintf(msg, sizeof(msg), "%s:%u: ", s->where, line);
	else
		n = ksnprintf(msg, sizeof(msg), "%s: ", s->where);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	kvsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	/* A quoted line may hold a CR or other control bytes (found by
	 * test/fuzz/fuzz_config.c): the message stays one line. */
	kstr_oneline(msg);
	if (s->report)
		s->report(s->ctx, msg);
}

static void __attribute__((format(printf, 3, 4)))
err_at(struct sink *s, unsigned line, const char *fmt, ...)
{
	va_list ap;

	s->errors++;
	va_start(ap, fmt);
	say(s, line, fmt, ap);
	va_end(ap);
}

static void __attribute__((format(printf, 3, 4)))
note_at(struct sink *s, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say(s, line, fmt, ap);
	va_end(ap);
}

#define err(s, ...) err_at((s), (s)->line, __VA_ARGS__)

/* ---- small text helpers ---------------------------------------------------- */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static struct span trim(struct span v)
{
	while (v.n > 0 && is_blank(v.p[0])) {
		v.p++;
		v.n--;
	}
	while (v.n > 0 && is_blank(v.p[v.n - 1]))
		v.n--;
	return v;
}

static bool span_is(struct span v, const char *s)
{
	return strlen(s) == v.n && memcmp(v.p, s, v.n) == 0;
}

static bool span_copy(char *dst, size_t size, struct span v)
{
	if (v.n >= size)
		return false;
	memcpy(dst, v.p, v.n);
	dst[v.n] = '\0';
	return true;
}

/* "a b" -> a b, but only when the quotes wrap the whole value. */
static struct span unwrap_quotes(struct span v)
{
	if (v.n < 2 || v.p[0] != '"' || v.p[v.n - 1] != '"')
		return v;
	for (size_t i = 1; i + 1 < v.n; i++)
		if (v.p[i] == '"')
			return v;
	return (struct span){ v.p + 1, v.n - 2 };
}

/*
 * Cut a comment off the line: ';' or '#' at its start or after a blank,
 * outside double quotes.  False if a quote is left open.
 */
static bool strip_comment(struct span *l)
{
	bool quoted = false;

	for (size_t i = 0; i < l->n; i++) {
		char c = l->p[i];

		if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && (c == '#' || c == ';') && (i == 0 || is_blank(l->p[i - 1]))) {
			l->n = i;
			return true;
		}
	}
	return !quoted;
}

/*
 * Move the first word of *v (quotes group blanks and are removed) into
 * dst and advance *v past it.  False if it did not fit.
 */
static bool take_word(struct span *v, char *dst, size_t size)
{
	size_t i = 0, o = 0;
	bool quoted = false, fit = true;

	while (i < v->n && is_blank(v->p[i]))
		i++;
	for (; i < v->n; i++) {
		char c = v->p[i];

		if (c == '"') {
			quoted = !quoted;
			continue;
		}
		if (!quoted && is_blank(c))
			break;
		if (o + 1 < size)
			dst[o++] = c;
		else
			fit = false;
	}
	dst[o] = '\0';
	v->p += i;
	v->n -= i;
	return fit;
}

static bool parse_small(struct span v, uint64_t max, uint64_t *out)
{
	char buf[24];
	const char *end;

	if (!span_copy(buf, sizeof(buf), v))
		return false;
	return parse_u64(buf, &end, out) && *end == '\0' && *out <= max;
}

/* ---- values ---------------------------------------------------------------- */

static const struct vm_config *config_find(const struct config_set *set, const char *name)
{
	for (int i = 0; i < set->nr && i < MAX_VMS; i++)
		if (strcmp(set->vm[i].name, name) == 0)
			return &set->vm[i];
	return NULL;
}

static bool name_valid(struct span v)
{
	if (v.n < 1 || v.n > 31)
		return false;
	for (size_t i = 0; i < v.n; i++) {
		char c = v.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

static void set_name(struct sink *s, const struct config_set *set, struct vm_config *vm, struct span v)
{
	const struct vm_config *other;

	/* Keep what was written, cut to fit, so later messages can name it. */
	span_copy(vm->name, sizeof(vm->name), (struct span){ v.p, MIN(v.n, sizeof(vm->name) - 1) });
	if (!name_valid(v)) {
		err(s, "bad VM name '%.*s' (expected 1-31 characters from A-Z a-z 0-9 _ . -)", SHOW(v));
		return;
	}
	other = config_find(set, vm->name);
	if (other)
		err(s, "duplicate VM name '%s' (already declared at %s)", vm->name, other->src);
}

static void set_mem(struct sink *s, struct vm_config *vm, const char *key, struct span v)
{
	uint64_t b;

	if (!parse_size(v.p, v.n, &b))
		err(s, "bad %s '%.*s' (expected a size with K/M/G suffix, e.g. 64M)", key, SHOW(v));
	else if (b < MiB)
		err(s, "%s %.*s is too small (at least 1M)", key, SHOW(v));
	else if (b > CONFIG_MEM_MAX)
		err(s, "%s %.*s is too large (at most 1024G)", key, SHOW(v));
	else if (!IS_ALIGNED(b, PAGE_SIZE))
		err(s, "%s %.*s is not a multiple of 4K", key, SHOW(v));
	else
		vm->mem = b;
}

static void set_cpus(struct sink *s, struct vm_config *vm, const char *key, struct span v)
{
	uint64_t n;

	if (parse_small(v, VM_MAX_VCPUS, &n) && n >= 1)
		vm->nr_vcpus = (int)n;
	else
		err(s, "bad %s '%.*s' (expected a vCPU count 1-%d)", key, SHOW(v), VM_MAX_VCPUS);
}

/* Cut the next item off a list with blanks or commas between items. */
static bool next_item(struct span *v, struct span *item)
{
	size_t i = 0;

	while (i < v->n && (is_blank(v->p[i]) || v->p[i] == ','))
		i++;
	item->p = v->p + i;
	while (i < v->n && !is_blank(v->p[i]) && v->p[i] != ',')
		i++;
	item->n = (size_t)(v->p + i - item->p);
	v->p += i;
	v->n -= i;
	return item->n > 0;
}

static uint64_t cpus_between(unsigned lo, unsigned hi)
{
	uint64_t upto = hi + 1 >= CONFIG_MAX_CPUS ? CPUSET_ALL : CPUSET_BIT(hi + 1) - 1;

	return upto & ~(CPUSET_BIT(lo) - 1);
}

/*
 * "N" or "LO-HI" -> *set, and *one (if not NULL) = N if it names one CPU,
 * else VM_CPU_ANY.
 * Reports an empty range or a CPU beyond CONFIG_MAX_CPUS (`in` names the
 * list); returns false without a message, *bad set, if the item is not a
 * number or range at all.
 */
static bool cpu_range(struct sink *s, struct span item, const char *in, uint64_t *set, int *one,
		      bool *bad)
{
	uint64_t lo, hi;
	size_t d = 0;

	*bad = false;
	while (d < item.n && item.p[d] != '-')
		d++;
	if (!parse_small((struct span){ item.p, d }, UINT64_MAX, &lo)) {
		*bad = true;
		return false;
	}
	hi = lo;
	if (d < item.n && !parse_small((struct span){ item.p + d + 1, item.n - d - 1 }, UINT64_MAX, &hi)) {
		*bad = true;
		return false;
	}
	if (hi < lo) {
		err(s, "empty range '%.*s' in %s (expected LOW-HIGH with LOW <= HIGH)", SHOW(item), in);
		return false;
	}
	if (hi >= CONFIG_MAX_CPUS) {
		err(s, "cpu %llu is beyond the %d CPUs kasane supports", (unsigned long long)hi,
		    CONFIG_MAX_CPUS);
		return false;
	}
	*set = cpus_between((unsigned)lo, (unsigned)hi);
	if (one)
		*one = lo == hi ? (int)lo : VM_CPU_ANY;
	return true;
}

/* Per vCPU: a CPU number (pinned), a range LOW-HIGH, or "any". */
static void set_cpu_list(struct sink *s, struct vm_decl *d, struct span v)
{
	int cpu[VM_MAX_VCPUS];
	uint64_t set[VM_MAX_VCPUS];
	struct span item, rest = v;
	int nr = 0;
	bool bad;

	while (next_item(&rest, &item)) {
		if (nr == VM_MAX_VCPUS) {
			err(s, "too many CPUs in '%.*s' (at most %d, one per vCPU)", SHOW(v), VM_MAX_VCPUS);
			return;
		}
		cpu[nr] = VM_CPU_ANY;
		set[nr] = 0;
		if (!span_is(item, "any") && !cpu_range(s, item, "cpu list", &set[nr], &cpu[nr], &bad)) {
			if (bad)
				err(s, "bad CPU '%.*s' in cpu list (expected CPU numbers, ranges or 'any', e.g. %s)",
				    SHOW(item), d->form->cpu_example);
			return;
		}
		nr++;
	}
	if (nr == 0) {
		err(s, "empty cpu list (expected CPU numbers, ranges or 'any', e.g. %s)", d->form->cpu_example);
		return;
	}
	memcpy(d->vm->cpu, cpu, (size_t)nr * sizeof(cpu[0]));
	memcpy(d->cpu_set, set, (size_t)nr * sizeof(set[0]));
	d->nr_cpu_list = nr;
}

/* affinity = 1-3,6: CPU numbers and ranges. */
static void set_affinity(struct sink *s, struct vm_decl *d, struct span v)
{
	struct span item, rest = v;
	uint64_t all = 0, one;
	bool bad;

	while (next_item(&rest, &item)) {
		if (!cpu_range(s, item, "affinity", &one, NULL, &bad)) {
			if (bad)
				err(s, "bad affinity '%.*s' (expected CPU numbers and ranges, e.g. %s)",
				    SHOW(item), d->form->affinity_example);
			return;
		}
		all |= one;
	}
	if (!all) {
		err(s, "empty affinity (expected CPU numbers and ranges, e.g. %s)", d->form->affinity_example);
		return;
	}
	d->affinity = all;
}

/* exclusive = yes|no (or true/false, 1/0); no by default. */
static void set_exclusive(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "yes") || span_is(v, "true") || span_is(v, "1"))
		vm->exclusive = true;
	else if (!span_is(v, "no") && !span_is(v, "false") && !span_is(v, "0"))
		err(s, "bad exclusive '%.*s' (expected yes or no)", SHOW(v));
}

/* pci_testdev = on|off (or yes/no, true/false, 1/0); off by default. */
static void set_pci_testdev(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "on") || span_is(v, "yes") || span_is(v, "true") || span_is(v, "1"))
		vm->pci_testdev = true;
	else if (span_is(v, "off") || span_is(v, "no") || span_is(v, "false") || span_is(v, "0"))
		vm->pci_testdev = false;
	else
		err(s, "bad pci_testdev '%.*s' (expected on or off)", SHOW(v));
}

/* paging = nested|shadow; unset: nested where the CPU has it. */
static void set_paging(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "nested"))
		vm->paging = CONFIG_PAGING_NESTED;
	else if (span_is(v, "shadow"))
		vm->paging = CONFIG_PAGING_SHADOW;
	else
		err(s, "bad paging '%.*s' (expected nested or shadow)", SHOW(v));
}

/* gdb = yes|no: wait for the debugger on COM2 before the first instruction
 * (core/gdbstub.c); no by default. */
static void set_gdb(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "yes") || span_is(v, "true") || span_is(v, "1"))
		vm->gdb = true;
	else if (!span_is(v, "no") && !span_is(v, "false") && !span_is(v, "0"))
		err(s, "bad gdb '%.*s' (expected yes or no)", SHOW(v));
}

/* paravirt = on|off (or yes/no, true/false, 1/0): the KVM-compatible CPUID
 * leaves and paravirtual EOI (core/cpuid.c, core/msr.c); on by default. */
static void set_paravirt(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "on") || span_is(v, "yes") || span_is(v, "true") || span_is(v, "1"))
		vm->paravirt = true;
	else if (span_is(v, "off") || span_is(v, "no") || span_is(v, "false") || span_is(v, "0"))
		vm->paravirt = false;
	else
		err(s, "bad paravirt '%.*s' (expected on or off)", SHOW(v));
}

static void set_weight(struct sink *s, struct vm_config *vm, struct span v)
{
	uint64_t w;

	if (parse_small(v, VM_WEIGHT_MAX, &w) && w >= 1)
		vm->weight = (unsigned)w;
	else
		err(s, "bad weight '%.*s' (expected 1-%d; the default is %d)", SHOW(v),
		    VM_WEIGHT_MAX, VM_WEIGHT_DEFAULT);
}

/* kernel = PATH: one path, quotes allowed. */
static void set_kernel(struct sink *s, struct vm_config *vm, struct span v)
{
	if (!take_word(&v, vm->kernel, sizeof(vm->kernel)))
		err(s, "kernel path too long (max %zu characters)", sizeof(vm->kernel) - 1);
	else if (vm->kernel[0] == '\0')
		err(s, "missing path after 'kernel =' (expected the path of a GRUB module)");
	else if (trim(v).n)
		err(s, "unexpected '%.*s' after the kernel path (guest arguments go in 'cmdline')",
		    SHOW(trim(v)));
}

/* initrd = PATH: one path, quotes allowed, as for kernel. */
static void set_initrd(struct sink *s, struct vm_config *vm, struct span v)
{
	if (!take_word(&v, vm->initrd, sizeof(vm->initrd)))
		err(s, "initrd path too long (max %zu characters)", sizeof(vm->initrd) - 1);
	else if (vm->initrd[0] == '\0')
		err(s, "missing path after 'initrd' (expected the path of a GRUB module)");
	else if (trim(v).n)
		err(s, "unexpected '%.*s' after the initrd path (expected one path)", SHOW(trim(v)));
}

/* on_reboot = restart|end */
static void set_on_reboot(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "restart"))
		vm->on_reboot = CONFIG_ON_REBOOT_RESTART;
	else if (span_is(v, "end"))
		vm->on_reboot = CONFIG_ON_REBOOT_END;
	else
		err(s, "bad on_reboot '%.*s' (expected restart or end)", SHOW(v));
}

/* watchdog = 60s | 500ms | 2m | off: a number, then its unit. */
static void set_watchdog(struct sink *s, struct vm_config *vm, struct span v)
{
	static const struct { const char *unit; uint64_t ns; } units[] = {
		{ "ms", 1000000ULL }, { "s", 1000000000ULL }, { "m", 60000000000ULL },
	};
	uint64_t n;
	size_t d = 0;

	if (span_is(v, "off")) {
		vm->watchdog_ns = 0;
		return;
	}
	while (d < v.n && v.p[d] >= '0' && v.p[d] <= '9')
		d++;
	struct span unit = { v.p + d, v.n - d };
	for (size_t i = 0; d && i < ARRAY_SIZE(units); i++) {
		if (!span_is(unit, units[i].unit))
			continue;
		if (parse_small((struct span){ v.p, d }, CONFIG_WATCHDOG_MAX_S * 1000ULL, &n) &&
		    n >= 1 && n * units[i].ns <= CONFIG_WATCHDOG_MAX_S * 1000000000ULL) {
			vm->watchdog_ns = n * units[i].ns;
			return;
		}
		break;
	}
	err(s, "bad watchdog '%.*s' (expected a time of 1ms to %ds with unit ms, s or m, e.g. 60s; or off)",
	    SHOW(v), CONFIG_WATCHDOG_MAX_S);
}

/* module = PATH ARGS... */
static void add_module(struct sink *s, struct vm_config *vm, struct span v)
{
	struct vm_module_cfg *mod;

	if (vm->nr_modules >= VM_MAX_MODULES) {
		err(s, "too many modules (at most %d per VM)", VM_MAX_MODULES);
		return;
	}
	mod = &vm->module[vm->nr_modules];
	if (!take_word(&v, mod->path, sizeof(mod->path))) {
		err(s, "module path too long (max %zu characters)", sizeof(mod->path) - 1);
		return;
	}
	if (mod->path[0] == '\0') {
		err(s, "missing path after 'module =' (expected 'module = PATH [ARGS]')");
		return;
	}
	if (!span_copy(mod->args, sizeof(mod->args), unwrap_quotes(trim(v)))) {
		err(s, "module arguments too long (max %zu characters)", sizeof(mod->args) - 1);
		return;
	}
	vm->nr_modules++;
}

/* ---- declarations ---------------------------------------------------------- */

static int key_find(const struct form *f, struct span key)
{
	for (size_t i = 0; i < f->nr_keys; i++)
		if (span_is(key, f->keys[i].name))
			return (int)f->keys[i].key;
	return -1;
}

/* ---- net = SWITCH [mac=MAC] ------------------------------------------------ */

/* "52:54:00:aa:00:01": six hex pairs with colons. */
static bool parse_mac(const char *t, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned b = 0;

		for (int j = 0; j < 2; j++) {
			char c = *t++;
			int x = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
				c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
			if (x < 0)
				return false;
			b = b << 4 | (unsigned)x;
		}
		mac[i] = (uint8_t)b;
		if (*t++ != (i == 5 ? '\0' : ':'))
			return false;
	}
	return true;
}

/*
 * The MAC of NIC n of a VM without mac=: locally administered unicast
 * (IEEE 802-2014 §8.2: bit 1 of the first octet set, bit 0 clear), then
 * an FNV-1a hash of the VM's name, then n.
 */
static void derive_mac(const char *vm_name, int n, uint8_t mac[6])
{
	uint32_t h = 2166136261u;

	for (const char *c = vm_name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	mac[0] = 0x02;
	mac[1] = (uint8_t)(h >> 24);
	mac[2] = (uint8_t)(h >> 16);
	mac[3] = (uint8_t)(h >> 8);
	mac[4] = (uint8_t)h;
	mac[5] = (uint8_t)n;
}

/* Where another NIC on switch sw has mac: earlier VMs, then this one. */
static const char *mac_taken(const struct config_set *set, const struct vm_config *vm,
			     const char *sw, const uint8_t mac[6])
{
	for (int i = 0; i <= set->nr && i < MAX_VMS; i++) {
		const struct vm_config *o = i < set->nr ? &set->vm[i] : vm;
		for (int j = 0; j < o->nr_nics && j < VM_MAX_NICS; j++)
			if (strcmp(o->nic[j].sw, sw) == 0 && memcmp(o->nic[j].mac, mac, 6) == 0)
				return o->nic[j].src;
	}
	return NULL;
}

static void add_nic(struct sink *s, const struct config_set *set, struct vm_config *vm,
		    struct span v)
{
	struct vm_nic_cfg *nic;
	char sw[40], opt[40];
	const char *where;
	bool given = false;

	if (vm->nr_nics >= VM_MAX_NICS) {
		err(s, "too many net lines (at most %d NICs per VM)", VM_MAX_NICS);
		return;
	}
	nic = &vm->nic[vm->nr_nics];
	memset(nic, 0, sizeof(*nic));
	if (!take_word(&v, sw, sizeof(sw)) || !name_valid((struct span){ sw, strlen(sw) })) {
		err(s, "bad switch name '%s' (expected 1-31 characters from A-Z a-z 0-9 _ . -)", sw);
		return;
	}
	while (v.n > 0 && trim(v).n > 0) {
		if (!take_word(&v, opt, sizeof(opt)) || strncmp(opt, "mac=", 4) != 0 || given) {
			err(s, "unexpected '%s' after the switch name (expected net = SWITCH [mac=52:54:00:aa:00:01])",
			    opt);
			return;
		}
		if (!parse_mac(opt + 4, nic->mac) || (nic->mac[0] & 1)) {
			err(s, "bad MAC '%s' (expected a unicast address as six hex pairs, e.g. 52:54:00:aa:00:01)",
			    opt + 4);
			return;
		}
		given = true;
	}
	if (!given)
		derive_mac(vm->name, vm->nr_nics, nic->mac);
	memcpy(nic->sw, sw, strlen(sw) + 1);
	where = mac_taken(set, vm, nic->sw, nic->mac);
	if (where) {
		err(s, "MAC %02x:%02x:%02x:%02x:%02x:%02x is already on switch '%s' (at %s)",
		    nic->mac[0], nic->mac[1], nic->mac[2], nic->mac[3], nic->mac[4], nic->mac[5],
		    nic->sw, where);
		return;
	}
	ksnprintf(nic->src, sizeof(nic->src), "%s:%u", s->where, s->line);
	vm->nr_nics++;
}

/* ---- disk = PATH [readonly], console = virtio, rng = yes -------------------- */

/* Where another VM (earlier in the set) has the disk at path, and how. */
static const struct vm_disk_cfg *disk_taken(const struct config_set *set, const char *path,
					     const char **vm_name)
{
	for (int i = 0; i < set->nr && i < MAX_VMS; i++)
		for (int j = 0; j < set->vm[i].nr_disks && j < VM_MAX_DISKS; j++)
			if (strcmp(set->vm[i].disk[j].path, path) == 0) {
				*vm_name = set->vm[i].name;
				return &set->vm[i].disk[j];
			}
	return NULL;
}

/* A disk is never read-write in two VMs, nor twice in one. */
static void add_disk(struct sink *s, const struct config_set *set, struct vm_config *vm,
		     struct span v)
{
	struct vm_disk_cfg *dk;
	char opt[16];
	const char *other;

	if (vm->nr_disks >= VM_MAX_DISKS) {
		err(s, "too many disk lines (at most %d disks per VM)", VM_MAX_DISKS);
		return;
	}
	dk = &vm->disk[vm->nr_disks];
	memset(dk, 0, sizeof(*dk));
	if (!take_word(&v, dk->path, sizeof(dk->path))) {
		err(s, "disk path too long (max %zu characters)", sizeof(dk->path) - 1);
		return;
	}
	if (dk->path[0] == '\0') {
		err(s, "missing path after 'disk =' (expected disk = PATH [readonly])");
		return;
	}
	struct span rest = trim(v);
	if (rest.n) {
		if (!take_word(&v, opt, sizeof(opt)) || strcmp(opt, "readonly") != 0 || trim(v).n) {
			err(s, "unexpected '%.*s' after the disk path (expected disk = PATH [readonly])",
			    SHOW(rest));
			return;
		}
		dk->readonly = true;
	}
	for (int j = 0; j < vm->nr_disks; j++)
		if (strcmp(vm->disk[j].path, dk->path) == 0) {
			err(s, "disk %s is already this VM's disk (at %s)", dk->path, vm->disk[j].src);
			return;
		}
	const struct vm_disk_cfg *o = disk_taken(set, dk->path, &other);
	if (o && (!o->readonly || !dk->readonly)) {
		err(s, "disk %s is already VM '%s''s %s disk (at %s); a disk is shared only "
		    "read-only by every VM", dk->path, other, o->readonly ? "read-only" : "read-write",
		    o->src);
		return;
	}
	ksnprintf(dk->src, sizeof(dk->src), "%s:%u", s->where, s->line);
	vm->nr_disks++;
}

static void set_console(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "virtio"))
		vm->virtio_console = true;
	else if (span_is(v, "com1"))
		vm->virtio_console = false;
	else
		err(s, "bad console '%.*s' (expected virtio, for hvc0 beside COM1, or com1)", SHOW(v));
}

static void set_rng(struct sink *s, struct vm_config *vm, struct span v)
{
	if (span_is(v, "yes") || span_is(v, "on"))
		vm->virtio_rng = true;
	else if (span_is(v, "no") || span_is(v, "off"))
		vm->virtio_rng = false;
	else
		err(s, "bad rng '%.*s' (expected yes or no)", SHOW(v));
}

static void decl_begin(struct vm_decl *d, struct vm_config *vm, const struct form *f,
		       struct sink *s, const char *src)
{
	memset(d, 0, sizeof(*d));
	memset(vm, 0, sizeof(*vm));
	d->vm = vm;
	d->form = f;
	d->hdr_line = s->line;
	d->errors_before = s->errors;
	vm->nr_vcpus = 1;
	vm->weight = VM_WEIGHT_DEFAULT;
	vm->paravirt = true;
	d->affinity = CPUSET_ALL;
	for (int i = 0; i < VM_MAX_VCPUS; i++)
		vm->cpu[i] = VM_CPU_ANY;
	span_copy(vm->src, sizeof(vm->src), (struct span){ src, MIN(strlen(src), sizeof(vm->src) - 1) });
}

static void decl_set(struct sink *s, const struct config_set *set, struct vm_decl *d,
		     enum cfg_key k, struct span key, struct span v)
{
	struct vm_config *vm = d->vm;
	char kname[16] = "";

	span_copy(kname, sizeof(kname), key);   /* key came from the key table: short */
	if (d->seen[k] && k != K_MODULE && k != K_NET && k != K_DISK) {
		if (d->line[k])
			err(s, "duplicate key '%s' (already set at line %u)", kname, d->line[k]);
		else
			err(s, "duplicate key '%s'", kname);
		return;
	}
	d->seen[k] = true;
	d->line[k] = s->line;
	switch (k) {
	case K_NAME:
		set_name(s, set, vm, v);
		break;
	case K_KERNEL:
		set_kernel(s, vm, v);
		break;
	case K_CMDLINE:
		if (d->form->file)
			v = unwrap_quotes(v);
		if (!span_copy(vm->cmdline, sizeof(vm->cmdline), v))
			err(s, "cmdline too long (max %zu characters)", sizeof(vm->cmdline) - 1);
		break;
	case K_MODULE:
		add_module(s, vm, v);
		break;
	case K_MEMORY:
		set_mem(s, vm, kname, v);
		break;
	case K_CPUS:
		set_cpus(s, vm, kname, v);
		break;
	case K_CPU:
		set_cpu_list(s, d, v);
		break;
	case K_AFFINITY:
		set_affinity(s, d, v);
		break;
	case K_EXCLUSIVE:
		set_exclusive(s, vm, v);
		break;
	case K_WEIGHT:
		set_weight(s, vm, v);
		break;
	case K_PCI_TESTDEV:
		set_pci_testdev(s, vm, v);
		break;
	case K_PAGING:
		set_paging(s, vm, v);
		break;
	case K_GDB:
		set_gdb(s, vm, v);
		break;
	case K_PARAVIRT:
		set_paravirt(s, vm, v);
		break;
	case K_INITRD:
		set_initrd(s, vm, v);
		break;
	case K_ON_REBOOT:
		set_on_reboot(s, vm, v);
		break;
	case K_WATCHDOG:
		set_watchdog(s, vm, v);
		break;
	case K_NET:
		add_nic(s, set, vm, v);
		break;
	case K_DISK:
		add_disk(s, set, vm, v);
		break;
	case K_CONSOLE:
		set_console(s, vm, v);
		break;
	case K_RNG:
		set_rng(s, vm, v);
		break;
	case K_COUNT:
		break;
	}
}

/* An exclusive VM pins each vCPU to a CPU of its own. */
static void decl_check_exclusive(struct sink *s, struct vm_decl *d)
{
	const struct vm_config *vm = d->vm;
	unsigned line = d->line[K_EXCLUSIVE];
	uint64_t seen = 0;
	int j;

	for (j = 0; j < d->nr_cpu_list && vm->cpu[j] != VM_CPU_ANY; j++) {
		if (seen & CPUSET_BIT(vm->cpu[j])) {
			err_at(s, line, "exclusive VM names cpu %d twice (expected one CPU per vCPU, e.g. %s)",
			       vm->cpu[j], d->form->exclusive_example);
			return;
		}
		seen |= CPUSET_BIT(vm->cpu[j]);
	}
	if (j == 0 || j < d->nr_cpu_list)
		err_at(s, line, "exclusive needs one CPU per vCPU (e.g. %s)", d->form->exclusive_example);
}

/* Check what needs the whole declaration.  True if the VM is good. */
static bool decl_finish(struct sink *s, struct vm_decl *d)
{
	struct vm_config *vm = d->vm;
	int errors;

	if (!d->seen[K_KERNEL])
		err_at(s, d->hdr_line, "VM '%s': missing 'kernel = PATH' (the guest image module)",
		       vm->name);
	if (!d->seen[K_MEMORY])
		err_at(s, d->hdr_line, "VM '%s': %s", vm->name, d->form->mem_missing);
	if (d->nr_cpu_list) {
		if (!d->seen[K_CPUS])
			vm->nr_vcpus = d->nr_cpu_list;
		else if (d->nr_cpu_list != vm->nr_vcpus)
			err_at(s, d->line[K_CPU], "cpu lists %d CPU%s but cpus = %d (expected one CPU per vCPU)",
			       d->nr_cpu_list, d->nr_cpu_list == 1 ? "" : "s", vm->nr_vcpus);
	}
	for (int j = 0; j < VM_MAX_VCPUS; j++)
		vm->affinity[j] = j >= vm->nr_vcpus ? 0 : d->cpu_set[j] ? d->cpu_set[j] : d->affinity;
	if (vm->exclusive)
		decl_check_exclusive(s, d);
	errors = s->errors - d->errors_before;
	if (errors == 0)
		return true;
	note_at(s, d->hdr_line, "VM '%s' dropped (%d error%s)", vm->name, errors, errors == 1 ? "" : "s");
	return false;
}

/* ---- config file ----------------------------------------------------------- */

enum section { SEC_NONE, SEC_VM, SEC_SKIP };

static enum section file_section(struct sink *s, struct config_set *set, struct vm_decl *d,
				 struct span l)
{
	struct span in = { l.p + 1, l.n - 1 };
	char src[160];
	bool closed = l.n >= 2 && l.p[l.n - 1] == ']';

	if (closed)
		in.n--;
	in = trim(in);
	if (set->nr >= MAX_VMS) {
		err(s, "too many VMs (at most %d): section '%.*s' ignored", MAX_VMS, SHOW(l));
		return SEC_SKIP;
	}
	ksnprintf(src, sizeof(src), "%s:%u", s->where, s->line);
	decl_begin(d, &set->vm[set->nr], &file_form, s, src);
	if (!closed)
		err(s, "missing ']' at the end of '%.*s' (expected [vm NAME])", SHOW(l));
	if (in.n < 3 || memcmp(in.p, "vm", 2) != 0 || !is_blank(in.p[2])) {
		if (span_is(in, "vm"))
			err(s, "missing VM name in '%.*s' (expected [vm NAME])", SHOW(l));
		else
			err(s, "unknown section '%.*s' (expected [vm NAME])", SHOW(l));
		span_copy(d->vm->name, sizeof(d->vm->name), (struct span){ "?", 1 });
		return SEC_VM;
	}
	set_name(s, set, d->vm, trim((struct span){ in.p + 2, in.n - 2 }));
	return SEC_VM;
}

static void file_key(struct sink *s, const struct config_set *set, struct vm_decl *d, struct span l)
{
	struct span key, val;
	size_t eq = 0;
	int k;

	while (eq < l.n && l.p[eq] != '=')
		eq++;
	if (eq == l.n) {
		err(s, "missing '=' in '%.*s' (expected 'key = value' or '[vm NAME]')", SHOW(l));
		return;
	}
	key = trim((struct span){ l.p, eq });
	val = trim((struct span){ l.p + eq + 1, l.n - eq - 1 });
	if (!d) {
		err(s, "key '%.*s' outside a VM section (expected a '[vm NAME]' line first)", SHOW(key));
		return;
	}
	k = key_find(&file_form, key);
	if (k < 0) {
		err(s, "unknown key '%.*s' (expected %s)", SHOW(key), file_form.expected);
		return;
	}
	decl_set(s, set, d, (enum cfg_key)k, key, val);
}

static void file_section_end(struct sink *s, struct config_set *set, struct vm_decl *d)
{
	if (decl_finish(s, d))
		set->nr++;
}

int config_parse_file(struct config_set *set, const char *file, const char *text, size_t len,
		      config_report_fn report, void *ctx)
{
	struct sink s = { report, ctx, file ? file : "config", 0, 0 };
	enum section sec = SEC_NONE;
	struct vm_decl d;
	size_t pos = 0;

	if (set->nr < 0 || set->nr > MAX_VMS)
		set->nr = 0;
	while (pos < len && text) {
		struct span l = { text + pos, 0 };
		bool has_nul = false;

		while (pos < len && text[pos] != '\n') {
			has_nul |= text[pos] == '\0';
			pos++;
		}
		l.n = (size_t)(text + pos - l.p);
		if (pos < len)
			pos++;
		s.line++;
		if (l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		if (l.n > CONFIG_LINE_MAX) {
			err(&s, "line longer than %d characters (ignored)", CONFIG_LINE_MAX);
			continue;
		}
		if (has_nul) {
			err(&s, "NUL byte in line (ignored; expected text)");
			continue;
		}
		if (!strip_comment(&l)) {
			err(&s, "unterminated '\"' (quotes must close on the same line)");
			continue;
		}
		l = trim(l);
		if (l.n == 0)
			continue;
		if (l.p[0] == '[') {
			if (sec == SEC_VM)
				file_section_end(&s, set, &d);
			sec = file_section(&s, set, &d, l);
		} else if (sec != SEC_SKIP) {
			file_key(&s, set, sec == SEC_VM ? &d : NULL, l);
		}
	}
	if (sec == SEC_VM)
		file_section_end(&s, set, &d);
	return s.errors;
}

/* ---- module command line --------------------------------------------------- */

int config_parse_module_line(struct config_set *set, const char *modline,
			     config_report_fn report, void *ctx)
{
	struct cmdline_word w;
	struct vm_decl d;
	struct sink s = { report, ctx, NULL, 0, 0 };
	const char *end, *p, *q;
	struct span path;
	char where[160];
	bool named = false;
	size_t len;

	if (!modline)
		return 0;
	len = strnlen(modline, CONFIG_LINE_MAX + 1);
	end = modline + len;
	p = cmdline_next_word(modline, end, &w);
	if (!p)
		return 0;
	path = (struct span){ w.raw, w.raw_len };
	for (q = p; (q = cmdline_next_word(q, end, &w)) != NULL;)
		named |= w.has_val && !w.key_trunc && strcmp(w.key, "name") == 0;
	if (!named)
		return 0;

	ksnprintf(where, sizeof(where), "module %.*s", (int)MIN(path.n, (size_t)127), path.p);
	s.where = where;
	if (len > CONFIG_LINE_MAX) {
		err(&s, "command line longer than %d characters (VM ignored)", CONFIG_LINE_MAX);
		return -1;
	}
	if (set->nr < 0 || set->nr > MAX_VMS)
		set->nr = 0;
	if (set->nr >= MAX_VMS) {
		err(&s, "too many VMs (at most %d): VM ignored", MAX_VMS);
		return -1;
	}
	decl_begin(&d, &set->vm[set->nr], &module_form, &s, where);
	d.seen[K_KERNEL] = true;
	if (!span_copy(d.vm->kernel, sizeof(d.vm->kernel), path))
		err(&s, "path too long (max %zu characters)", sizeof(d.vm->kernel) - 1);

	while ((p = cmdline_next_word(p, end, &w)) != NULL) {
		struct span key = { w.key, strlen(w.key) };
		int k;

		if (w.open_quote) {
			err(&s, "unterminated quote in '%.*s'", (int)MIN(w.raw_len, (size_t)SHOW_MAX), w.raw);
			continue;
		}
		if (!w.has_val) {
			err(&s, "unexpected word '%.*s' (expected key=value with key %s)",
			    (int)MIN(w.raw_len, (size_t)SHOW_MAX), w.raw, module_form.expected);
			continue;
		}
		k = w.key_trunc ? -1 : key_find(&module_form, key);
		if (k < 0) {
			err(&s, "unknown key '%.*s' (expected %s)", SHOW(key), module_form.expected);
			continue;
		}
		if (w.val_trunc) {
			err(&s, "%s value too long (max %zu characters)", w.key, sizeof(w.val) - 1);
			continue;
		}
		decl_set(&s, set, &d, (enum cfg_key)k, key, (struct span){ w.val, strlen(w.val) });
	}
	if (!decl_finish(&s, &d))
		return -1;
	set->nr++;
	return 1;
}
