/* Host tests for the config file's net lines (core/config.c): switch names,
 * given and derived MACs, one MAC per switch, the NIC limit. */
#include "test/unit/check.h"
#include "core/config.h"

#define F "/boot/kasane.cfg"

static char msgs[16][400];
static int nr_msgs;
static struct config_set set;

static void collect(void *ctx, const char *msg)
{
	if (nr_msgs < 16)
		snprintf(msgs[nr_msgs], sizeof(msgs[0]), "%s", msg);
	nr_msgs++;
}

static int parse(const char *text)
{
	nr_msgs = 0;
	memset(&set, 0x5a, sizeof(set));
	set.nr = 0;
	return config_parse_file(&set, F, text, strlen(text), collect, NULL);
}

static bool has_msg(const char *want)
{
	for (int i = 0; i < nr_msgs && i < 16; i++)
		if (strcmp(msgs[i], want) == 0)
			return true;
	printf("    missing message: %s\n", want);
	for (int i = 0; i < nr_msgs && i < 16; i++)
		printf("      got: %s\n", msgs[i]);
	return false;
}

static bool mac_is(const uint8_t *m, uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint8_t e,
		   uint8_t f)
{
	const uint8_t want[6] = { a, b, c, d, e, f };
	return memcmp(m, want, 6) == 0;
}

TEST(nics)
{
	CHECK_EQ(parse("[vm web]\nkernel=/k\nmemory=4M\n"
		       "net = lan\n"
		       "net = dmz mac=52:54:00:AA:00:01   ; fixed\n"
		       "net = lan\n"
		       "[vm db]\nkernel=/k\nmemory=4M\nnet=lan\n"
		       "[vm plain]\nkernel=/k\nmemory=4M\n"), 0);
	CHECK_EQ(set.nr, 3);
	const struct vm_config *w = &set.vm[0], *d = &set.vm[1];
	CHECK_EQ(w->nr_nics, 3);
	CHECK_STR(w->nic[0].sw, "lan");
	CHECK_STR(w->nic[1].sw, "dmz");
	CHECK_STR(w->nic[1].src, F ":5");
	CHECK(mac_is(w->nic[1].mac, 0x52, 0x54, 0, 0xaa, 0, 1));
	/* Derived: locally administered unicast, the name's hash, the NIC number. */
	CHECK_EQ(w->nic[0].mac[0], 0x02);
	CHECK_EQ(w->nic[0].mac[5], 0);
	CHECK_EQ(w->nic[2].mac[5], 2);
	CHECK(memcmp(w->nic[0].mac, w->nic[2].mac, 5) == 0);
	CHECK(memcmp(w->nic[0].mac, d->nic[0].mac, 6) != 0);
	CHECK_EQ(d->nr_nics, 1);
	CHECK_EQ(set.vm[2].nr_nics, 0);
	/* The same name gives the same MACs on every boot. */
	uint8_t again[6];
	memcpy(again, w->nic[0].mac, 6);
	parse("[vm web]\nkernel=/k\nmemory=4M\nnet=x\n");
	CHECK(memcmp(again, set.vm[0].nic[0].mac, 6) == 0);
}

TEST(duplicate_mac)
{
	/* The second VM alone is dropped; the same MAC on another switch is fine. */
	CHECK_EQ(parse("[vm a]\nkernel=/k\nmemory=4M\nnet=lan mac=52:54:00:00:00:01\n"
		       "[vm b]\nkernel=/k\nmemory=4M\nnet=dmz mac=52:54:00:00:00:01\n"
		       "[vm c]\nkernel=/k\nmemory=4M\nnet=lan mac=52:54:00:00:00:01\n"
		       "[vm d]\nkernel=/k\nmemory=4M\nnet=lan\n"), 1);
	CHECK(has_msg(F ":12: MAC 52:54:00:00:00:01 is already on switch 'lan' (at " F ":4)"));
	CHECK(has_msg(F ":9: VM 'c' dropped (1 error)"));
	CHECK_EQ(set.nr, 3);
	CHECK_STR(set.vm[2].name, "d");
	/* Within one VM too. */
	CHECK_EQ(parse("[vm a]\nkernel=/k\nmemory=4M\nnet=lan mac=02:00:00:00:00:07\n"
		       "net=lan mac=02:00:00:00:00:07\n"), 1);
	CHECK(has_msg(F ":5: MAC 02:00:00:00:00:07 is already on switch 'lan' (at " F ":4)"));
	CHECK_EQ(set.nr, 0);
}

TEST(bad_lines)
{
	CHECK_EQ(parse("[vm a]\nkernel=/k\nmemory=4M\n"
		       "net=\n"
		       "net=l@n\n"
		       "net=lan mac=52:54:00:00:00\n"
		       "net=lan mac=01:00:5e:00:00:01\n"
		       "net=lan speed=10\n"
		       "net=lan mac=02:00:00:00:00:01 mac=02:00:00:00:00:02\n"
		       "net=lan mac=52:54:00:00:00:0g\n"), 7);
	CHECK(has_msg(F ":4: bad switch name '' (expected 1-31 characters from A-Z a-z 0-9 _ . -)"));
	CHECK(has_msg(F ":5: bad switch name 'l@n' (expected 1-31 characters from A-Z a-z 0-9 _ . -)"));
	CHECK(has_msg(F ":6: bad MAC '52:54:00:00:00' (expected a unicast address as six hex "
		      "pairs, e.g. 52:54:00:aa:00:01)"));
	CHECK(has_msg(F ":7: bad MAC '01:00:5e:00:00:01' (expected a unicast address as six hex "
		      "pairs, e.g. 52:54:00:aa:00:01)"));
	CHECK(has_msg(F ":8: unexpected 'speed=10' after the switch name (expected net = SWITCH "
		      "[mac=52:54:00:aa:00:01])"));
	CHECK(has_msg(F ":9: unexpected 'mac=02:00:00:00:00:02' after the switch name (expected "
		      "net = SWITCH [mac=52:54:00:aa:00:01])"));
	CHECK_EQ(set.nr, 0);
	CHECK_EQ(parse("[vm a]\nkernel=/k\nmemory=4M\nnet=a\nnet=b\nnet=c\nnet=d\nnet=e\n"), 1);
	CHECK(has_msg(F ":8: too many net lines (at most 4 NICs per VM)"));
}

int main(void)
{
	check_start("vnet_config");
	RUN(nics);
	RUN(duplicate_mac);
	RUN(bad_lines);
	return check_finish();
}
