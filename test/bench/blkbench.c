/*
 * kbench: the virtio-blk benchmark's helper inside the Linux guest (built
 * with gcc -static by test/bench-vblk.sh into the bench's own initramfs).
 *
 *   kbench now                     CLOCK_MONOTONIC in microseconds
 *   kbench qd DEV DEPTH BS BYTES   DEPTH threads, each reading BS-byte
 *                                  blocks with pread on its own O_DIRECT
 *                                  descriptor, so DEPTH requests are in
 *                                  flight at once (no libaio in busybox's
 *                                  world); BYTES in all, thread t reading
 *                                  blocks t, t+DEPTH, t+2*DEPTH... of DEV
 *                                  (from its start again at its end).
 *                                  Prints "BYTES bytes in US us".
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

static const char *dev;
static long depth, bs, blocks, dev_blocks;
static int failed;

static void *reader(void *arg)
{
	long t = (long)arg;
	void *buf;
	int fd = open(dev, O_RDONLY | O_DIRECT);

	if (fd < 0 || posix_memalign(&buf, 4096, (size_t)bs)) {
		perror(dev);
		failed = 1;
		return NULL;
	}
	for (long b = t; b < blocks; b += depth)
		if (pread(fd, buf, (size_t)bs, (off_t)(b % dev_blocks) * bs) != bs) {
			perror("pread");
			failed = 1;
			break;
		}
	close(fd);
	free(buf);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc == 2 && argv[1][0] == 'n') {
		printf("%lld\n", now_us());
		return 0;
	}
	if (argc != 6 || argv[1][0] != 'q') {
		fprintf(stderr, "usage: kbench now | kbench qd DEV DEPTH BS BYTES\n");
		return 2;
	}
	dev = argv[2];
	depth = atol(argv[3]);
	bs = atol(argv[4]);
	blocks = atol(argv[5]) / (bs > 0 ? bs : 1);
	if (depth < 1 || depth > 256 || bs < 512 || bs % 512 || blocks < 1) {
		fprintf(stderr, "kbench: bad depth, block size or length\n");
		return 2;
	}
	int fd = open(dev, O_RDONLY);
	off_t size = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
	if (size < bs) {
		fprintf(stderr, "kbench: %s: cannot size it, or smaller than a block\n", dev);
		return 1;
	}
	close(fd);
	dev_blocks = (long)(size / bs);
	pthread_t th[256];
	long long t0 = now_us();
	for (long t = 0; t < depth; t++)
		if (pthread_create(&th[t], NULL, reader, (void *)t)) {
			perror("pthread_create");
			return 1;
		}
	for (long t = 0; t < depth; t++)
		pthread_join(th[t], NULL);
	long long us = now_us() - t0;
	if (failed)
		return 1;
	printf("%ld bytes in %lld us\n", blocks * bs, us);
	return 0;
}
