/* agent/aztoken.h */
#pragma once
#include <stddef.h>
#include <time.h>
#include "http.h"
struct aztoken;
/* Picks the source from the environment the AKS workload-identity webhook injects
 * (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_AUTHORITY_HOST):
 * workload identity when AZURE_FEDERATED_TOKEN_FILE is set, else managed identity via
 * IMDS (imds_base, e.g. "http://169.254.169.254"; client_id may be NULL). -ENOENT when
 * neither can apply. The transport is borrowed. */
int aztoken_new(const struct http_transport *t, const char *imds_base, struct aztoken **ret);
struct aztoken *aztoken_free(struct aztoken *a);
/* A bearer token for scope (e.g. "https://storage.azure.com/.default"), cached and
 * refreshed 5 minutes before expiry; copied into out (NUL-terminated). -ENOBUFS if it
 * does not fit. now is the caller's clock (seam for tests). */
int aztoken_get(struct aztoken *a, const char *scope, time_t now, char *out, size_t outsz);
/* Forget the cached token (after a 401/403 from storage), so the next get refreshes. */
void aztoken_invalidate(struct aztoken *a);
