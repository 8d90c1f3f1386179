/* Frame allocator and heap set-up and locking; see mm.h. */
#include "mm/mm.h"
#include "mm/frame.h"
#include "mm/heap.h"
#include "kernel/spinlock.h"
#include "kernel/log.h"
#include "kernel/panic.h"
#include "lib/string.h"

extern char __image_start[], __image_end[];

static struct frame_alloc frames;
static spinlock_t frame_lock = SPINLOCK_INIT;
static struct heap heap;
static spinlock_t heap_lock = SPINLOCK_INIT;
static uint64_t total_ram;
static hpa_t low_page;

/* Ranges that must not be handed out, collected before the bitmap exists. */
struct range { uint64_t start, end; };
#define MAX_RESERVED (BOOT_MAX_MODULES + 8)
static struct range reserved[MAX_RESERVED];
static int nr_reserved;

static void add_reserved(uint64_t start, uint64_t end)
{
	if (nr_reserved < MAX_RESERVED && end > start)
		reserved[nr_reserved++] = (struct range){ start, end };
}

/*
 * Lowest page-aligned address >= 1 MiB in usable RAM where 'size' bytes
 * avoid every reserved range.  Each conflict moves the candidate past a
 * reserved range, so the inner loop runs at most nr_reserved + 1 times.
 */
static uint64_t find_free_phys(const struct boot_info *bi, uint64_t size)
{
	for (int i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mmap *m = &bi->mmap[i];
		if (m->type != MMAP_RAM)
			continue;
		uint64_t lo = ALIGN_UP(MAX(m->base, 1 * MiB), PAGE_SIZE);
		uint64_t hi = m->base + m->len;
		for (int tries = 0; tries <= nr_reserved && lo + size <= hi; tries++) {
			bool moved = false;
			for (int r = 0; r < nr_reserved; r++) {
				if (lo < reserved[r].end && reserved[r].start < lo + size) {
					lo = ALIGN_UP(reserved[r].end, PAGE_SIZE);
					moved = true;
				}
			}
			if (!moved)
				return lo;
		}
	}
	return 0;
}

static void heap_bug(const char *msg)
{
	panic("heap: %s", msg);
}

static void *heap_get_pages(void *ctx, size_t npages)
{
	hpa_t pa = page_alloc(npages, PAGE_SIZE);
	return pa ? hpa_to_hva(pa) : NULL;
}

static void heap_put_pages(void *ctx, void *p, size_t npages)
{
	page_free(hva_to_hpa(p), npages);
}

void mm_init(const struct boot_info *bi)
{
	uint64_t top = 0;

	for (int i = 0; i < bi->nr_mmap; i++) {
		const struct boot_mmap *m = &bi->mmap[i];
		if (m->type == MMAP_RAM && m->len) {
			top = MAX(top, m->base + m->len);
			total_ram += m->len;
		}
	}
	add_reserved((uintptr_t)__image_start, (uintptr_t)__image_end);
	for (int i = 0; i < bi->nr_modules; i++)
		add_reserved(bi->module[i].start, bi->module[i].end);
	add_reserved(bi->info_start, bi->info_end);

	uint64_t npages = top / PAGE_SIZE;
	uint64_t bytes = ALIGN_UP(ALIGN_UP(npages, 64) / 8, PAGE_SIZE);
	uint64_t bm = find_free_phys(bi, bytes);
	if (!bm)
		panic("mm: no room for a %llu KiB frame bitmap in RAM",
		      (unsigned long long)bytes / KiB);
	add_reserved(bm, bm + bytes);
	frame_init(&frames, 0, npages, hpa_to_hva(bm), bytes);
	for (int i = 0; i < bi->nr_mmap; i++)
		if (bi->mmap[i].type == MMAP_RAM)
			frame_add_free(&frames, bi->mmap[i].base, bi->mmap[i].len);
	for (int r = 0; r < nr_reserved; r++)
		frame_reserve(&frames, reserved[r].start, reserved[r].end - reserved[r].start);
	/*
	 * A STARTUP IPI starts a CPU in real mode at a 4 KiB page below 1 MiB
	 * (Intel SDM vol. 3A §8.4.4.1; AMD APM vol. 2 §16.5).  Firmware, UEFI
	 * especially, may leave little low memory free, so take that page now,
	 * before any other allocation can.
	 */
	low_page = frame_alloc_below(&frames, 1, PAGE_SIZE, 1 * MiB);

	heap.bug = NULL;
	heap_init(&heap, heap_get_pages, NULL);
	heap.bug = heap_bug;
	heap.put_pages = heap_put_pages;
}

bool mm_poison;

static hpa_t poisoned(hpa_t pa, uint64_t npages)
{
	if (pa && mm_poison)
		memset(hpa_to_hva(pa), MM_POISON_BYTE, npages * PAGE_SIZE);
	return pa;
}

hpa_t page_alloc(uint64_t npages, uint64_t align)
{
	uint64_t f = spin_lock_irqsave(&frame_lock);
	hpa_t pa = frame_alloc_pages(&frames, npages, align);
	spin_unlock_irqrestore(&frame_lock, f);
	return poisoned(pa, npages);
}

hpa_t page_alloc_below(uint64_t npages, uint64_t align, hpa_t max_pa)
{
	uint64_t f = spin_lock_irqsave(&frame_lock);
	hpa_t pa = frame_alloc_below(&frames, npages, align, max_pa);
	spin_unlock_irqrestore(&frame_lock, f);
	return poisoned(pa, npages);
}

hpa_t page_zalloc(uint64_t npages, uint64_t align)
{
	hpa_t pa = page_alloc(npages, align);

	if (pa)
		memset(hpa_to_hva(pa), 0, npages * PAGE_SIZE);
	return pa;
}

void page_free(hpa_t pa, uint64_t npages)
{
	uint64_t f = spin_lock_irqsave(&frame_lock);
	bool ok = frame_free_pages(&frames, pa, npages);
	spin_unlock_irqrestore(&frame_lock, f);
	if (!ok)
		panic("mm: bad free of %llu pages at %#llx",
		      (unsigned long long)npages, (unsigned long long)pa);
}

hpa_t mm_low_page(void)
{
	return low_page;
}

uint64_t mm_free_bytes(void)
{
	return frame_free_count(&frames) * PAGE_SIZE;
}

uint64_t mm_total_bytes(void)
{
	return total_ram;
}

void *kmalloc(size_t size)
{
	uint64_t f = spin_lock_irqsave(&heap_lock);
	void *p = heap_alloc(&heap, size);
	spin_unlock_irqrestore(&heap_lock, f);
	return p;
}

void *kzalloc(size_t size)
{
	void *p = kmalloc(size);

	if (p)
		memset(p, 0, size);
	return p;
}

void kfree(void *p)
{
	uint64_t f = spin_lock_irqsave(&heap_lock);
	heap_free(&heap, p);
	spin_unlock_irqrestore(&heap_lock, f);
}
