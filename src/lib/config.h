/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h - a sandbox's configuration: a JSON object built by
 * msb_config_set(), validated key by key, stored verbatim in the state store.
 */
#ifndef MSB_CONFIG_H
#define MSB_CONFIG_H

#include <jansson.h>

#include "util.h"

struct msb_config {
	json_t *obj;
};

/* Accessors on a stored config object (borrowed strings; NULL/default when absent). */
const char *config_str(const json_t *cfg, const char *key);
uint64_t config_u64(const json_t *cfg, const char *key, uint64_t dflt);
/* A NULL-terminated array of borrowed strings from a JSON string array (caller frees the array only). */
const char **config_strv(const json_t *cfg, const char *key, size_t *n);

#endif
