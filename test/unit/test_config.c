/* Host tests for the VM configuration parsers and checks (core/config.c). */
#include "test/unit/check.h"
#include "core/config.h"
#include "lib/types.h"

#define F "/boot/kasane.cfg"

struct msgs {
	int n;
	char m[48][400];
};

static struct msgs ms;
static struct config_set set;

static void collect(void *ctx, const char *msg)
{
	struct msgs *m = ctx;

	if (m->n < 48)
		snprintf(m->m[m->n], sizeof(m->m[0]), "%s", msg);
	m->n++;
}

static void reset(void)
{
	memset(&ms, 0, sizeof(ms));
	memset(&set, 0x5a, sizeof(set));   /* the parser must not rely on zeroed slots */
	set.nr = 0;
}

static int parse(const char *text)
{
	return config_parse_file(&set, F, text, strlen(text), collect, &ms);
}

static bool has_msg(const char *want)
{
	for (int i = 0; i < ms.n && i < 48; i++)
		if (strcmp(ms.m[i], want) == 0)
			return true;
	printf("    missing message: %s\n", want);
	for (int i = 0; i < ms.n && i < 48; i++)
		printf("      got: %s\n", ms.m[i]);
	return false;
}

static const struct vm_config *vm_named(const char *name)
{
	for (int i = 0; i < set.nr; i++)
		if (strcmp(set.vm[i].name, name) == 0)
			return &set.vm[i];
	return NULL;
}

static const char three_vms[] =
	"# kasane test configuration\n"
	"\n"
	"[vm web]                  ; section per VM\n"
	"kernel  = /guests/web.elf ; path of another GRUB module\n"
	"cmdline = console=ttyS0 quiet   ; guest kernel command line\n"
	"module  = /guests/initrd.img rootfs   ; extra module\n"
	"module  = /guests/data.bin\n"
	"memory  = 64M\n"
	"cpus    = 2\n"
	"cpu     = 1 2\n"
	"\n"
	"[vm db.2_x-y]\n"
	"kernel = \"/guests/db server.elf\"\n"
	"mem = 1G\n"
	"vcpus = 3\n"
	"cpu = 3, any,4\n"
	"cmdline = \"root=/dev/vda ; init=/bin/sh # x\"\n"
	"\n"
	"[vm tiny]\n"
	"kernel=/guests/tiny.elf\n"
	"memory=1024K\n";

TEST(file_three_vms)
{
	const struct vm_config *v;

	reset();
	CHECK_EQ(parse(three_vms), 0);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 3);

	v = &set.vm[0];
	CHECK_STR(v->name, "web");
	CHECK_STR(v->kernel, "/guests/web.elf");
	CHECK_STR(v->cmdline, "console=ttyS0 quiet");
	CHECK_EQ(v->nr_modules, 2);
	CHECK_STR(v->module[0].path, "/guests/initrd.img");
	CHECK_STR(v->module[0].args, "rootfs");
	CHECK_STR(v->module[1].path, "/guests/data.bin");
	CHECK_STR(v->module[1].args, "");
	CHECK_EQ(v->mem, 64 * MiB);
	CHECK_EQ(v->nr_vcpus, 2);
	CHECK_EQ(v->cpu[0], 1);
	CHECK_EQ(v->cpu[1], 2);
	CHECK_EQ(v->affinity[0], CPUSET_BIT(1));
	CHECK_EQ(v->affinity[1], CPUSET_BIT(2));
	CHECK_EQ(v->affinity[2], 0);
	CHECK(!v->exclusive);
	CHECK_EQ(v->weight, VM_WEIGHT_DEFAULT);
	CHECK_STR(v->src, F ":3");

	v = &set.vm[1];
	CHECK_STR(v->name, "db.2_x-y");
	CHECK_STR(v->kernel, "/guests/db server.elf");
	CHECK_STR(v->cmdline, "root=/dev/vda ; init=/bin/sh # x");
	CHECK_EQ(v->nr_modules, 0);
	CHECK_EQ(v->mem, GiB);
	CHECK_EQ(v->nr_vcpus, 3);
	CHECK_EQ(v->cpu[0], 3);
	CHECK_EQ(v->cpu[1], VM_CPU_ANY);
	CHECK_EQ(v->cpu[2], 4);
	CHECK_EQ(v->affinity[1], CPUSET_ALL);
	CHECK_STR(v->src, F ":12");

	v = &set.vm[2];
	CHECK_STR(v->name, "tiny");
	CHECK_STR(v->kernel, "/guests/tiny.elf");
	CHECK_STR(v->cmdline, "");
	CHECK_EQ(v->mem, MiB);
	CHECK_EQ(v->nr_vcpus, 1);
	CHECK_EQ(v->cpu[0], VM_CPU_ANY);
	CHECK_STR(v->src, F ":19");
}

TEST(whitespace_comments_crlf)
{
	const struct vm_config *v;

	reset();
	CHECK_EQ(parse("\r\n  # comment\r\n; another\r\n\t[ vm  a ]\t\r\n"
		       "\tkernel\t=\t/k#1.elf\t# the '#' above is part of the path\r\n"
		       "   \r\n"
		       "memory =   2M   \r\n"
		       "cmdline =\r\n"
		       "cpu = 5"), 0);   /* no newline at the end */
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 1);
	v = &set.vm[0];
	CHECK_STR(v->name, "a");
	CHECK_STR(v->kernel, "/k#1.elf");
	CHECK_STR(v->cmdline, "");
	CHECK_EQ(v->mem, 2 * MiB);
	/* cpus inferred from the cpu list when not given. */
	CHECK_EQ(v->nr_vcpus, 1);
	CHECK_EQ(v->cpu[0], 5);

	reset();
	CHECK_EQ(parse("[vm b]\nkernel=/b\nmemory=4M\ncpu=1 2 3\n"), 0);
	CHECK_EQ(set.vm[0].nr_vcpus, 3);

	/* Only len bytes are read: the text need not be NUL-terminated. */
	reset();
	{
		const char *t = "[vm c]\nkernel=/c\nmemory=4M\nbogus";
		CHECK_EQ(config_parse_file(&set, F, t, strlen(t) - 5, collect, &ms), 0);
		CHECK_EQ(set.nr, 1);
	}
	/* Empty file, NULL report. */
	reset();
	CHECK_EQ(config_parse_file(&set, F, "", 0, NULL, NULL), 0);
	CHECK_EQ(config_parse_file(&set, F, "[vm x]\nfoo=1\n", 13, NULL, NULL), 3);
	CHECK_EQ(set.nr, 0);
}

/* The good VMs around a bad one. */
#define GOOD_A "[vm a]\nkernel=/a\nmemory=4M\n"
#define GOOD_Z "[vm z]\nkernel=/z\nmemory=4M\n"

static bool survivors_ok(void)
{
	return set.nr == 2 && vm_named("a") && vm_named("z");
}

TEST(error_unknown_key)
{
	reset();
	CHECK_EQ(parse(GOOD_A "[vm web]\nkernel=/w\nmemory=4M\nmemroy = 64M\n" GOOD_Z), 1);
	CHECK(has_msg(F ":7: unknown key 'memroy' (expected kernel, cmdline, module, memory, cpus, cpu, "
		      "affinity, exclusive, weight, initrd, on_reboot, watchdog)"));
	CHECK(has_msg(F ":4: VM 'web' dropped (1 error)"));
	CHECK_EQ(ms.n, 2);
	CHECK(survivors_ok());
}

TEST(error_missing_equals)
{
	reset();
	CHECK_EQ(parse(GOOD_A "[vm web]\nkernel /w\nmemory=4M\n" GOOD_Z), 2);
	CHECK(has_msg(F ":5: missing '=' in 'kernel /w' (expected 'key = value' or '[vm NAME]')"));
	CHECK(has_msg(F ":4: VM 'web': missing 'kernel = PATH' (the guest image module)"));
	CHECK(has_msg(F ":4: VM 'web' dropped (2 errors)"));
	CHECK(survivors_ok());
}

TEST(error_bad_values)
{
	reset();
	CHECK_EQ(parse(GOOD_A
		       "[vm w]\nkernel=/w\nmemory=64Q\ncpus=0\ncpu=1 x\n"
		       "[vm x]\nkernel=/x\nmem=512K\nvcpus=17\n"
		       "[vm y]\nkernel=/y\nmemory=1025K\ncpus=two\n"
		       "[vm v]\nkernel=/v\nmemory=2048G\ncpu=,\n"
		       "[vm u]\nkernel=/u\nmemory=4M\ncpu=0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16\n"
		       "[vm t]\nkernel=/t\nmemory=4M\ncpu=65536\n"
		       "[vm s]\nkernel=/s one\nmemory=\nmodule=\n"
		       GOOD_Z), 14);
	CHECK(has_msg(F ":6: bad memory '64Q' (expected a size with K/M/G suffix, e.g. 64M)"));
	CHECK(has_msg(F ":7: bad cpus '0' (expected a vCPU count 1-16)"));
	CHECK(has_msg(F ":8: bad CPU 'x' in cpu list (expected CPU numbers, ranges or 'any', "
		      "e.g. cpu = 1 2-3)"));
	CHECK(has_msg(F ":4: VM 'w' dropped (3 errors)"));
	CHECK(has_msg(F ":11: mem 512K is too small (at least 1M)"));
	CHECK(has_msg(F ":12: bad vcpus '17' (expected a vCPU count 1-16)"));
	CHECK(has_msg(F ":15: memory 1025K is not a multiple of 4K"));
	CHECK(has_msg(F ":16: bad cpus 'two' (expected a vCPU count 1-16)"));
	CHECK(has_msg(F ":19: memory 2048G is too large (at most 1024G)"));
	CHECK(has_msg(F ":20: empty cpu list (expected CPU numbers, ranges or 'any', e.g. cpu = 1 2-3)"));
	CHECK(has_msg(F ":24: too many CPUs in '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16' "
		      "(at most 16, one per vCPU)"));
	CHECK(has_msg(F ":28: cpu 65536 is beyond the 64 CPUs kasane supports"));
	CHECK(has_msg(F ":30: unexpected 'one' after the kernel path (guest arguments go in 'cmdline')"));
	CHECK(has_msg(F ":31: bad memory '' (expected a size with K/M/G suffix, e.g. 64M)"));
	CHECK(has_msg(F ":32: missing path after 'module =' (expected 'module = PATH [ARGS]')"));
	CHECK(survivors_ok());
}

TEST(error_outside_section)
{
	reset();
	CHECK_EQ(parse("memory = 4M\n" GOOD_A GOOD_Z), 1);
	CHECK(has_msg(F ":1: key 'memory' outside a VM section (expected a '[vm NAME]' line first)"));
	CHECK_EQ(ms.n, 1);
	CHECK(survivors_ok());
}

TEST(error_section_headers)
{
	reset();
	CHECK_EQ(parse(GOOD_A
		       "[vm a]\nkernel=/a2\nmemory=4M\n"          /* 4: duplicate name */
		       "[vm bad name]\nkernel=/b\nmemory=4M\n"    /* 7 */
		       "[vm]\nkernel=/c\nmemory=4M\n"             /* 10 */
		       "[host x]\nkernel=/d\nmemory=4M\n"         /* 13 */
		       "[vm e\nkernel=/e\nmemory=4M\n"            /* 16 */
		       "[vm waytoolongnamewaytoolongname1234]\nkernel=/f\nmemory=4M\n" /* 19 */
		       GOOD_Z), 6);
	CHECK(has_msg(F ":4: duplicate VM name 'a' (already declared at " F ":1)"));
	CHECK(has_msg(F ":4: VM 'a' dropped (1 error)"));
	CHECK(has_msg(F ":7: bad VM name 'bad name' (expected 1-31 characters from A-Z a-z 0-9 _ . -)"));
	CHECK(has_msg(F ":10: missing VM name in '[vm]' (expected [vm NAME])"));
	CHECK(has_msg(F ":13: unknown section '[host x]' (expected [vm NAME])"));
	CHECK(has_msg(F ":13: VM '?' dropped (1 error)"));
	CHECK(has_msg(F ":16: missing ']' at the end of '[vm e' (expected [vm NAME])"));
	CHECK(has_msg(F ":19: bad VM name 'waytoolongnamewaytoolongname1234' "
		      "(expected 1-31 characters from A-Z a-z 0-9 _ . -)"));
	CHECK(survivors_ok());
	CHECK_STR(vm_named("a")->kernel, "/a");
}

TEST(error_modules_and_cpus)
{
	reset();
	CHECK_EQ(parse(GOOD_A
		       "[vm m]\nkernel=/m\nmemory=4M\n"
		       "module=/1\nmodule=/2\nmodule=/3\nmodule=/4\nmodule=/5 a\n"
		       "module=/6\nmodule=/7\nmodule=\"/8 x\" \"a ; b\"\nmodule=/9\n"   /* 15 */
		       "[vm c]\nkernel=/c\nmemory=4M\ncpu=1 2 3\ncpus=2\n"           /* 16 */
		       "[vm d]\nkernel=/d\nmemory=4M\ncpus=1\ncpus=2\n"              /* 21 */
		       "[vm e]\nmemory=4M\n"                                        /* 26 */
		       "[vm f]\nkernel=/f\ncmdline=\"unterminated\n"                /* 28 */
		       GOOD_Z), 6);
	CHECK(has_msg(F ":15: too many modules (at most 8 per VM)"));
	CHECK(has_msg(F ":19: cpu lists 3 CPUs but cpus = 2 (expected one CPU per vCPU)"));
	CHECK(has_msg(F ":25: duplicate key 'cpus' (already set at line 24)"));
	CHECK(has_msg(F ":26: VM 'e': missing 'kernel = PATH' (the guest image module)"));
	CHECK(has_msg(F ":30: unterminated '\"' (quotes must close on the same line)"));
	CHECK(has_msg(F ":28: VM 'f': missing 'memory = SIZE' (e.g. memory = 64M)"));
	CHECK(has_msg(F ":28: VM 'f' dropped (2 errors)"));
	CHECK(survivors_ok());

	/* Eight modules are fine, and quoted paths/args are kept whole. */
	reset();
	CHECK_EQ(parse("[vm m]\nkernel=/m\nmemory=4M\n"
		       "module=/1\nmodule=/2\nmodule=/3\nmodule=/4\nmodule=/5 a\n"
		       "module=/6\nmodule=/7\nmodule=\"/8 x\" \"a ; b\"\n"), 0);
	CHECK_EQ(set.nr, 1);
	CHECK_EQ(set.vm[0].nr_modules, 8);
	CHECK_STR(set.vm[0].module[4].args, "a");
	CHECK_STR(set.vm[0].module[7].path, "/8 x");
	CHECK_STR(set.vm[0].module[7].args, "a ; b");
}

TEST(parse_affinity)
{
	const struct vm_config *v;

	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpus=3\naffinity = 1-3,6\n"
		       "[vm b]\nkernel=/b\nmemory=4M\naffinity = 0, 63 5-5\ncpus=2\n"
		       "[vm c]\nkernel=/c\nmemory=4M\naffinity=0-63\n"
		       "[vm d]\nkernel=/d\nmemory=4M\n"), 0);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 4);
	v = &set.vm[0];
	CHECK_EQ(v->nr_vcpus, 3);
	for (int j = 0; j < 3; j++) {
		CHECK_EQ(v->affinity[j], 0x4e);
		CHECK_EQ(v->cpu[j], VM_CPU_ANY);
	}
	CHECK_EQ(v->affinity[3], 0);
	CHECK_EQ(set.vm[1].affinity[1], CPUSET_BIT(63) | CPUSET_BIT(5) | 1);
	CHECK_EQ(set.vm[2].affinity[0], CPUSET_ALL);
	CHECK_EQ(set.vm[3].affinity[0], CPUSET_ALL);
	CHECK_EQ(config_parse_module_line(&set, "/g/m name=m mem=4M affinity=1-3,6 cpus=2",
					  collect, &ms), 1);
	CHECK_EQ(set.vm[4].affinity[1], 0x4e);

	reset();
	CHECK_EQ(parse(GOOD_A
		       "[vm e]\nkernel=/e\nmemory=4M\naffinity = 1-x\n"
		       "[vm f]\nkernel=/f\nmemory=4M\naffinity=3-1\n"
		       "[vm g]\nkernel=/g\nmemory=4M\naffinity=2,70\n"
		       "[vm h]\nkernel=/h\nmemory=4M\naffinity=60-64\n"
		       "[vm i]\nkernel=/i\nmemory=4M\naffinity= , \n"
		       "[vm j]\nkernel=/j\nmemory=4M\naffinity=-3\naffinity=any\n"
		       GOOD_Z), 7);
	CHECK(has_msg(F ":7: bad affinity '1-x' (expected CPU numbers and ranges, e.g. affinity = 1-3,6)"));
	CHECK(has_msg(F ":4: VM 'e' dropped (1 error)"));
	CHECK(has_msg(F ":11: empty range '3-1' in affinity (expected LOW-HIGH with LOW <= HIGH)"));
	CHECK(has_msg(F ":15: cpu 70 is beyond the 64 CPUs kasane supports"));
	CHECK(has_msg(F ":19: cpu 64 is beyond the 64 CPUs kasane supports"));
	CHECK(has_msg(F ":23: empty affinity (expected CPU numbers and ranges, e.g. affinity = 1-3,6)"));
	CHECK(has_msg(F ":27: bad affinity '-3' (expected CPU numbers and ranges, e.g. affinity = 1-3,6)"));
	CHECK(has_msg(F ":28: duplicate key 'affinity' (already set at line 27)"));
	CHECK(survivors_ok());

	reset();
	CHECK_EQ(config_parse_module_line(&set, "/g/k name=k mem=4M affinity=1-3,x", collect, &ms), -1);
	CHECK(has_msg("module /g/k: bad affinity 'x' (expected CPU numbers and ranges, e.g. affinity=1-3,6)"));
}

TEST(parse_cpu_ranges)
{
	const struct vm_config *v;

	/* Per vCPU: a range, "any" (the VM's affinity), a CPU, a one-CPU range. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu = 1-3 any 5 4-4, 0-63\naffinity=6-7\n"), 0);
	CHECK_EQ(ms.n, 0);
	v = &set.vm[0];
	CHECK_EQ(v->nr_vcpus, 5);
	CHECK_EQ(v->cpu[0], VM_CPU_ANY);
	CHECK_EQ(v->affinity[0], 0xe);
	CHECK_EQ(v->cpu[1], VM_CPU_ANY);
	CHECK_EQ(v->affinity[1], 0xc0);
	CHECK_EQ(v->cpu[2], 5);
	CHECK_EQ(v->affinity[2], CPUSET_BIT(5));
	CHECK_EQ(v->cpu[3], 4);
	CHECK_EQ(v->affinity[3], CPUSET_BIT(4));
	CHECK_EQ(v->cpu[4], VM_CPU_ANY);
	CHECK_EQ(v->affinity[4], CPUSET_ALL);
	CHECK_EQ(v->affinity[5], 0);
	CHECK_EQ(config_parse_module_line(&set, "/g/m name=m mem=4M cpu=2-3,any,0", collect, &ms), 1);
	CHECK_EQ(set.vm[1].affinity[0], 0xc);
	CHECK_EQ(set.vm[1].affinity[1], CPUSET_ALL);
	CHECK_EQ(set.vm[1].cpu[2], 0);

	reset();
	CHECK_EQ(parse(GOOD_A
		       "[vm e]\nkernel=/e\nmemory=4M\ncpu=2 3-1\n"
		       "[vm f]\nkernel=/f\nmemory=4M\ncpu=1 70\n"
		       "[vm g]\nkernel=/g\nmemory=4M\ncpu=1-2-3\n"
		       GOOD_Z), 3);
	CHECK(has_msg(F ":7: empty range '3-1' in cpu list (expected LOW-HIGH with LOW <= HIGH)"));
	CHECK(has_msg(F ":11: cpu 70 is beyond the 64 CPUs kasane supports"));
	CHECK(has_msg(F ":15: bad CPU '1-2-3' in cpu list (expected CPU numbers, ranges or 'any', "
		      "e.g. cpu = 1 2-3)"));
	CHECK(survivors_ok());
}

TEST(parse_exclusive_weight)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=2 3\nexclusive = yes\nweight = 250\n"
		       "[vm b]\nkernel=/b\nmemory=4M\nexclusive=no\nweight=1\n"
		       "[vm c]\nkernel=/c\nmemory=4M\nexclusive=true\ncpu=4-4\nweight=10000\n"
		       "[vm d]\nkernel=/d\nmemory=4M\nexclusive=0\n"
		       "[vm e]\nkernel=/e\nmemory=4M\nexclusive=1\ncpu=5\n"
		       "[vm f]\nkernel=/f\nmemory=4M\nexclusive=false\n"), 0);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 6);
	if (set.nr != 6)
		return;     /* the slots past set.nr hold garbage */
	CHECK(set.vm[0].exclusive);
	CHECK_EQ(set.vm[0].weight, 250);
	CHECK_EQ(set.vm[0].cpu[1], 3);
	CHECK(!set.vm[1].exclusive);
	CHECK_EQ(set.vm[1].weight, 1);
	CHECK(set.vm[2].exclusive);
	CHECK_EQ(set.vm[2].cpu[0], 4);
	CHECK_EQ(set.vm[2].weight, 10000);
	CHECK(!set.vm[3].exclusive);
	CHECK_EQ(set.vm[3].weight, 100);
	CHECK(set.vm[4].exclusive);
	CHECK(!set.vm[5].exclusive);
	CHECK_EQ(config_parse_module_line(&set, "/g/s name=s mem=4M cpu=2,3 exclusive=yes weight=7",
					  collect, &ms), 1);
	CHECK(set.vm[6].exclusive);
	CHECK_EQ(set.vm[6].weight, 7);

	reset();
	CHECK_EQ(parse(GOOD_A
		       "[vm s]\nkernel=/s\nmemory=4M\nexclusive=yes\n"
		       "[vm t]\nkernel=/t\nmemory=4M\ncpus=2\nexclusive=yes\ncpu=2 any\n"
		       "[vm u]\nkernel=/u\nmemory=4M\ncpu=2 1-3\nexclusive=yes\n"
		       "[vm v]\nkernel=/v\nmemory=4M\ncpu=2,2\nexclusive=yes\n"
		       "[vm w]\nkernel=/w\nmemory=4M\nexclusive=maybe\nweight=0\n"
		       "[vm x]\nkernel=/x\nmemory=4M\nweight=10001\nweight=x\n"
		       GOOD_Z), 8);
	CHECK(has_msg(F ":7: exclusive needs one CPU per vCPU (e.g. cpu = 2 3)"));
	CHECK(has_msg(F ":12: exclusive needs one CPU per vCPU (e.g. cpu = 2 3)"));
	CHECK(has_msg(F ":18: exclusive needs one CPU per vCPU (e.g. cpu = 2 3)"));
	CHECK(has_msg(F ":23: exclusive VM names cpu 2 twice (expected one CPU per vCPU, e.g. cpu = 2 3)"));
	CHECK(has_msg(F ":27: bad exclusive 'maybe' (expected yes or no)"));
	CHECK(has_msg(F ":28: bad weight '0' (expected 1-10000; the default is 100)"));
	CHECK(has_msg(F ":32: bad weight '10001' (expected 1-10000; the default is 100)"));
	CHECK(has_msg(F ":33: duplicate key 'weight' (already set at line 32)"));
	CHECK(has_msg(F ":29: VM 'x' dropped (2 errors)"));
	CHECK(survivors_ok());

	reset();
	CHECK_EQ(config_parse_module_line(&set, "/g/e name=e mem=4M exclusive=yes", collect, &ms), -1);
	CHECK(has_msg("module /g/e: exclusive needs one CPU per vCPU (e.g. cpu=2,3)"));
	CHECK(has_msg("module /g/e: VM 'e' dropped (1 error)"));
}

TEST(bounded_input)
{
	static char text[64 * 1024];
	char line[2048];
	size_t n = 0;

	/* A line over CONFIG_LINE_MAX is an error and ignored; its VM is dropped. */
	reset();
	memset(line, 'x', sizeof(line));
	memcpy(line, "cmdline = ", 10);
	line[CONFIG_LINE_MAX + 1] = '\0';
	snprintf(text, sizeof(text), GOOD_A "[vm l]\nkernel=/l\nmemory=4M\n%s\n" GOOD_Z, line);
	CHECK_EQ(parse(text), 1);
	CHECK(has_msg(F ":7: line longer than 1024 characters (ignored)"));
	CHECK(survivors_ok());

	/* Exactly CONFIG_LINE_MAX is fine, but cmdline holds only 511 characters. */
	reset();
	line[CONFIG_LINE_MAX] = '\0';
	snprintf(text, sizeof(text), "[vm l]\nkernel=/l\nmemory=4M\n%s\n", line);
	CHECK_EQ(parse(text), 1);
	CHECK(has_msg(F ":4: cmdline too long (max 511 characters)"));
	line[10 + 511] = '\0';
	snprintf(text, sizeof(text), "[vm l]\nkernel=/l\nmemory=4M\n%s\n", line);
	reset();
	CHECK_EQ(parse(text), 0);
	CHECK_EQ(strlen(set.vm[0].cmdline), 511);

	/* Paths and module args are bounded by their fields. */
	reset();
	memset(line, 'p', 300);
	line[0] = '/';
	line[300] = '\0';
	snprintf(text, sizeof(text), "[vm p]\nkernel=%s\nmemory=4M\nmodule=%s\nmodule=/m %s\n",
		 line, line, line);
	CHECK_EQ(parse(text), 3);
	CHECK(has_msg(F ":2: kernel path too long (max 127 characters)"));
	CHECK(has_msg(F ":4: module path too long (max 127 characters)"));
	CHECK(has_msg(F ":5: module arguments too long (max 255 characters)"));
	CHECK_EQ(set.nr, 0);

	/* A NUL byte inside the text. */
	reset();
	{
		static const char t[] = "[vm n]\nkernel=/n\0x\nmemory=4M\n";
		CHECK_EQ(config_parse_file(&set, F, t, sizeof(t) - 1, collect, &ms), 2);
		CHECK(has_msg(F ":2: NUL byte in line (ignored; expected text)"));
	}

	/* At most MAX_VMS VMs; later sections are ignored with one error each. */
	reset();
	for (int i = 0; i < MAX_VMS + 2; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[vm v%d]\nkernel=/v\nmemory=1M\n", i);
	CHECK_EQ(parse(text), 2);
	CHECK_EQ(set.nr, MAX_VMS);
	CHECK(has_msg(F ":97: too many VMs (at most 32): section '[vm v32]' ignored"));
	CHECK(has_msg(F ":100: too many VMs (at most 32): section '[vm v33]' ignored"));
	CHECK_STR(set.vm[MAX_VMS - 1].name, "v31");
	CHECK_EQ(config_parse_module_line(&set, "/g name=g mem=1M", collect, &ms), -1);
	CHECK(has_msg("module /g: too many VMs (at most 32): VM ignored"));
	CHECK_EQ(set.nr, MAX_VMS);
}

TEST(module_line)
{
	const struct vm_config *v;

	reset();
	CHECK_EQ(config_parse_module_line(&set,
		"/guests/hello.elf name=hello mem=16M cpus=2 cpu=2,any "
		"cmdline=\"console=ttyS0 earlyprintk=serial\"", collect, &ms), 1);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 1);
	v = &set.vm[0];
	CHECK_STR(v->name, "hello");
	CHECK_STR(v->kernel, "/guests/hello.elf");
	CHECK_STR(v->cmdline, "console=ttyS0 earlyprintk=serial");
	CHECK_EQ(v->mem, 16 * MiB);
	CHECK_EQ(v->nr_vcpus, 2);
	CHECK_EQ(v->cpu[0], 2);
	CHECK_EQ(v->cpu[1], VM_CPU_ANY);
	CHECK_EQ(v->nr_modules, 0);
	CHECK_STR(v->src, "module /guests/hello.elf");

	/* Not a VM: no name= word.  Nothing is reported. */
	CHECK_EQ(config_parse_module_line(&set, "/guests/initrd.img rootfs foo=1", collect, &ms), 0);
	CHECK_EQ(config_parse_module_line(&set, "/boot/kasane.cfg", collect, &ms), 0);
	CHECK_EQ(config_parse_module_line(&set, "   ", collect, &ms), 0);
	CHECK_EQ(config_parse_module_line(&set, NULL, collect, &ms), 0);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 1);

	/* File and module VMs share one name space. */
	CHECK_EQ(parse("[vm web]\nkernel=/w\nmemory=4M\n"), 0);
	CHECK_EQ(config_parse_module_line(&set, "/guests/w2.elf name=web mem=4M", collect, &ms), -1);
	CHECK(has_msg("module /guests/w2.elf: duplicate VM name 'web' (already declared at " F ":1)"));
	CHECK(has_msg("module /guests/w2.elf: VM 'web' dropped (1 error)"));
	CHECK_EQ(set.nr, 2);

	/* Minimal form: cpus default 1, cpu any. */
	CHECK_EQ(config_parse_module_line(&set, "/g/min name=min vcpus=1 memory=1M", collect, &ms), 1);
	CHECK_EQ(set.nr, 3);
	CHECK_EQ(set.vm[2].nr_vcpus, 1);
	CHECK_EQ(set.vm[2].cpu[0], VM_CPU_ANY);
}

TEST(module_line_errors)
{
	reset();
	CHECK_EQ(config_parse_module_line(&set, "/guests/hello.elf name=hello mem=16M foo=1",
					  collect, &ms), -1);
	CHECK(has_msg("module /guests/hello.elf: unknown key 'foo' "
		      "(expected name, mem, cpus, cpu, affinity, exclusive, weight, cmdline, initrd, "
		      "on_reboot, watchdog)"));
	CHECK(has_msg("module /guests/hello.elf: VM 'hello' dropped (1 error)"));
	CHECK_EQ(set.nr, 0);

	reset();
	CHECK_EQ(config_parse_module_line(&set,
		"/g/a name=a quiet cpus=3 cpu=1,2 mem=16M mem=1G cmdline=\"open", collect, &ms), -1);
	CHECK(has_msg("module /g/a: unexpected word 'quiet' (expected key=value with key "
		      "name, mem, cpus, cpu, affinity, exclusive, weight, cmdline, initrd, on_reboot, "
		      "watchdog)"));
	CHECK(has_msg("module /g/a: duplicate key 'mem'"));
	CHECK(has_msg("module /g/a: unterminated quote in 'cmdline=\"open'"));
	CHECK(has_msg("module /g/a: cpu lists 2 CPUs but cpus = 3 (expected one CPU per vCPU)"));
	CHECK(has_msg("module /g/a: VM 'a' dropped (4 errors)"));

	reset();
	CHECK_EQ(config_parse_module_line(&set, "/g/b name=b/c cpu=1;2", collect, &ms), -1);
	CHECK(has_msg("module /g/b: bad VM name 'b/c' (expected 1-31 characters from A-Z a-z 0-9 _ . -)"));
	CHECK(has_msg("module /g/b: bad CPU '1;2' in cpu list "
		      "(expected CPU numbers, ranges or 'any', e.g. cpu=1,2-3)"));
	CHECK(has_msg("module /g/b: VM 'b/c': missing mem=SIZE (e.g. mem=16M)"));
	CHECK(has_msg("module /g/b: VM 'b/c' dropped (3 errors)"));
	CHECK_EQ(set.nr, 0);

	reset();
	CHECK_EQ(config_parse_module_line(&set, "/g/c name= mem=4M", collect, &ms), -1);
	CHECK(has_msg("module /g/c: bad VM name '' (expected 1-31 characters from A-Z a-z 0-9 _ . -)"));
}

/* ---- validation ---------------------------------------------------------- */

static bool exists(void *ctx, const char *path)
{
	const char *const *list = ctx;

	for (; *list; list++)
		if (strcmp(*list, path) == 0)
			return true;
	return false;
}

static const char *mods[] = { "/a", "/b", "/c", "/d", "/initrd", NULL };

static void validate(unsigned nr_cpus, uint64_t free_bytes)
{
	struct machine_facts m = { nr_cpus, free_bytes, exists, mods };

	memset(&ms, 0, sizeof(ms));
	config_validate(&set, &m, collect, &ms);
}

TEST(validate_good)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=64M\ncpus=2\nmodule=/initrd x\n"
		       "[vm b]\nkernel=/b\nmemory=64M\ncpu=3 1\n"
		       "[vm c]\nkernel=/c\nmemory=64M\ncpu=0\n"), 0);
	validate(8, 1 * GiB);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 3);
	/* Explicit claims first (b: 3 1, c: 0), then the lowest free CPU from 1 up. */
	CHECK_EQ(set.vm[0].cpu[0], 2);
	CHECK_EQ(set.vm[0].cpu[1], 4);
	CHECK_EQ(set.vm[1].cpu[0], 3);
	CHECK_EQ(set.vm[1].cpu[1], 1);
	CHECK_EQ(set.vm[2].cpu[0], 0);
}

TEST(validate_missing_image)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\n"
		       "[vm x]\nkernel=/nope\nmemory=4M\nmodule=/gone\n"
		       "[vm b]\nkernel=/b\nmemory=4M\n"), 0);
	validate(4, GiB);
	CHECK(has_msg(F ":4: VM 'x': kernel image '/nope' is not among the boot modules"));
	CHECK(has_msg(F ":4: VM 'x': module '/gone' is not among the boot modules"));
	CHECK(has_msg(F ":4: VM 'x' dropped (2 errors)"));
	CHECK_EQ(ms.n, 3);
	CHECK_EQ(set.nr, 2);
	CHECK_STR(set.vm[0].name, "a");
	CHECK_STR(set.vm[1].name, "b");
	/* b gets the CPU x would have had. */
	CHECK_EQ(set.vm[0].cpu[0], 1);
	CHECK_EQ(set.vm[1].cpu[0], 2);
}

TEST(validate_memory)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=24M\n"
		       "[vm big]\nkernel=/b\nmemory=4G\n"
		       "[vm odd]\nkernel=/c\nmemory=1028K\n"
		       "[vm d]\nkernel=/d\nmemory=975M\n"
		       "[vm e]\nkernel=/a\nmemory=1028K\n"), 0);
	validate(8, 1000 * MiB + 12345);
	CHECK(has_msg(F ":4: VM 'big' needs 4096 MiB but only 976 MiB remain"));
	CHECK(has_msg(F ":13: VM 'e' needs 1028 KiB but only 0 MiB remain"));
	CHECK_EQ(ms.n, 4);
	CHECK_EQ(set.nr, 3);
	CHECK_STR(set.vm[0].name, "a");
	CHECK_STR(set.vm[1].name, "odd");
	CHECK_STR(set.vm[2].name, "d");

	/* The spec's example numbers. */
	reset();
	CHECK_EQ(parse("[vm big]\nkernel=/b\nmemory=4G\n"), 0);
	validate(8, 1000 * MiB);
	CHECK(has_msg(F ":1: VM 'big' needs 4096 MiB but only 1000 MiB remain"));
	CHECK_EQ(set.nr, 0);
}

TEST(validate_cpus)
{
	/* CPUs are shared: db and self name CPUs already named and are kept. */
	reset();
	CHECK_EQ(parse("[vm web]\nkernel=/a\nmemory=4M\ncpu=2 3\n"
		       "[vm far]\nkernel=/b\nmemory=4M\ncpu=9\n"
		       "[vm db]\nkernel=/c\nmemory=4M\ncpus=2\ncpu=1 2\n"
		       "[vm self]\nkernel=/d\nmemory=4M\ncpu=1,1\n"), 0);
	validate(4, GiB);
	CHECK(has_msg(F ":5: VM 'far': cpu 9 does not exist (CPUs online: 0-3)"));
	CHECK(has_msg(F ":5: VM 'far' dropped (1 error)"));
	CHECK_EQ(ms.n, 2);
	CHECK_EQ(set.nr, 3);
	CHECK_STR(set.vm[0].name, "web");
	CHECK_STR(set.vm[1].name, "db");
	CHECK_EQ(set.vm[1].cpu[0], 1);
	CHECK_EQ(set.vm[1].cpu[1], 2);
	CHECK_EQ(set.vm[1].affinity[1], CPUSET_BIT(2));
	CHECK_STR(set.vm[2].name, "self");
	CHECK_EQ(set.vm[2].cpu[0], 1);
	CHECK_EQ(set.vm[2].cpu[1], 1);
	CHECK_EQ(set.vm[2].affinity[0], CPUSET_BIT(1));

	/* One CPU: it is CPU 0 that gets assigned. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=1\n[vm b]\nkernel=/b\nmemory=4M\n"), 0);
	validate(1, GiB);
	CHECK(has_msg(F ":1: VM 'a': cpu 1 does not exist (CPUs online: 0)"));
	CHECK_EQ(set.nr, 1);
	CHECK_EQ(set.vm[0].cpu[0], 0);
	CHECK_EQ(set.vm[0].affinity[0], 1);

	/* No CPU at all for guests. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=0\n[vm b]\nkernel=/b\nmemory=4M\n"), 0);
	validate(0, GiB);
	CHECK(has_msg(F ":1: VM 'a': cpu 0 does not exist (CPUs online: none)"));
	CHECK(has_msg(F ":5: VM 'b': no CPU left for vCPU 0: no CPU is online"));
	CHECK_EQ(set.nr, 0);
}

TEST(validate_placement)
{
	/* 3 CPUs: the least-loaded CPU, ties to the lowest number with CPU 0 last. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpus=2\n"
		       "[vm b]\nkernel=/b\nmemory=4M\n"
		       "[vm c]\nkernel=/c\nmemory=4M\ncpus=2\ncpu=any any\n"
		       "[vm d]\nkernel=/d\nmemory=4M\n"), 0);
	validate(3, GiB);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 4);
	CHECK_EQ(set.vm[0].cpu[0], 1);
	CHECK_EQ(set.vm[0].cpu[1], 2);
	CHECK_EQ(set.vm[1].cpu[0], 0);
	CHECK_EQ(set.vm[2].cpu[0], 1);
	CHECK_EQ(set.vm[2].cpu[1], 2);
	CHECK_EQ(set.vm[3].cpu[0], 0);
	CHECK_EQ(set.vm[3].affinity[0], 7);

	/* Pinned vCPUs count first, whatever their VM's place in the file. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\n"
		       "[vm b]\nkernel=/b\nmemory=4M\ncpus=3\ncpu=2 any any\n"
		       "[vm c]\nkernel=/c\nmemory=4M\ncpu=1\n"
		       "[vm d]\nkernel=/d\nmemory=4M\n"), 0);
	validate(3, GiB);
	CHECK_EQ(set.nr, 4);
	CHECK_EQ(set.vm[0].cpu[0], 0);
	CHECK_EQ(set.vm[1].cpu[0], 2);
	CHECK_EQ(set.vm[1].cpu[1], 1);
	CHECK_EQ(set.vm[1].cpu[2], 2);
	CHECK_EQ(set.vm[2].cpu[0], 1);
	CHECK_EQ(set.vm[3].cpu[0], 0);

	/* Within an affinity set: 2 3 2 3. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpus=4\naffinity=2-3\n"), 0);
	validate(8, GiB);
	CHECK_EQ(set.vm[0].cpu[0], 2);
	CHECK_EQ(set.vm[0].cpu[1], 3);
	CHECK_EQ(set.vm[0].cpu[2], 2);
	CHECK_EQ(set.vm[0].cpu[3], 3);
	CHECK_EQ(set.vm[0].affinity[3], 0xc);
}

TEST(validate_balance)
{
	static char text[4096];
	unsigned per_cpu[4] = { 0 };
	size_t n = 0;

	/* 16 single-vCPU VMs on 4 CPUs: 4 per CPU, CPU 0 filled last each round. */
	reset();
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n, "[vm v%d]\nkernel=/a\nmemory=1M\n", i);
	CHECK_EQ(parse(text), 0);
	validate(4, GiB);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 16);
	for (int i = 0; i < set.nr; i++) {
		CHECK(set.vm[i].cpu[0] >= 0 && set.vm[i].cpu[0] < 4);
		if (set.vm[i].cpu[0] >= 0 && set.vm[i].cpu[0] < 4)
			per_cpu[set.vm[i].cpu[0]]++;
	}
	for (int c = 0; c < 4; c++)
		CHECK_EQ(per_cpu[c], 4);
	CHECK_EQ(set.vm[0].cpu[0], 1);
	CHECK_EQ(set.vm[3].cpu[0], 0);
	CHECK_EQ(set.vm[4].cpu[0], 1);

	/* 64 CPUs, and more online than kasane supports counts as 64. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=63\nexclusive=yes\n"
		       "[vm b]\nkernel=/b\nmemory=4M\n"), 0);
	validate(100, GiB);
	CHECK_EQ(ms.n, 0);
	CHECK_EQ(set.nr, 2);
	CHECK_EQ(set.vm[0].affinity[0], CPUSET_BIT(63));
	CHECK_EQ(set.vm[1].affinity[0], CPUSET_ALL >> 1);
	CHECK_EQ(set.vm[1].cpu[0], 1);
}

TEST(validate_exclusive_conflict)
{
	/* A pinned CPU of another VM may not be exclusive, even if that VM comes first. */
	reset();
	CHECK_EQ(parse("[vm web]\nkernel=/a\nmemory=4M\ncpu=1 2\n"
		       "[vm scanner]\nkernel=/b\nmemory=4M\ncpu=2\nexclusive=yes\nweight=300\n"
		       "[vm db]\nkernel=/c\nmemory=4M\ncpu=3 any\n"), 0);
	validate(4, GiB);
	CHECK(has_msg(F ":1: VM 'web': cpu 2 is exclusive to VM 'scanner' (" F ":5)"));
	CHECK(has_msg(F ":1: VM 'web' dropped (1 error)"));
	CHECK_EQ(ms.n, 2);
	CHECK_EQ(set.nr, 2);
	CHECK_STR(set.vm[0].name, "scanner");
	CHECK(set.vm[0].exclusive);
	CHECK_EQ(set.vm[0].weight, 300);
	CHECK_EQ(set.vm[0].cpu[0], 2);
	CHECK_EQ(set.vm[0].affinity[0], CPUSET_BIT(2));
	CHECK_STR(set.vm[1].name, "db");
	CHECK(!set.vm[1].exclusive);
	CHECK_EQ(set.vm[1].weight, 100);
	CHECK_EQ(set.vm[1].cpu[0], 3);
	CHECK_EQ(set.vm[1].cpu[1], 1);
	CHECK_EQ(set.vm[1].affinity[1], 0xb);

	/* Two exclusive VMs on one CPU: the second is dropped, and its other CPU stays free. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=1\nexclusive=yes\n"
		       "[vm b]\nkernel=/b\nmemory=4M\ncpu=3 1\nexclusive=yes\n"
		       "[vm c]\nkernel=/c\nmemory=4M\ncpu=0 2\nexclusive=yes\n"
		       "[vm d]\nkernel=/d\nmemory=4M\ncpu=3\nexclusive=yes\n"
		       "[vm e]\nkernel=/a\nmemory=4M\n"
		       "[vm f]\nkernel=/a\nmemory=4M\ncpu=5\nexclusive=yes\n"), 0);
	validate(4, GiB);
	CHECK(has_msg(F ":6: VM 'b': cpu 1 is exclusive to VM 'a' (" F ":1)"));
	CHECK(has_msg(F ":6: VM 'b' dropped (1 error)"));
	CHECK(has_msg(F ":16: VM 'd': CPU 3 is the last CPU for the hypervisor's own work "
		      "(expected at least one CPU that no VM holds exclusively)"));
	CHECK(has_msg(F ":16: VM 'd' dropped (1 error)"));
	CHECK(has_msg(F ":24: VM 'f': cpu 5 does not exist (CPUs online: 0-3)"));
	CHECK(has_msg(F ":24: VM 'f' dropped (1 error)"));
	CHECK_EQ(ms.n, 6);
	CHECK_EQ(set.nr, 3);
	CHECK_STR(set.vm[0].name, "a");
	CHECK_STR(set.vm[1].name, "c");
	CHECK_EQ(set.vm[1].affinity[0], 1);
	CHECK_STR(set.vm[2].name, "e");
	CHECK_EQ(set.vm[2].cpu[0], 3);
	CHECK_EQ(set.vm[2].affinity[0], CPUSET_BIT(3));

	/* One VM may not take every CPU either, even a single one. */
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=0 1\nexclusive=yes\n"), 0);
	validate(2, GiB);
	CHECK(has_msg(F ":1: VM 'a': CPU 1 is the last CPU for the hypervisor's own work "
		      "(expected at least one CPU that no VM holds exclusively)"));
	CHECK_EQ(set.nr, 0);
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ncpu=0\nexclusive=yes\n"), 0);
	validate(1, GiB);
	CHECK(has_msg(F ":1: VM 'a': CPU 0 is the last CPU for the hypervisor's own work "
		      "(expected at least one CPU that no VM holds exclusively)"));
	CHECK_EQ(set.nr, 0);
}

TEST(validate_exclusive_sets)
{
	/* Exclusive CPUs leave the other VMs' sets; a vCPU with an empty set drops its VM. */
	reset();
	CHECK_EQ(parse("[vm x]\nkernel=/a\nmemory=4M\ncpu=2 3\nexclusive=yes\n"
		       "[vm r]\nkernel=/b\nmemory=4M\ncpus=2\naffinity=1-3\n"
		       "[vm q]\nkernel=/c\nmemory=4M\ncpu=1 2-3\n"
		       "[vm p]\nkernel=/d\nmemory=4M\naffinity=3\n"
		       "[vm o]\nkernel=/a\nmemory=4M\naffinity=6-9\n"
		       "[vm n]\nkernel=/a\nmemory=4M\naffinity=7\n"
		       "[vm m]\nkernel=/a\nmemory=4M\ncpus=3\naffinity=2-5\n"), 0);
	validate(6, GiB);
	CHECK(has_msg(F ":11: VM 'q': no CPU left for vCPU 1: CPUs 2-3 are exclusive to other VMs"));
	CHECK(has_msg(F ":11: VM 'q' dropped (1 error)"));
	CHECK(has_msg(F ":15: VM 'p': no CPU left for vCPU 0: CPU 3 is exclusive to VM 'x' (" F ":1)"));
	CHECK(has_msg(F ":19: VM 'o': no CPU left for vCPU 0: CPUs 6-9 do not exist (CPUs online: 0-5)"));
	CHECK(has_msg(F ":23: VM 'n': no CPU left for vCPU 0: CPU 7 does not exist (CPUs online: 0-5)"));
	CHECK_EQ(ms.n, 8);
	CHECK_EQ(set.nr, 3);
	CHECK_STR(set.vm[0].name, "x");
	CHECK_EQ(set.vm[0].affinity[1], CPUSET_BIT(3));
	CHECK_STR(set.vm[1].name, "r");
	CHECK_EQ(set.vm[1].affinity[0], CPUSET_BIT(1));
	CHECK_EQ(set.vm[1].affinity[1], CPUSET_BIT(1));
	CHECK_EQ(set.vm[1].cpu[0], 1);
	CHECK_EQ(set.vm[1].cpu[1], 1);
	CHECK_STR(set.vm[2].name, "m");
	CHECK_EQ(set.vm[2].affinity[0], 0x30);
	CHECK_EQ(set.vm[2].cpu[0], 4);
	CHECK_EQ(set.vm[2].cpu[1], 5);
	CHECK_EQ(set.vm[2].cpu[2], 4);

	/*
	 * An exclusive VM dropped for its image claims nothing.  One dropped
	 * for memory still clashes with pinned CPUs (a config mistake), but
	 * its CPUs go back into the other VMs' sets.
	 */
	reset();
	CHECK_EQ(parse("[vm w]\nkernel=/a\nmemory=4M\ncpus=2\naffinity=1-2\n"
		       "[vm big]\nkernel=/b\nmemory=2G\ncpu=2\nexclusive=yes\n"
		       "[vm p]\nkernel=/c\nmemory=4M\ncpu=2\n"
		       "[vm gone]\nkernel=/nope\nmemory=4M\ncpu=3\nexclusive=yes\n"
		       "[vm s]\nkernel=/d\nmemory=4M\ncpu=3\n"), 0);
	validate(4, GiB);
	CHECK(has_msg(F ":15: VM 'gone': kernel image '/nope' is not among the boot modules"));
	CHECK(has_msg(F ":11: VM 'p': cpu 2 is exclusive to VM 'big' (" F ":6)"));
	CHECK(has_msg(F ":6: VM 'big' needs 2048 MiB but only 1020 MiB remain"));
	CHECK_EQ(ms.n, 6);
	CHECK_EQ(set.nr, 2);
	CHECK_STR(set.vm[0].name, "w");
	CHECK_EQ(set.vm[0].affinity[0], 0x6);
	CHECK_EQ(set.vm[0].cpu[0], 1);
	CHECK_EQ(set.vm[0].cpu[1], 2);
	CHECK_STR(set.vm[1].name, "s");
	CHECK_EQ(set.vm[1].cpu[0], 3);
}

/* Sets not made by the parser are checked too. */
TEST(validate_hand_made)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\n[vm b]\nkernel=/b\nmemory=4M\n"
		       "[vm c]\nkernel=/c\nmemory=4M\n[vm d]\nkernel=/d\nmemory=4M\n"
		       "[vm e]\nkernel=/a\nmemory=4M\ncpu=1 1\n"), 0);
	set.vm[0].exclusive = true;
	set.vm[1].weight = 0;
	set.vm[2].nr_vcpus = 0;
	set.vm[3].weight = VM_WEIGHT_MAX;
	set.vm[4].exclusive = true;
	validate(4, GiB);
	CHECK(has_msg(F ":1: VM 'a': exclusive needs one CPU per vCPU (e.g. cpu = 2 3)"));
	CHECK(has_msg(F ":4: VM 'b': weight 0 (expected 1-10000)"));
	CHECK(has_msg(F ":7: VM 'c': 0 vCPUs (expected 1-16)"));
	CHECK(has_msg(F ":13: VM 'e': cpu 1 is exclusive to VM 'e' (" F ":13)"));
	CHECK_EQ(ms.n, 8);
	CHECK_EQ(set.nr, 1);
	CHECK_STR(set.vm[0].name, "d");
}

TEST(validate_no_module_check)
{
	struct machine_facts m = { 2, GiB, NULL, NULL };

	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/anything\nmemory=4M\n"), 0);
	config_validate(&set, &m, NULL, NULL);
	CHECK_EQ(set.nr, 1);
	CHECK_EQ(set.vm[0].cpu[0], 1);
}

/* A Linux VM's keys: initrd, on_reboot, watchdog (file and module forms). */
TEST(linux_keys)
{
	const struct vm_config *v;

	reset();
	CHECK_EQ(parse("[vm deb]\nkernel = /boot/vmlinuz\ninitrd = \"/boot/initrd.img\"\n"
		       "cmdline = console=ttyS0 quiet\nmemory = 512M\non_reboot = end\n"
		       "watchdog = 60s\n"
		       "[vm d2]\nkernel=/k\nmemory=4M\nwatchdog=250ms\n"
		       "[vm d3]\nkernel=/k\nmemory=4M\nwatchdog=2m\non_reboot=restart\n"
		       "[vm d4]\nkernel=/k\nmemory=4M\nwatchdog=off\n"), 0);
	CHECK_EQ(ms.n, 0);
	v = vm_named("deb");
	CHECK(v != NULL);
	if (!v)
		return;
	CHECK_STR(v->initrd, "/boot/initrd.img");
	CHECK_STR(v->cmdline, "console=ttyS0 quiet");
	CHECK_EQ(v->on_reboot, CONFIG_ON_REBOOT_END);
	CHECK_EQ(v->watchdog_ns, 60000000000ULL);
	CHECK_EQ(vm_named("d2")->watchdog_ns, 250000000ULL);
	CHECK_EQ(vm_named("d3")->watchdog_ns, 120000000000ULL);
	CHECK_EQ(vm_named("d3")->on_reboot, CONFIG_ON_REBOOT_RESTART);
	CHECK_EQ(vm_named("d4")->watchdog_ns, 0);
	CHECK_STR(vm_named("d4")->initrd, "");
	/* Defaults: restart, no watchdog. */
	CHECK_EQ(vm_named("d4")->on_reboot, CONFIG_ON_REBOOT_RESTART);

	CHECK_EQ(config_parse_module_line(&set, "/boot/vmlinuz name=mod mem=512M "
		 "initrd=/boot/initrd.img on_reboot=end watchdog=5s cmdline=\"console=ttyS0\"",
		 collect, &ms), 1);
	CHECK_EQ(ms.n, 0);
	v = vm_named("mod");
	CHECK(v && strcmp(v->initrd, "/boot/initrd.img") == 0 && v->on_reboot == CONFIG_ON_REBOOT_END &&
	      v->watchdog_ns == 5000000000ULL);
}

TEST(linux_keys_errors)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/k\nmemory=4M\non_reboot=halt\nwatchdog=60\n"
		       "initrd=/a /b\n"
		       "[vm b]\nkernel=/k\nmemory=4M\nwatchdog=0s\ninitrd=\n"
		       "[vm c]\nkernel=/k\nmemory=4M\nwatchdog=86401s\n"
		       "[vm d]\nkernel=/k\nmemory=4M\nwatchdog=1h\ninitrd=/x\ninitrd=/y\n"), 8);
	CHECK(has_msg(F ":4: bad on_reboot 'halt' (expected restart or end)"));
	CHECK(has_msg(F ":5: bad watchdog '60' (expected a time of 1ms to 86400s with unit ms, "
		      "s or m, e.g. 60s; or off)"));
	CHECK(has_msg(F ":6: unexpected '/b' after the initrd path (expected one path)"));
	CHECK(has_msg(F ":10: bad watchdog '0s' (expected a time of 1ms to 86400s with unit ms, "
		      "s or m, e.g. 60s; or off)"));
	CHECK(has_msg(F ":11: missing path after 'initrd' (expected the path of a GRUB module)"));
	CHECK(has_msg(F ":15: bad watchdog '86401s' (expected a time of 1ms to 86400s with unit "
		      "ms, s or m, e.g. 60s; or off)"));
	CHECK(has_msg(F ":19: bad watchdog '1h' (expected a time of 1ms to 86400s with unit ms, "
		      "s or m, e.g. 60s; or off)"));
	CHECK(has_msg(F ":21: duplicate key 'initrd' (already set at line 20)"));
	CHECK_EQ(set.nr, 0);

	reset();
	CHECK_EQ(config_parse_module_line(&set, "/k name=m mem=4M on_reboot=never", collect, &ms), -1);
	CHECK(has_msg("module /k: bad on_reboot 'never' (expected restart or end)"));
}

/* The initrd must be a boot module, as the kernel must. */
TEST(validate_initrd)
{
	reset();
	CHECK_EQ(parse("[vm a]\nkernel=/a\nmemory=4M\ninitrd=/gone.img\n"
		       "[vm b]\nkernel=/b\nmemory=4M\ninitrd=/initrd\n"), 0);
	validate(4, GiB);
	CHECK(has_msg(F ":1: VM 'a': initrd '/gone.img' is not among the boot modules"));
	CHECK_EQ(set.nr, 1);
	CHECK_STR(set.vm[0].name, "b");
}

int main(void)
{
	check_start("config");
	RUN(file_three_vms);
	RUN(whitespace_comments_crlf);
	RUN(error_unknown_key);
	RUN(error_missing_equals);
	RUN(error_bad_values);
	RUN(error_outside_section);
	RUN(error_section_headers);
	RUN(error_modules_and_cpus);
	RUN(parse_affinity);
	RUN(parse_cpu_ranges);
	RUN(parse_exclusive_weight);
	RUN(bounded_input);
	RUN(module_line);
	RUN(module_line_errors);
	RUN(validate_good);
	RUN(validate_missing_image);
	RUN(validate_memory);
	RUN(validate_cpus);
	RUN(validate_placement);
	RUN(validate_balance);
	RUN(validate_exclusive_conflict);
	RUN(validate_exclusive_sets);
	RUN(validate_hand_made);
	RUN(validate_no_module_check);
	RUN(linux_keys);
	RUN(linux_keys_errors);
	RUN(validate_initrd);
	return check_finish();
}
