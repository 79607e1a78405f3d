/* SPDX-License-Identifier: Apache-2.0 */
/*
 * creds.h - stored registry logins (`msb registry login`).
 *
 * One JSON file per registry, $MSB_HOME/secrets/registries/<host>.json,
 * holding {"registry", "username", "password"}. The directories are 0700
 * and the file 0600, written to a temporary name, fsync'ed and renamed, so a
 * crash leaves either the old login or the new one. The file name is the
 * registry lowercased with every byte outside [a-z0-9.-] turned into '_'
 * ("localhost:5000" -> "localhost_5000.json"); the "registry" field inside
 * is authoritative, so two names that sanitise alike never answer for each
 * other. Nothing here prints a password.
 */
#ifndef MSB_IMAGE_CREDS_H
#define MSB_IMAGE_CREDS_H

#include <stddef.h>

#include "msb.h"

#define CREDS_FIELD_MAX 4096 /* bytes of a username or password */

/**
 * creds_save() - store (or replace) the login for a registry.
 * @home: $MSB_HOME
 * @registry: "host[:port]"
 * @user: username, non-empty
 * @password: password or access token, non-empty
 * @err: error out
 *
 * Creates @home/secrets and @home/secrets/registries (0700) when missing.
 *
 * Return: 0, -MSB_ERR_INVALID (empty or over-long field, bad registry) or -MSB_ERR_SYSTEM.
 */
int creds_save(const char *home, const char *registry, const char *user, const char *password, msb_error *err);

/**
 * creds_load() - read the stored login for a registry.
 * @home: $MSB_HOME
 * @registry: "host[:port]" (case-insensitive)
 * @user: receives the username (malloc'd)
 * @password: receives the password (malloc'd; clear it with explicit_bzero() before freeing)
 * @err: error out
 *
 * Return: 0, -MSB_ERR_NOT_FOUND (no login stored), -MSB_ERR_INVALID (the
 * file is malformed or readable by others) or -MSB_ERR_SYSTEM.
 */
int creds_load(const char *home, const char *registry, char **user, char **password, msb_error *err);

/**
 * creds_remove() - forget the login for a registry.
 * @home: $MSB_HOME
 * @registry: "host[:port]"
 * @err: error out
 *
 * Return: 0, -MSB_ERR_NOT_FOUND (none stored) or -MSB_ERR_SYSTEM.
 */
int creds_remove(const char *home, const char *registry, msb_error *err);

/**
 * creds_list() - the registries with a stored login.
 * @home: $MSB_HOME
 * @registries: receives a NULL-terminated, sorted array of registry names
 *              (free with creds_list_free()); files that do not parse are skipped
 * @n: receives the count
 * @err: error out
 *
 * Return: 0 (also when nothing is stored) or -MSB_ERR_SYSTEM.
 */
int creds_list(const char *home, char ***registries, size_t *n, msb_error *err);

/**
 * creds_list_free() - free the result of creds_list(). NULL is a no-op.
 * @registries: the array
 */
void creds_list_free(char **registries);

#endif
