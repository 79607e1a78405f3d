// SPDX-License-Identifier: Apache-2.0
/*
 * image_io_exec.c - pull, load and save in the static msb binary.
 *
 * Moving images needs libcurl (and its TLS stack) and libarchive, which do
 * not link statically on Debian and would cost every short-lived msb command
 * its dynamic-loader time. So the static msb hands these commands to
 * `msb-image`, the same CLI linked dynamically with the full libmsb
 * (docs/decisions.md). It is found next to msb, in ../lib/msb, or at
 * $MSB_IMAGE_TOOL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char *image_tool(void)
{
	static char path[4096];
	const char *env = getenv("MSB_IMAGE_TOOL");
	char exe[4000], *slash;
	ssize_t n;

	if (env && *env)
		return env;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return "msb-image";
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(path, sizeof(path), "%s/msb-image", exe);
	if (access(path, X_OK) == 0)
		return path;
	snprintf(path, sizeof(path), "%s/../lib/msb/msb-image", exe);
	return path;
}

static _Noreturn void exec_tool(char **argv)
{
	const char *tool = image_tool();
	execv(tool, argv);
	cli_errorf("cannot run %s: %s (it comes with msb: `make install`, or set MSB_IMAGE_TOOL)", tool,
		   strerror(errno));
	exit(EXIT_MSB);
}

/* argv[0] is the subcommand name ("pull"); hand over as `msb-image <sub> ...`. */
static _Noreturn void hand_over(int argc, char **argv)
{
	char **v = calloc((size_t)argc + 2, sizeof(char *));
	v[0] = (char *)"msb";
	for (int i = 0; i < argc; i++)
		v[i + 1] = argv[i];
	exec_tool(v);
}

int cmd_pull(int argc, char **argv)
{
	hand_over(argc, argv);
}

int cmd_load(int argc, char **argv)
{
	hand_over(argc, argv);
}

int cmd_save(int argc, char **argv)
{
	hand_over(argc, argv);
}

int cmd_registry(int argc, char **argv)
{
	hand_over(argc, argv);
}

int cmd_registries(int argc, char **argv)
{
	char *v[] = {(char *)"registry", (char *)"list", NULL};
	(void)argc;
	(void)argv;
	hand_over(2, v);
}

int cli_pull_image(const char *ref, bool quiet, bool always)
{
	char *v[6] = {(char *)"msb", (char *)"pull", NULL};
	int n = 2, st;
	pid_t p;

	if (quiet)
		v[n++] = (char *)"--quiet";
	if (always)
		v[n++] = (char *)"--force";
	v[n++] = (char *)ref;
	v[n] = NULL;
	fflush(NULL);
	p = fork();
	if (p < 0) {
		cli_errorf("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (p == 0) {
		dup2(STDERR_FILENO, STDOUT_FILENO); /* progress and messages only; run's stdout is the command's */
		exec_tool(v);
	}
	while (waitpid(p, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}
