/* Boot modules and the configs they carry; see modules.h. */
#include "core/modules.h"
#include "core/cmdline.h"
#include "mm/mm.h"
#include "lib/printf.h"
#include "lib/string.h"

/* A module's path: the first word of its command line, if it is one. */
static size_t module_path(const struct boot_module *m, char *buf, size_t len)
{
	const char *s = m->cmdline;
	size_t n = 0;

	if (s[0] != '/')
		return 0;
	while (s[n] && s[n] != ' ' && n + 1 < len) {
		buf[n] = s[n];
		n++;
	}
	buf[n] = '\0';
	return n;
}

const struct boot_module *module_find(const struct boot_info *bi, const char *path)
{
	char p[128];

	for (int i = 0; i < bi->nr_modules; i++) {
		if (module_path(&bi->module[i], p, sizeof(p)) && strcmp(p, path) == 0)
			return &bi->module[i];
		ksnprintf(p, sizeof(p), "module-%d", i);
		if (strcmp(p, path) == 0)
			return &bi->module[i];
	}
	return NULL;
}

/* A module's own arguments: its command line after the path. */
static const char *module_args(const struct boot_module *m)
{
	const char *s = m->cmdline;

	if (s[0] != '/')
		return s;
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

static bool is_config_module(const struct boot_module *m, const char *config_path)
{
	char p[128];
	size_t n = module_path(m, p, sizeof(p));

	if (!n)
		return false;
	if (config_path[0])
		return strcmp(p, config_path) == 0;
	return n > 4 && strcmp(p + n - 4, ".cfg") == 0;
}

void modules_gather_configs(const struct boot_info *bi, const char *config_path,
			    struct config_set *set, config_report_fn report)
{
	char line[CMDLINE_MAX + 32];

	for (int i = 0; i < bi->nr_modules; i++) {
		const struct boot_module *m = &bi->module[i];
		if (is_config_module(m, config_path)) {
			char p[128];
			module_path(m, p, sizeof(p));
			config_parse_file(set, p, hpa_to_hva(m->start), m->end - m->start,
					  report, NULL);
			continue;
		}
		/* VMs declared on a module's own line: module2 FILE [FILE] name=... */
		const char *args = module_args(m);
		if (m->cmdline[0] == '/')
			strlcpy(line, m->cmdline, sizeof(line));
		else
			ksnprintf(line, sizeof(line), "module-%d %s", i, args);
		config_parse_module_line(set, line, report, NULL);
	}
}
