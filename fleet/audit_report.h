/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdio.h>

#include "audit.h"

void audit_write_text(FILE *out, const struct audit *a);
int audit_write_json(FILE *out, const struct audit *a);
void audit_write_junit(FILE *out, const struct audit *a);
void audit_write_html(FILE *out, const struct audit *a);

/* "noncompliant (EncryptionAtHostDisabled); ARM says false" and the like. */
void audit_describe(const struct audit_node *n, char *out, size_t sz);
/* Writes s with &<>"' escaped, for XML and HTML. */
void xml_escape(FILE *out, const char *s);
