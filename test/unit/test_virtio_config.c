/* Host tests for the virtio config keys (core/config.c): disk, console, rng. */
#include "test/unit/check.h"
#include "core/config.h"

#define F "/boot/kasane.cfg"

static char msgs[16][400];
static int nmsgs;
static struct config_set set;

static void collect(void *ctx, const char *msg)
{
	if (nmsgs < 16)
		snprintf(msgs[nmsgs], sizeof(msgs[0]), "%s", msg);
	nmsgs++;
}

static int parse(const char *text)
{
	nmsgs = 0;
	memset(&set, 0x5a, sizeof(set));
	set.nr = 0;
	return config_parse_file(&set, F, text, strlen(text), collect, NULL);
}

static bool has_msg(const char *want)
{
	for (int i = 0; i < nmsgs && i < 16; i++)
		if (strstr(msgs[i], want))
			return true;
	printf("    missing message: %s\n", want);
	for (int i = 0; i < nmsgs && i < 16; i++)
		printf("      got: %s\n", msgs[i]);
	return false;
}

TEST(disks_console_rng)
{
	CHECK_EQ(parse("[vm a]\nkernel = /k\nmemory = 64M\n"
		       "disk = /boot/root.img\n"
		       "disk = \"/boot/shared.img\" readonly\n"
		       "console = virtio\nrng = yes\n"
		       "[vm b]\nkernel = /k\nmemory = 64M\n"
		       "disk = /boot/shared.img readonly\n"), 0);
	CHECK_EQ(set.nr, 2);
	CHECK_EQ(set.vm[0].nr_disks, 2);
	CHECK_STR(set.vm[0].disk[0].path, "/boot/root.img");
	CHECK(!set.vm[0].disk[0].readonly);
	CHECK_STR(set.vm[0].disk[0].src, F ":4");
	CHECK_STR(set.vm[0].disk[1].path, "/boot/shared.img");
	CHECK(set.vm[0].disk[1].readonly);
	CHECK(set.vm[0].virtio_console);
	CHECK(set.vm[0].virtio_rng);
	CHECK_EQ(set.vm[1].nr_disks, 1);
	CHECK(!set.vm[1].virtio_console);
	CHECK(!set.vm[1].virtio_rng);
}

TEST(disk_never_shared_read_write)
{
	/* b asks read-write for a's read-write disk: b alone is dropped. */
	parse("[vm a]\nkernel = /k\nmemory = 64M\ndisk = /d.img\n"
	      "[vm b]\nkernel = /k\nmemory = 64M\ndisk = /d.img\n"
	      "[vm c]\nkernel = /k\nmemory = 64M\ndisk = /d.img readonly\n");
	CHECK(has_msg(F ":8: disk /d.img is already VM 'a''s read-write disk (at " F ":4)"));
	CHECK(has_msg(F ":12: disk /d.img is already VM 'a''s read-write disk"));
	CHECK_EQ(set.nr, 1);
	CHECK_STR(set.vm[0].name, "a");

	/* Read-only first, then read-write: refused too. */
	parse("[vm a]\nkernel = /k\nmemory = 64M\ndisk = /d.img readonly\n"
	      "[vm b]\nkernel = /k\nmemory = 64M\ndisk = /d.img\n");
	CHECK(has_msg(F ":8: disk /d.img is already VM 'a''s read-only disk"));
	CHECK_EQ(set.nr, 1);
}

TEST(bad_lines)
{
	parse("[vm a]\nkernel = /k\nmemory = 64M\ndisk = /d.img rw\n");
	CHECK(has_msg(F ":4: unexpected 'rw' after the disk path"));
	parse("[vm a]\nkernel = /k\nmemory = 64M\ndisk =\n");
	CHECK(has_msg(F ":4: missing path after 'disk ='"));
	parse("[vm a]\nkernel = /k\nmemory = 64M\ndisk = /x\ndisk = /x readonly\n");
	CHECK(has_msg(F ":5: disk /x is already this VM's disk (at " F ":4)"));
	parse("[vm a]\nkernel = /k\nmemory = 64M\ndisk = /1\ndisk = /2\ndisk = /3\ndisk = /4\n"
	      "disk = /5\n");
	CHECK(has_msg(F ":8: too many disk lines (at most 4 disks per VM)"));
	parse("[vm a]\nkernel = /k\nmemory = 64M\nconsole = hvc\nrng = maybe\n");
	CHECK(has_msg(F ":4: bad console 'hvc'"));
	CHECK(has_msg(F ":5: bad rng 'maybe' (expected yes or no)"));
	CHECK_EQ(set.nr, 0);
}

int main(void)
{
	check_prog = "virtio_config";
	RUN(disks_console_rng);
	RUN(disk_never_shared_read_write);
	RUN(bad_lines);
	return check_finish();
}
