/*
 * Fuzz target: the guest kernel loader (guest-loader/, gl_load) over any
 * image, with every format of gl_formats[] tried by its probe as in a real
 * load: Multiboot2, Multiboot1, ELF64, ELF32, and whatever format files
 * test/fuzz/fuzz.mk links in.
 *
 * Input: a control byte (bit 0: two modules, bit 1: a memory map with a
 * reserved hole, bit 2: a 4000-character command line), then the image.
 * Guest RAM is [0, 636 KiB) and [1 MiB, 3 MiB), each its own heap block,
 * so ASan reports any write outside guest RAM; the image is an exact-size
 * copy, so it reports any read past the image.
 *
 * Properties:
 *  - gl_load returns 0 or -1; on -1 the reason is one line that fits the
 *    buffer, and no byte after the buffer's end is touched;
 *  - on 0: a format name; the kernel's first and last bytes and the boot
 *    information are guest RAM below where free memory starts, which is
 *    page-aligned; with modules there is boot information below 4 GiB.
 */
#include "test/fuzz/fuzz.h"
#include "guest-loader/loader.h"

#define LOW_SIZE   0x9F000ULL
#define HIGH_GPA   (1 * MiB)
#define HIGH_SIZE  (2 * MiB)
#define ERR_LEN    160

static uint8_t *low, *high;

static const struct gl_mmap_entry holed_mmap[3] = {
	{ 0, LOW_SIZE, GL_MMAP_RAM },
	{ LOW_SIZE, HIGH_GPA - LOW_SIZE, GL_MMAP_RESERVED },
	{ HIGH_GPA, HIGH_SIZE, GL_MMAP_RAM },
};

static const uint8_t mod_data[3000] = { 'm', 'o', 'd' };
static const struct gl_module mods[2] = {
	{ mod_data, 19, "mod0 arg=1" },
	{ mod_data, sizeof(mod_data), NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	unsigned ctl = (unsigned)fuzz_take(&in, 1);
	static char long_cmdline[4000];
	struct guest_mem mem;
	struct gl_result out;
	char err[ERR_LEN + 16];

	if (!low) {
		low = malloc(LOW_SIZE);
		high = malloc(HIGH_SIZE);
		memset(long_cmdline, 'c', sizeof(long_cmdline) - 1);
	}
	memset(low, 0x11, LOW_SIZE);
	memset(high, 0x22, HIGH_SIZE);
	memset(&mem, 0, sizeof(mem));
	gmem_add(&mem, 0, LOW_SIZE, low);
	gmem_add(&mem, HIGH_GPA, HIGH_SIZE, high);

	uint8_t *img = malloc(in.n ? in.n : 1);
	memcpy(img, in.p, in.n);
	struct gl_input gi = {
		.img = img, .img_len = in.n,
		.cmdline = (ctl & 4) ? long_cmdline : "console=ttyS0 quiet",
		.mods = (ctl & 1) ? mods : NULL, .nr_mods = (ctl & 1) ? 2 : 0,
		.mmap = (ctl & 2) ? holed_mmap : NULL, .nr_mmap = (ctl & 2) ? 3 : 0,
	};
	memset(err, 0x5c, sizeof(err));
	int r = gl_load(&mem, &gi, &out, err, ERR_LEN);
	FUZZ_CHECK(r == 0 || r == -1);
	for (size_t i = ERR_LEN; i < sizeof(err); i++)
		FUZZ_CHECK(err[i] == 0x5c);
	if (r < 0) {
		fuzz_check_line(err, ERR_LEN);
	} else {
		FUZZ_CHECK(out.format && out.format[0]);
		FUZZ_CHECK(out.kernel_start <= out.kernel_end);
		/* The span may cover a hole between segments; its ends are RAM. */
		if (out.kernel_end > out.kernel_start)
			FUZZ_CHECK(gmem_is_ram(&mem, out.kernel_start, 1) &&
				   gmem_is_ram(&mem, out.kernel_end - 1, 1));
		FUZZ_CHECK(out.free_start % PAGE_SIZE == 0 && out.free_start >= out.kernel_end);
		if (out.info) {
			FUZZ_CHECK(gmem_is_ram(&mem, out.info, 8) && out.info < out.free_start);
			FUZZ_CHECK(out.info + 8 <= 4 * GiB);
		}
		if (ctl & 1)
			FUZZ_CHECK(out.info != 0);
	}
	free(img);
	return 0;
}
