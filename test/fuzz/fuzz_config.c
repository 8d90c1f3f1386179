/*
 * Fuzz target: the config-file parser (core/config.c) and the checks
 * against the machine (core/config_check.c).
 *
 * Input: three control bytes (CPUs online 1..64, free memory in 64 MiB
 * steps, which module paths exist), then the file's text.
 *
 * Properties:
 *  - every message is one line and starts with "FILE:" (parser) or names
 *    the file or "config" (checks); the parser returns 0 exactly when it
 *    reported nothing;
 *  - every kept VM has NUL-terminated strings, 1..VM_MAX_VCPUS vCPUs,
 *    0..VM_MAX_MODULES modules, a weight in 1..VM_WEIGHT_MAX, memory;
 *  - after the checks: each vCPU's set is non-empty and online, its CPU is
 *    in it, no two VMs share a CPU that one of them holds exclusively,
 *    and the VMs' memory fits in what the machine has free.
 */
#include "test/fuzz/fuzz.h"
#include "core/config.h"

#define FILE_NAME "/boot/kasane.cfg"

struct msgs {
	int n;
	bool from_parser;
};

static void report(void *ctx, const char *msg)
{
	struct msgs *m = ctx;

	fuzz_check_line(msg, 1024);
	if (m->from_parser)
		FUZZ_CHECK(strncmp(msg, FILE_NAME ":", strlen(FILE_NAME) + 1) == 0);
	m->n++;
}

/* Which paths exist: a hash of the path against the input's mask. */
static bool module_exists(void *ctx, const char *path)
{
	unsigned mask = *(const unsigned *)ctx, h = 0;

	FUZZ_CHECK(strlen(path) < 128);
	for (const char *p = path; *p; p++)
		h = h * 31 + (unsigned char)*p;
	return (mask >> (h % 8)) & 1;
}

static bool terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void check_vm(const struct vm_config *v)
{
	FUZZ_CHECK(terminated(v->name, sizeof(v->name)) && v->name[0]);
	FUZZ_CHECK(terminated(v->kernel, sizeof(v->kernel)) && v->kernel[0]);
	FUZZ_CHECK(terminated(v->cmdline, sizeof(v->cmdline)));
	FUZZ_CHECK(terminated(v->src, sizeof(v->src)));
	FUZZ_CHECK(v->nr_modules >= 0 && v->nr_modules <= VM_MAX_MODULES);
	for (int i = 0; i < v->nr_modules; i++)
		FUZZ_CHECK(terminated(v->module[i].path, sizeof(v->module[i].path)) &&
			   terminated(v->module[i].args, sizeof(v->module[i].args)));
	FUZZ_CHECK(v->nr_vcpus >= 1 && v->nr_vcpus <= VM_MAX_VCPUS);
	FUZZ_CHECK(v->weight >= 1 && v->weight <= VM_WEIGHT_MAX);
	FUZZ_CHECK(v->mem > 0);
	FUZZ_CHECK(v->on_reboot == CONFIG_ON_REBOOT_RESTART || v->on_reboot == CONFIG_ON_REBOOT_END);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned nr_cpus = (unsigned)fuzz_take(&in, 1) % 64 + 1;
	uint64_t free_bytes = (fuzz_take(&in, 1) + 1) * 64 * MiB;
	unsigned exists_mask = (unsigned)fuzz_take(&in, 1);
	static struct config_set set;
	struct msgs m = { 0, true };

	/* Not NUL-terminated: an exact-size copy, so ASan sees a read past len. */
	char *text = malloc(in.n ? in.n : 1);
	memcpy(text, in.p, in.n);
	memset(&set, 0x5a, sizeof(set));   /* the parser must not rely on zeroed slots */
	set.nr = 0;
	int errors = config_parse_file(&set, FILE_NAME, text, in.n, report, &m);
	FUZZ_CHECK(errors >= 0 && (errors == 0) == (m.n == 0));
	FUZZ_CHECK(set.nr >= 0 && set.nr <= MAX_VMS);
	for (int i = 0; i < set.nr; i++)
		check_vm(&set.vm[i]);

	struct machine_facts mf = { nr_cpus, free_bytes,
				    (exists_mask & 0x80) ? NULL : module_exists, &exists_mask };
	m.from_parser = false;
	config_validate(&set, &mf, report, &m);
	FUZZ_CHECK(set.nr >= 0 && set.nr <= MAX_VMS);
	uint64_t online = nr_cpus >= 64 ? CPUSET_ALL : CPUSET_BIT(nr_cpus) - 1;
	uint64_t used = 0, exclusive = 0;
	for (int i = 0; i < set.nr; i++) {
		const struct vm_config *v = &set.vm[i];
		uint64_t cpus = 0;
		check_vm(v);
		for (int j = 0; j < v->nr_vcpus; j++) {
			FUZZ_CHECK(v->affinity[j] != 0 && (v->affinity[j] & ~online) == 0);
			FUZZ_CHECK(v->cpu[j] >= 0 && v->cpu[j] < 64 &&
				   (v->affinity[j] & CPUSET_BIT(v->cpu[j])));
			cpus |= v->affinity[j];
		}
		used += v->mem;
		FUZZ_CHECK(used <= free_bytes);
		if (v->exclusive) {
			FUZZ_CHECK((cpus & exclusive) == 0);
			exclusive |= cpus;
		}
	}
	/* No VM runs on a CPU another one holds exclusively. */
	for (int i = 0; i < set.nr; i++) {
		const struct vm_config *v = &set.vm[i];
		for (int j = 0; j < v->nr_vcpus && !v->exclusive; j++)
			FUZZ_CHECK((v->affinity[j] & exclusive) == 0);
	}
	free(text);
	return 0;
}
