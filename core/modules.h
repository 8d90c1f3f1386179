/*
 * Boot modules by path, and the VM configs they carry.  GRUB2 gives a
 * module2 its arguments but not its file name, so a module's path is the
 * first word of its command line when that starts with '/'; otherwise the
 * module is known as "module-N" (README, "Declaring VMs").
 */
#ifndef KASANE_CORE_MODULES_H
#define KASANE_CORE_MODULES_H

#include "boot/bootinfo.h"
#include "core/config.h"

/* The module with that path, or NULL. */
const struct boot_module *module_find(const struct boot_info *bi, const char *path);

/*
 * Parse every VM config: the config file module (config_path, or any
 * module whose path ends in ".cfg" when config_path is empty) and each
 * other module's own command line.  Mistakes are reported with file:line.
 */
void modules_gather_configs(const struct boot_info *bi, const char *config_path,
			    struct config_set *set, config_report_fn report);

#endif
