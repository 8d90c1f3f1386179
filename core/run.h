/* The loop every CPU runs once the VMs exist. */
#ifndef KASANE_CORE_RUN_H
#define KASANE_CORE_RUN_H

/* Run vCPUs until every VM has ended (CPU 0 returns then; others never). */
void run_loop(void);

#endif
