// SPDX-License-Identifier: Apache-2.0
/*
 * regget.c - a small driver of the registry client for tests/registry/:
 * pull one image's manifest (selecting the host platform from an index),
 * config and layers into a directory, or download single blobs.
 *
 *   regget [-k] [-c CA] [-u USER -p PASS] [-j N] [-P] REGISTRY REPO REF OUTDIR
 *   regget ... -b DIGEST:SIZE [-b ...] REGISTRY REPO - OUTDIR
 *
 * -k plain HTTP, -c extra CA file, -j parallel downloads, -P print progress.
 * Blobs land in OUTDIR/<hex> via OUTDIR/<hex>.part. Prints "manifest
 * <digest>", "config <digest>", "layer <digest>" and finally "ok"; on an
 * error prints "error <code name>: <message>" to stderr and exits 1.
 */
#include <fcntl.h>
#include <stdio.h>

#include "image/manifest.h"
#include "image/registry.h"
#include "util.h"

static void progress(void *arg, int i, uint64_t done, uint64_t total)
{
	fprintf(stderr, "progress %d %llu/%llu\n", i, (unsigned long long)done, (unsigned long long)total);
}

static int fail(const msb_error *err)
{
	fprintf(stderr, "error %s: %s\n", msb_strerror(err->code), err->msg);
	return 1;
}

static int get_blobs(struct reg_client *c, const char *repo, const struct img_descriptor *d, size_t n, int dfd,
		     msb_error *err)
{
	char **part = xcalloc(n + 1, sizeof(char *)), **fin = xcalloc(n + 1, sizeof(char *));
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		fin[i] = xstrdup(d[i].digest + 7);
		part[i] = xasprintf("%s.part", fin[i]);
	}
	r = reg_get_blobs(c, repo, d, n, dfd, (const char *const *)part, (const char *const *)fin, err);
	for (i = 0; i < n; i++) {
		if (r == 0)
			printf("layer %s\n", d[i].digest);
		free(part[i]);
		free(fin[i]);
	}
	free(part);
	free(fin);
	return r;
}

/* Fetch the manifest for @ref, descending through an index to the host platform. */
static int get_manifest(struct reg_client *c, const char *repo, const char *ref, struct img_manifest **m,
			msb_error *err)
{
	char *body = NULL, *ct = NULL, dg[IMG_DIGEST_LEN + 1];
	_cleanup_free_ char *want = xstrdup(ref);
	size_t len;
	int depth, r = 0, mt;

	for (depth = 0; depth < 4; depth++) {
		struct img_index *idx = NULL;
		r = reg_get_manifest(c, repo, want, &body, &len, &ct, dg, err);
		if (r < 0)
			return r;
		printf("manifest %s %s\n", dg, ct);
		mt = img_manifest_sniff(body, len, ct, err);
		if (mt == IMG_MT_OCI_INDEX || mt == IMG_MT_DOCKER_LIST) {
			r = img_index_parse(body, len, ct, &idx, err);
			if (r == 0 && (r = img_index_select(idx, NULL, err)) >= 0) {
				free(want);
				want = xstrdup(idx->entries[r].desc.digest);
				r = 0;
			}
			img_index_free(idx);
		} else if (mt > 0) {
			r = img_manifest_parse(body, len, ct, m, err);
			free(body);
			free(ct);
			return r;
		} else {
			r = mt;
		}
		free(body);
		free(ct);
		if (r < 0)
			return r;
	}
	return msb_err_set(err, MSB_ERR_INVALID, 0, "index nesting too deep");
}

int main(int argc, char **argv)
{
	struct reg_opts o = {0};
	struct reg_client *c = NULL;
	struct img_descriptor blobs[16];
	size_t nb = 0;
	msb_error err;
	int opt, dfd, r;

	while ((opt = getopt(argc, argv, "kc:u:p:j:Pb:")) != -1) {
		switch (opt) {
		case 'k': o.insecure = true; break;
		case 'c': o.ca_file = optarg; break;
		case 'u': o.username = optarg; break;
		case 'p': o.password = optarg; break;
		case 'j': o.parallel = atoi(optarg); break;
		case 'P': o.progress = progress; break;
		case 'b': {
			char *colon = strrchr(optarg, ':');
			if (nb == 16 || !colon)
				return 2;
			blobs[nb].digest = xstrndup(optarg, (size_t)(colon - optarg));
			blobs[nb].size = atoll(colon + 1);
			blobs[nb++].media_type = xstrdup("application/octet-stream");
			break;
		}
		default:
			fprintf(stderr, "usage: regget [-k] [-c CA] [-u U -p P] [-j N] [-P] [-b D:S] REG REPO REF DIR\n");
			return 2;
		}
	}
	if (argc - optind != 4)
		return 2;
	o.registry = argv[optind];
	o.user_agent = "msb-regget";
	dfd = open(argv[optind + 3], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		perror(argv[optind + 3]);
		return 2;
	}
	if (reg_client_new(&o, &c, &err) < 0)
		return fail(&err);
	if (nb) {
		r = get_blobs(c, argv[optind + 1], blobs, nb, dfd, &err);
	} else {
		struct img_manifest *m = NULL;
		char *cfg = NULL;
		size_t cl;
		r = get_manifest(c, argv[optind + 1], argv[optind + 2], &m, &err);
		if (r == 0)
			r = reg_get_blob_mem(c, argv[optind + 1], &m->config, IMG_CONFIG_MAX, &cfg, &cl, &err);
		if (r == 0) {
			struct img_descriptor *d = xcalloc(m->n_layers, sizeof(*d));
			size_t i;
			printf("config %s %zu\n", m->config.digest, cl);
			for (i = 0; i < m->n_layers; i++)
				d[i] = m->layers[i].desc;
			r = get_blobs(c, argv[optind + 1], d, m->n_layers, dfd, &err);
			free(d);
		}
		free(cfg);
		img_manifest_free(m);
	}
	reg_client_free(c);
	close(dfd);
	while (nb--) {
		free(blobs[nb].digest);
		free(blobs[nb].media_type);
	}
	if (r < 0)
		return fail(&err);
	printf("ok\n");
	return 0;
}
