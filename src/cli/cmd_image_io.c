// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_image_io.c - `msb pull`, `msb load`, `msb save`, `msb registry`
 * (spec/cli.md §3.18-3.19). Linked only into msb-image, the dynamically
 * linked half of the CLI (see image_io_exec.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum { P_FORCE = 1, P_QUIET, P_INSECURE, P_CA, P_MATERIALIZE, P_PLATFORM, P_INPUT, P_TAG, P_OUTPUT, P_FORMAT,
       P_USER, P_PASSWORD_STDIN };

struct progress {
	bool tty;
	const char *ref;
	int n_layers;
};

static void on_progress(void *arg, const char *what, int layer, int n_layers, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	char a[32], b[32];

	if (!p->tty)
		return;
	if (strcmp(what, "resolve") == 0) {
		fprintf(stderr, "\r\033[KResolving %s...", p->ref);
	} else if (strcmp(what, "layers") == 0) {
		p->n_layers = n_layers;
		fprintf(stderr, "\r\033[K%s (%d layers)\n", p->ref, n_layers);
	} else if (layer >= 0) {
		cli_format_size(done, a);
		cli_format_size(total, b);
		fprintf(stderr, "\r\033[K  layer %d/%d  %s  %s / %s", layer + 1, n_layers, what, a, b);
	}
	fflush(stderr);
}

static int pull_one(const char *ref, bool force, bool quiet, bool insecure, const char *platform, int policy)
{
	struct progress pr = {.tty = !quiet && isatty(STDERR_FILENO), .ref = ref};
	msb_pull_opts o = {.policy = force ? MSB_PULL_ALWAYS : policy, .insecure = insecure, .platform = platform,
			   .progress = on_progress, .progress_arg = &pr};
	msb_image_info im = {0};
	msb_error err = {0};
	struct timespec t0, t1;
	char msg[600];
	bool cached = false;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!force && policy != MSB_PULL_ALWAYS && msb_image_get(cli_ctx(), ref, &im, NULL) == 0)
		cached = true;
	else if (msb_image_pull(cli_ctx(), ref, &o, &im, &err) < 0) {
		if (pr.tty)
			fprintf(stderr, "\r\033[K");
		if (!quiet)
			fprintf(stderr, "   \u2717 %-12s %s\n", "Pulling", ref);
		cli_error(&err);
		return -1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (pr.tty)
		fprintf(stderr, "\r\033[K");
	if (cached)
		snprintf(msg, sizeof(msg), "%s (already cached)", ref);
	else
		snprintf(msg, sizeof(msg), "%s (%.1fs)", ref,
			 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	cli_action(quiet, "Pulled", msg);
	msb_image_info_clear(&im);
	return 0;
}

int cli_pull_image(const char *ref, bool quiet, bool always)
{
	return pull_one(ref, always, quiet, false, NULL, MSB_PULL_IF_MISSING);
}

int cmd_pull(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"force", 'f', false, P_FORCE, "Re-resolve the image even if it is cached (layers already stored are reused)."},
		{"quiet", 'q', false, P_QUIET, "Suppress progress output."},
		{"insecure", 0, false, P_INSECURE, "Connect to the registry over plain HTTP instead of HTTPS."},
		{"ca-certs", 0, true, P_CA, "Path to a PEM file containing additional CA root certificates to trust."},
		{"materialize", 0, true, P_MATERIALIZE, "Rootfs artifacts to prepare (layered, flat, all)."},
		{"platform", 0, true, P_PLATFORM, "Platform to pull (os/arch[/variant]); default: this host."},
	};
	const char *usage = "msb pull [OPTIONS] <REFERENCE>";
	const char *mat;
	struct cli_args a;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	if (a.npos != 1)
		cli_usage_error(usage, a.npos ? "unexpected argument '%s' found"
					      : "the following required arguments were not provided: <REFERENCE>%s",
				a.npos ? a.pos[1] : "");
	mat = cli_get(&a, P_MATERIALIZE);
	if (mat && strcmp(mat, "layered") && strcmp(mat, "flat") && strcmp(mat, "all"))
		cli_usage_error(usage, "invalid value '%s' for '--materialize' [possible values: layered, flat, all]",
				mat);
	if (cli_get(&a, P_CA))
		setenv("MSB_REGISTRY_CA_CERTS", cli_get(&a, P_CA), 1);
	return pull_one(a.pos[0], cli_has(&a, P_FORCE), cli_has(&a, P_QUIET), cli_has(&a, P_INSECURE),
			cli_get(&a, P_PLATFORM), MSB_PULL_IF_MISSING)
		       ? EXIT_MSB
		       : 0;
}

int cmd_load(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"input", 'i', true, P_INPUT, "Read archive from a tar file instead of stdin."},
		{"tag", 't', true, P_TAG, "Add a local image reference to the first imported image."},
		{"quiet", 'q', false, P_QUIET, "Suppress output."},
	};
	const char *usage = "msb load [OPTIONS]", *tags[64];
	struct cli_args a;
	msb_error err = {0};
	char **refs = NULL;
	size_t n_tags = 0, n = 0;
	int fd = STDIN_FILENO, r;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	if (a.npos)
		cli_usage_error(usage, "unexpected argument '%s' found", a.pos[0]);
	for (int i = 0; i < a.n && n_tags < ARRAY_LEN(tags); i++)
		if (a.v[i].id == P_TAG)
			tags[n_tags++] = a.v[i].val;
	if (cli_get(&a, P_INPUT)) {
		fd = open(cli_get(&a, P_INPUT), O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			cli_errorf("cannot open %s: %s", cli_get(&a, P_INPUT), strerror(errno));
			return EXIT_MSB;
		}
	} else if (isatty(STDIN_FILENO)) {
		cli_errorf("no archive given: use --input FILE or pipe the tar into stdin");
		return EXIT_MSB;
	}
	/* what each name pointed at before, so a retag by the archive is said out loud */
	msb_image_info *before = NULL;
	size_t n_before = 0;
	if (msb_image_list(cli_ctx(), &before, &n_before, NULL) < 0)
		n_before = 0;
	r = msb_image_load(cli_ctx(), fd, tags, n_tags, &refs, &n, &err);
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0) {
		msb_image_list_free(before, n_before);
		cli_error(&err);
		return EXIT_MSB;
	}
	for (size_t i = 0; i < n; i++) {
		msb_image_info now;
		cli_action(cli_has(&a, P_QUIET), "Loaded", refs[i]);
		for (size_t j = 0; j < n_before; j++)
			if (strcmp(before[j].reference, refs[i]) == 0 && msb_image_get(cli_ctx(), refs[i], &now, NULL) == 0) {
				if (strcmp(now.digest, before[j].digest))
					cli_warn("%s now names %.19s (it was %.19s)", refs[i], now.digest, before[j].digest);
				msb_image_info_clear(&now);
			}
		free(refs[i]);
	}
	free(refs);
	msb_image_list_free(before, n_before);
	return 0;
}

int cmd_save(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"format", 0, true, P_FORMAT, "Archive format to write (docker, oci)."},
		{"output", 'o', true, P_OUTPUT, "Write archive to a tar file instead of stdout."},
		{"quiet", 'q', false, P_QUIET, "Suppress output."},
	};
	const char *usage = "msb save [OPTIONS] <REFERENCES>...", *fmt, *out;
	struct cli_args a;
	msb_error err = {0};
	char *tmp = NULL;
	int fd = STDOUT_FILENO, r;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	if (!a.npos)
		cli_usage_error(usage, "the following required arguments were not provided: <REFERENCES>...%s", "");
	fmt = cli_get(&a, P_FORMAT) ? cli_get(&a, P_FORMAT) : "docker";
	if (strcmp(fmt, "docker") && strcmp(fmt, "oci"))
		cli_usage_error(usage, "invalid value '%s' for '--format <FORMAT>' [possible values: docker, oci]", fmt);
	out = cli_get(&a, P_OUTPUT);
	/* an unknown reference fails before any byte is written (the reference builds the archive aside) */
	for (int i = 0; i < a.npos; i++) {
		msb_image_info im;
		if (msb_image_get(cli_ctx(), a.pos[i], &im, &err) < 0) {
			cli_error(&err);
			return EXIT_MSB;
		}
		msb_image_info_clear(&im);
	}
	if (!out && isatty(STDOUT_FILENO)) {
		cli_errorf("refusing to write a tar archive to a terminal: use --output FILE or redirect stdout");
		return EXIT_MSB;
	}
	if (out) {
		/* written under a temporary name: a failed save leaves no truncated archive behind */
		size_t len = strlen(out) + 32;
		tmp = malloc(len);
		snprintf(tmp, len, "%s.tmp.%d", out, (int)getpid());
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			cli_errorf("cannot create %s: %s", out, strerror(errno));
			free(tmp);
			return EXIT_MSB;
		}
	}
	r = msb_image_save(cli_ctx(), (const char *const *)a.pos, (size_t)a.npos, strcmp(fmt, "oci") == 0, fd, &err);
	if (out) {
		if (r == 0 && (fsync(fd) < 0 || rename(tmp, out) < 0))
		{
			err.code = MSB_ERR_SYSTEM;
			snprintf(err.msg, sizeof(err.msg), "cannot write %s: %s", out, strerror(errno));
			r = -1;
		}
		close(fd);
		if (r < 0)
			unlink(tmp);
		free(tmp);
	}
	if (r < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	if (out)
		cli_action(cli_has(&a, P_QUIET), "Saved", out);
	return 0;
}

static int read_password(bool from_stdin, char *buf, size_t size)
{
	struct termios old, quiet;
	bool tty = !from_stdin && isatty(STDIN_FILENO);
	size_t n;

	if (!from_stdin && !tty) {
		cli_errorf("no terminal to prompt for a password: use --password-stdin");
		return -1;
	}
	if (tty) {
		fprintf(stderr, "Password/token: ");
		tcgetattr(STDIN_FILENO, &old);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (!fgets(buf, (int)size, stdin))
		buf[0] = '\0';
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (!n) {
		cli_errorf("password/token cannot be empty");
		return -1;
	}
	return 0;
}

int cmd_registry(int argc, char **argv)
{
	static const struct cli_opt login_opts[] = {
		{"username", 'u', true, P_USER, "Registry username."},
		{"password-stdin", 0, false, P_PASSWORD_STDIN, "Read the password/token from stdin."},
	};
	struct cli_args a;
	msb_error err = {0};
	char pw[4096];
	int r;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		/* without a subcommand the help is a usage error: stderr, exit 2 (as `msb volume`) */
		fprintf(argc < 2 ? stderr : stdout,
		        "Manage registry credentials.\n\nUsage: msb registry <COMMAND>\n\nCommands:\n"
		        "  login   Store credentials for a registry.\n"
		        "  logout  Remove stored credentials for a registry.\n"
		        "  list    List configured registries without printing secrets.\n");
		return argc < 2 ? EXIT_USAGE : 0;
	}
	if (strcmp(argv[1], "login") == 0) {
		const char *usage = "msb registry login [OPTIONS] --username <USERNAME> <REGISTRY>";
		cli_parse(argc - 1, argv + 1, login_opts, ARRAY_LEN(login_opts), &a, usage);
		if (a.npos != 1)
			cli_usage_error(usage, "expected exactly one <REGISTRY>%s", "");
		if (!cli_get(&a, P_USER))
			cli_usage_error(usage, "the following required arguments were not provided: --username%s", "");
		/* the reference's documented form pipes the password without the flag: accept a piped stdin */
		if (read_password(cli_has(&a, P_PASSWORD_STDIN) || !isatty(STDIN_FILENO), pw, sizeof(pw)) < 0)
			return EXIT_MSB;
		r = msb_registry_login(cli_ctx(), a.pos[0], cli_get(&a, P_USER), pw, &err);
		memset(pw, 0, sizeof(pw));
		if (r < 0) {
			cli_error(&err);
			return EXIT_MSB;
		}
		cli_action(false, "Logged in", a.pos[0]);
		return 0;
	}
	if (strcmp(argv[1], "logout") == 0) {
		const char *usage = "msb registry logout <REGISTRY>";
		cli_parse(argc - 1, argv + 1, NULL, 0, &a, usage);
		if (a.npos != 1)
			cli_usage_error(usage, "expected exactly one <REGISTRY>%s", "");
		if (msb_registry_logout(cli_ctx(), a.pos[0], &err) < 0) {
			cli_error(&err);
			return EXIT_MSB;
		}
		cli_action(false, "Logged out", a.pos[0]);
		return 0;
	}
	if (strcmp(argv[1], "list") == 0 || strcmp(argv[1], "ls") == 0) {
		char **hosts, **users;
		size_t n;
		cli_parse(argc - 1, argv + 1, NULL, 0, &a, "msb registry list");
		if (msb_registry_list(cli_ctx(), &hosts, &users, &n, &err) < 0) {
			cli_error(&err);
			return EXIT_MSB;
		}
		if (!n) {
			printf("No registries configured.\n");
		} else {
			static const char *const hdr[] = {"REGISTRY", "USERNAME", "SOURCE"};
			struct table t;
			table_init(&t, 3, hdr);
			/* `msb registry login` writes this store, as the reference's writes its keyring */
			for (size_t i = 0; i < n; i++)
				table_add(&t, (const char *const[]){hosts[i], users[i], "keyring"});
			table_print(&t);
			table_free(&t);
		}
		msb_strv_free(hosts, n);
		msb_strv_free(users, n);
		return 0;
	}
	cli_usage_error("msb registry <COMMAND>", "unrecognized subcommand '%s'", argv[1]);
}

int cmd_registries(int argc, char **argv)
{
	char *v[] = {(char *)"registry", (char *)"list", NULL};
	(void)argc;
	(void)argv;
	return cmd_registry(2, v);
}
