// SPDX-License-Identifier: Apache-2.0
/*
 * cmd_image.c - `msb image ...`, `msb images`, `msb rmi` (spec/cli.md §3.18):
 * the store-only image commands. Pull, load and save move image data and live
 * in cmd_image_io.c.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

enum { I_FORMAT = 1, I_QUIET, I_FORCE, I_YES };

static bool want_json(const struct cli_args *a, const char *usage)
{
	const char *f = cli_get(a, I_FORMAT);
	if (f && strcmp(f, "json") != 0)
		cli_usage_error(usage, "invalid value '%s' for '--format <FORMAT>' [possible values: json]", f);
	return f != NULL;
}

void cli_format_size(uint64_t bytes, char out[32])
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, 32, "%llu B", (unsigned long long)bytes);
	else
		snprintf(out, 32, "%.1f %s", v, unit[u]);
}

static json_t *info_json(const msb_image_info *im)
{
	char created[40];
	format_rfc3339(im->created_at, created);
	return json_pack("{s:s, s:s, s:I, s:s, s:s, s:i, s:s}", "reference", im->reference, "digest", im->digest,
			 "size_bytes", (json_int_t)im->size_bytes, "architecture", im->architecture, "os", im->os,
			 "layer_count", (int)im->layer_count, "created_at", created);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	puts(s);
	free(s);
	json_decref(j);
}

int cmd_images(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"format", 0, true, I_FORMAT, "Output format (json)."},
		{"quiet", 'q', false, I_QUIET, "Show only image references."},
	};
	const char *usage = "msb image list [OPTIONS]";
	struct cli_args a;
	msb_image_info *v;
	msb_error err = {0};
	size_t n;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	if (a.npos)
		cli_usage_error(usage, "unexpected argument '%s' found", a.pos[0]);
	if (msb_image_list(cli_ctx(), &v, &n, &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	if (want_json(&a, usage)) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, info_json(&v[i]));
		print_json(arr);
	} else if (cli_has(&a, I_QUIET)) {
		for (size_t i = 0; i < n; i++)
			puts(v[i].reference);
	} else if (n == 0) {
		fprintf(stderr, "No images found.\n");
	} else {
		static const char *const hdr[] = {"REFERENCE", "DIGEST", "SIZE", "CREATED"};
		struct table t;
		table_init(&t, 4, hdr);
		for (size_t i = 0; i < n; i++) {
			char dig[32], size[32], created[32];
			snprintf(dig, sizeof(dig), "sha256:%.12s", v[i].digest + 7);
			cli_format_size(v[i].size_bytes, size);
			format_local_time(v[i].created_at, created);
			table_add(&t, (const char *const[]){v[i].reference, dig, size, created});
		}
		table_print(&t);
		table_free(&t);
	}
	msb_image_list_free(v, n);
	return 0;
}

static void print_argv(const char *key, json_t *arr)
{
	size_t i;
	json_t *v;
	printf("  %-14s", key);
	if (!json_array_size(arr))
		printf("-");
	json_array_foreach(arr, i, v) printf("%s%s", i ? " " : "", json_string_value(v));
	printf("\n");
}

int cmd_image_inspect(int argc, char **argv)
{
	static const struct cli_opt opts[] = {{"format", 0, true, I_FORMAT, "Output format (json)."}};
	const char *usage = "msb image inspect [OPTIONS] <REFERENCE>";
	struct cli_args a;
	msb_image_info im;
	msb_error err = {0};
	json_t *rec, *cfg, *layers, *l;
	size_t i;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	if (a.npos != 1)
		cli_usage_error(usage, a.npos ? "unexpected argument '%s' found" : "the image reference is required%s",
				a.npos ? a.pos[1] : "");
	if (msb_image_get(cli_ctx(), a.pos[0], &im, &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	rec = json_loads(im.record_json, 0, NULL);
	cfg = json_object_get(rec, "config");
	if (want_json(&a, usage)) {
		json_t *out = info_json(&im), *ls = json_array(), *c = json_object();
		json_object_set(c, "digest", json_object_get(rec, "config_digest"));
		for (const char *const *k = (const char *const[]){"env", "cmd", "entrypoint", "working_dir", "user",
								   "labels", "stop_signal", NULL};
		     *k; k++)
			json_object_set_new(c, *k, json_deep_copy(json_object_get(cfg, *k) ?: json_null()));
		json_object_set_new(out, "config", c);
		json_array_foreach(json_object_get(rec, "layers"), i, l)
		json_array_append_new(ls, json_pack("{s:O, s:O, s:O, s:O, s:n, s:i}", "diff_id",
						    json_object_get(l, "diff_id"), "blob_digest",
						    json_object_get(l, "blob_digest"), "media_type",
						    json_object_get(l, "media_type"), "compressed_size_bytes",
						    json_object_get(l, "size"), "erofs_size_bytes", "position", (int)i));
		json_object_set_new(out, "layers", ls);
		print_json(out);
	} else {
		char size[32], created[32];
		cli_format_size(im.size_bytes, size);
		format_local_time(im.created_at, created);
		printf("%-16s%s\n%-16s%s\n%-16s%s\n%-16s%s\n%-16s%s\n%-16s%s\n", "Reference:", im.reference,
		       "Digest:", im.digest, "Architecture:", im.architecture, "OS:", im.os, "Size:", size,
		       "Created:", created);
		printf("\nConfig\n");
		print_argv("Entrypoint:", json_object_get(cfg, "entrypoint"));
		print_argv("Cmd:", json_object_get(cfg, "cmd"));
		printf("  %-14s%s\n", "WorkingDir:", json_string_value(json_object_get(cfg, "working_dir")) ?: "-");
		printf("  %-14s%s\n", "User:", json_string_value(json_object_get(cfg, "user")) ?: "-");
		printf("  Env:\n");
		json_array_foreach(json_object_get(cfg, "env"), i, l) printf("    %s\n", json_string_value(l));
		layers = json_object_get(rec, "layers");
		printf("\nLayers (%zu)\n", json_array_size(layers));
		json_array_foreach(layers, i, l)
		{
			const char *d = json_string_value(json_object_get(l, "diff_id"));
			char pos[8], sz[32];
			snprintf(pos, sizeof(pos), "%zu", i);
			cli_format_size((uint64_t)json_integer_value(json_object_get(l, "size")), sz);
			printf("  %-4s%-16.12s%-10s%s\n", pos, d ? d + 7 : "-", sz,
			       json_string_value(json_object_get(l, "media_type")) ?: "");
		}
	}
	json_decref(rec);
	msb_image_info_clear(&im);
	return 0;
}

int cmd_rmi(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"force", 'f', false, I_FORCE, "Remove even if the image is used by existing sandboxes."},
		{"quiet", 'q', false, I_QUIET, "Suppress output."},
	};
	const char *usage = "msb image remove [OPTIONS] <REFERENCES>...";
	struct cli_args a;
	int failed = 0;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	if (!a.npos)
		cli_usage_error(usage, "the following required arguments were not provided: <REFERENCES>...%s", "");
	for (int i = 0; i < a.npos; i++) {
		msb_error err = {0};
		if (msb_image_remove(cli_ctx(), a.pos[i], cli_has(&a, I_FORCE), &err) < 0) {
			cli_error(&err);
			failed = 1;
		} else {
			cli_action(cli_has(&a, I_QUIET), "Removed", a.pos[i]);
		}
	}
	if (failed)
		cli_errorf("some images failed to remove");
	return failed ? EXIT_MSB : 0;
}

int cmd_image_prune(int argc, char **argv)
{
	static const struct cli_opt opts[] = {
		{"yes", 'y', false, I_YES, "Do not prompt for confirmation."},
		{"format", 0, true, I_FORMAT, "Output format (json)."},
		{"quiet", 'q', false, I_QUIET, "Suppress output."},
	};
	const char *usage = "msb image prune [OPTIONS]";
	struct cli_args a;
	msb_error err = {0};
	size_t images = 0, layers = 0;
	bool json;

	cli_parse(argc, argv, opts, ARRAY_LEN(opts), &a, usage);
	json = want_json(&a, usage);
	if (!cli_has(&a, I_YES)) {
		char line[16] = "";
		if (!isatty(STDIN_FILENO)) {
			cli_errorf("non-interactive terminal; use --yes to prune cached images");
			return EXIT_MSB;
		}
		fprintf(stderr, "Remove all cached images not used by sandboxes? [y/N] ");
		if (!fgets(line, sizeof(line), stdin) || (line[0] != 'y' && line[0] != 'Y') ||
		    (line[1] != '\n' && line[1] != '\0')) {
			fprintf(stderr, "Aborted.\n");
			return EXIT_MSB;
		}
	}
	if (msb_image_prune(cli_ctx(), 1, &images, &layers, &err) < 0) {
		cli_error(&err);
		return EXIT_MSB;
	}
	if (json) {
		print_json(json_pack("{s:I, s:I, s:I, s:i, s:i, s:i}", "image_refs_removed", (json_int_t)images,
				     "manifests_removed", (json_int_t)images, "layers_removed", (json_int_t)layers,
				     "fsmeta_removed", 0, "vmdk_removed", 0, "bytes_reclaimed", 0));
	} else if (!cli_has(&a, I_QUIET)) {
		if (images == 0 && layers == 0) {
			printf("Nothing to prune.\n");
		} else {
			cli_action(false, "Pruned", "image cache");
			/* one manifest per reference: the manifests no remaining reference names go */
			printf("  Image refs:  %zu\n  Manifests:   %zu\n  Layers:      %zu\n", images, images,
			       layers);
		}
	}
	return 0;
}

/* `msb image <sub>`: pull, list|ls, inspect, load, save, remove|rm, prune. */
int cmd_image(int argc, char **argv)
{
	static const struct {
		const char *name, *alias;
		int (*fn)(int, char **);
	} sub[] = {
		{"pull", NULL, cmd_pull},	  {"list", "ls", cmd_images}, {"inspect", NULL, cmd_image_inspect},
		{"load", NULL, cmd_load},	  {"save", NULL, cmd_save},   {"remove", "rm", cmd_rmi},
		{"prune", NULL, cmd_image_prune},
	};
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		/* without a subcommand the help is a usage error: stderr, exit 2 (as `msb volume`) */
		fprintf(argc < 2 ? stderr : stdout,
		        "Manage cached images.\n\nUsage: msb image <COMMAND>\n\nCommands:\n"
		        "  pull     Download an image from a container registry.\n"
		        "  list     List locally cached images.\n"
		        "  inspect  Show detailed image information.\n"
		        "  load     Load an image archive from tar.\n"
		        "  save     Save one or more cached images to a tar archive.\n"
		        "  remove   Delete one or more cached images.\n"
		        "  prune    Remove cached images not used by sandboxes.\n");
		return argc < 2 ? EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(sub); i++)
		if (strcmp(argv[1], sub[i].name) == 0 || (sub[i].alias && strcmp(argv[1], sub[i].alias) == 0))
			return sub[i].fn(argc - 1, argv + 1);
	cli_usage_error("msb image <COMMAND>", "unrecognized subcommand '%s'", argv[1]);
}
