/* kasane's management console: the commands a line typed at it runs. */
#ifndef KASANE_CORE_CONSOLE_CMD_H
#define KASANE_CORE_CONSOLE_CMD_H

/*
 * Run one line the operator typed (housekeeping CPU only).  Words are
 * separated by spaces; the first names the command.  Anything typed gets
 * an answer on kasane's console, an unknown command or VM a one-line error
 * with what is valid.  state_name names vCPU states for the scheduler view.
 */
void console_cmd_run(char *line, const char *const state_name[]);
/* "help" as one line, for the focus announcement. */
extern const char console_cmd_hint[];

#endif
