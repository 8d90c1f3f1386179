/* Host tests of the paravirt key (core/config.c). */
#include "test/unit/check.h"
#include "core/config.h"

static char msgs[1024];

static void report(void *ctx, const char *msg)
{
	(void)ctx;
	strncat(msgs, msg, sizeof(msgs) - strlen(msgs) - 2);
	strcat(msgs, "\n");
}

static struct config_set set;

static int parse(const char *text)
{
	memset(&set, 0, sizeof(set));
	msgs[0] = '\0';
	return config_parse_file(&set, "/boot/kasane.cfg", text, strlen(text), report, NULL);
}

TEST(paravirt_is_on_by_default_and_takes_on_or_off)
{
	CHECK_EQ(parse("[vm a]\nkernel = /a\nmemory = 16M\n"
		       "[vm b]\nkernel = /b\nmemory = 16M\nparavirt = off\n"
		       "[vm c]\nkernel = /c\nmemory = 16M\nparavirt = on\n"), 0);
	CHECK_EQ(set.nr, 3);
	CHECK(set.vm[0].paravirt);
	CHECK(!set.vm[1].paravirt);
	CHECK(set.vm[2].paravirt);
}

TEST(paravirt_bad_value_is_a_file_line_error)
{
	CHECK_EQ(parse("[vm a]\nkernel = /a\nmemory = 16M\nparavirt = kvm\n"
		       "[vm b]\nkernel = /b\nmemory = 16M\n"), 1);
	CHECK(strstr(msgs, "/boot/kasane.cfg:4: bad paravirt 'kvm' (expected on or off)") != NULL);
	CHECK_EQ(set.nr, 1);            /* VM a is dropped, b stays */
	CHECK(set.vm[0].paravirt);
}

int main(void)
{
	RUN(paravirt_is_on_by_default_and_takes_on_or_off);
	RUN(paravirt_bad_value_is_a_file_line_error);
	return check_finish();
}
