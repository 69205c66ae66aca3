/* SPDX-License-Identifier: Apache-2.0 */
#include "kube.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileio.h"
#include "json.h"
#include "macro.h"
#include "report.h"
#include "strparse.h"
#include "timeutil.h"

#define KUBE_MAX_BODY (1024 * 1024)
#define TOKEN_MAX (16 * 1024)
#define BACKOFF_BASE_S 5
#define BACKOFF_MAX_S 600
#define EVENT_ACTION "Check"            /* what the agent did about the Node */
#define EVENT_INSTANCE_MAX 128          /* ReportingInstanceLengthLimit */

static const char *const kind_names[KUBE_KIND_COUNT] = { "condition", "metadata", "event", "read" };

const char *kube_kind_name(enum kube_kind kind)
{
        return kind_names[kind];
}

int kube_client_init(struct kube_client *k, const struct run_config *c, const struct http_transport *http,
                     char *const *envp)
{
        const char *host = envp_get(envp, "KUBERNETES_SERVICE_HOST"), *port = envp_get(envp, "KUBERNETES_SERVICE_PORT");
        struct kube_client n = { .http = http };
        int r;

        if (*c->kube_api)
                r = strcpy_bounded(n.base, sizeof(n.base), c->kube_api);
        else if (host && port)
                r = snprintf(n.base, sizeof(n.base), strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s",
                             host, port) < (int) sizeof(n.base) ? 0 : -E2BIG;
        else
                return -ENOENT;
        if (r < 0)
                return r;
        (void) strcpy_bounded(n.token_file, sizeof(n.token_file), c->kube_token_file);
        (void) strcpy_bounded(n.node, sizeof(n.node), c->node_name);
        (void) strcpy_bounded(n.event_ns, sizeof(n.event_ns), c->event_namespace);
        /* An https API needs its CA; plain http (tests, a local proxy) has none. */
        if (startswith(n.base, "https://"))
                (void) strcpy_bounded(n.ca_file, sizeof(n.ca_file), c->kube_ca_file);
        *k = n;
        return 0;
}

static void hold(struct kube_client *k, const struct http_response *resp, time_t now)
{
        uint64_t backoff = BACKOFF_BASE_S << (k->failures < 7 ? k->failures : 7);

        k->failures++;
        if (backoff > BACKOFF_MAX_S)
                backoff = BACKOFF_MAX_S;
        if (resp && resp->retry_after_s > 0 && (uint64_t) resp->retry_after_s > backoff)
                backoff = (uint64_t) resp->retry_after_s;
        k->hold_until = now + (time_t) backoff;
}

/* One API call. Returns the HTTP status (2xx..5xx) or a negative errno;
 * the response body, when wanted, goes to ret_body. */
static int call(struct kube_client *k, enum kube_kind kind, const char *method, const char *path,
                const char *content_type, const char *body, time_t now, struct buf *ret_body)
{
        _cleanup_secret_ char *token = NULL, *auth = NULL;
        char url[2 * CONFIG_STR], ctype[96];
        struct http_response resp = { .retry_after_s = -1 };
        size_t len;
        int r;

        if (now < k->hold_until) {
                snprintf(k->error, sizeof(k->error), "API held back until %lld (Retry-After/backoff)",
                         (long long) k->hold_until);
                return -EAGAIN;
        }
        r = read_file_secret(k->token_file, TOKEN_MAX, &token, &len);
        if (r < 0 || asprintf(&auth, "Authorization: Bearer %s", strstrip(token)) < 0) {
                snprintf(k->error, sizeof(k->error), "token %.200s: %s", k->token_file, strerror(r < 0 ? -r : ENOMEM));
                k->requests[kind][1]++;
                return r < 0 ? r : -ENOMEM;
        }
        snprintf(url, sizeof(url), "%s%s", k->base, path);
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type ? content_type : "application/json");
        const char *headers[] = { auth, ctype, "Accept: application/json", NULL };
        struct http_request req = {
                .method = method, .url = url, .headers = headers, .body = body,
                .body_len = body ? strlen(body) : 0, .max_body = KUBE_MAX_BODY,
                .connect_timeout_ms = 5000, .timeout_ms = 15000,
                .ca_file = *k->ca_file ? k->ca_file : NULL,
        };
        r = k->http->request(k->http->userdata, &req, &resp);
        if (r < 0 || resp.status >= 300) {
                snprintf(k->error, sizeof(k->error), "%s %s: %s", method, path,
                         r < 0 ? strerror(-r) : resp.status == 429 ? "HTTP 429 (throttled)" : "HTTP error");
                if (r >= 0)
                        snprintf(k->error + strlen(k->error), sizeof(k->error) - strlen(k->error), " %ld", resp.status);
                if (r < 0 || resp.status == 429 || resp.status >= 500)
                        hold(k, r < 0 ? NULL : &resp, now);
                k->requests[kind][1]++;
                http_response_done(&resp);
                return r < 0 ? r : (int) resp.status;
        }
        k->failures = 0;
        k->requests[kind][0]++;
        if (ret_body)
                *ret_body = resp.body;
        else
                http_response_done(&resp);
        return (int) resp.status;
}

static int parse_time(const char *s, time_t *ret)
{
        struct tm tm = { 0 };
        const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm) : NULL;

        if (!end || *end)
                return -EINVAL;
        *ret = timegm(&tm);
        return 0;
}

static void view_from_node(const cJSON *node, struct node_view *v)
{
        const cJSON *conds = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(node, "status"),
                                                              "conditions"), *c;

        *v = (struct node_view){ .known = false };
        cJSON_ArrayForEach(c, conds) {
                const cJSON *type = cJSON_GetObjectItemCaseSensitive(c, "type");
                const cJSON *st = cJSON_GetObjectItemCaseSensitive(c, "status");
                const cJSON *rs = cJSON_GetObjectItemCaseSensitive(c, "reason");

                if (!cJSON_IsString(type) || strcmp(type->valuestring, CONDITION_TYPE) || !cJSON_IsString(st))
                        continue;
                v->known = true;
                (void) strcpy_bounded(v->status, sizeof(v->status), st->valuestring);
                if (cJSON_IsString(rs))
                        (void) strcpy_bounded(v->reason, sizeof(v->reason), rs->valuestring);
                (void) parse_time(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "lastHeartbeatTime")),
                                  &v->last_heartbeat);
                (void) parse_time(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "lastTransitionTime")),
                                  &v->last_transition);
                if (strcmp(v->status, "Unknown") != 0)
                        (void) strcpy_bounded(v->last_definite, sizeof(v->last_definite), v->status);
        }
}

int kube_read_node(struct kube_client *k, time_t now, char *provider_id, size_t pidsz, struct node_view *view)
{
        _cleanup_(buf_done) struct buf body = { 0 };
        _cleanup_(cjson_deletep) cJSON *node = NULL;
        char path[CONFIG_STR + 64];
        const char *pid;
        int r;

        /* resourceVersion=0 lets the API server answer from its cache. */
        snprintf(path, sizeof(path), "/api/v1/nodes/%s?resourceVersion=0", k->node);
        r = call(k, KUBE_READ, "GET", path, NULL, NULL, now, &body);
        if (r < 0 || r >= 300)
                return r < 0 ? r : -EPROTO;
        node = cJSON_ParseWithLength(body.data, body.len);
        if (!cJSON_IsObject(node)) {
                snprintf(k->error, sizeof(k->error), "GET %.200s: not a JSON object", path);
                return -EBADMSG;
        }
        pid = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(node, "spec"),
                                                                    "providerID"));
        if (provider_id)
                snprintf(provider_id, pidsz, "%s", pid ? pid : "");
        view_from_node(node, view);
        return 0;
}

static int send_json(struct kube_client *k, enum kube_kind kind, const char *method, const char *path,
                     const char *ctype, cJSON *doc, time_t now)
{
        _cleanup_free_ char *text = json_print(doc, true);
        int r;

        cJSON_Delete(doc);
        if (!text)
                return -ENOMEM;
        r = call(k, kind, method, path, ctype, text, now, NULL);
        return r < 0 ? r : r >= 300 ? -EPROTO : 0;
}

static cJSON *condition_patch(const struct node_desired *d, const struct node_view *v,
                              const struct node_plan *p, time_t now)
{
        cJSON *doc = cJSON_CreateObject(), *status = cJSON_AddObjectToObject(doc, "status");
        cJSON *conds = cJSON_AddArrayToObject(status, "conditions"), *c = cJSON_CreateObject();
        char hb[32], tr[32];

        format_rfc3339(now, hb);
        format_rfc3339(p->transition || !v->last_transition ? now : v->last_transition, tr);
        cJSON_AddStringToObject(c, "type", CONDITION_TYPE);
        cJSON_AddStringToObject(c, "status", d->status);
        cJSON_AddStringToObject(c, "reason", d->reason);
        cJSON_AddStringToObject(c, "message", d->message);
        cJSON_AddStringToObject(c, "lastHeartbeatTime", hb);
        cJSON_AddStringToObject(c, "lastTransitionTime", tr);
        json_append(conds, c);
        return doc;
}

static cJSON *metadata_patch(const char *label, const struct kube_evidence *ev)
{
        cJSON *doc = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(doc, "metadata");
        cJSON *labels = cJSON_AddObjectToObject(md, "labels"), *ann = cJSON_AddObjectToObject(md, "annotations");

        /* A null value deletes the key (RFC 7386): that is the cleanup. */
        if (label)
                cJSON_AddStringToObject(labels, LABEL_KEY, label);
        else
                cJSON_AddNullToObject(labels, LABEL_KEY);
        if (ev && ev->sha256) {
                cJSON_AddStringToObject(ann, ANNOTATION_DIGEST, ev->sha256);
                cJSON_AddStringToObject(ann, ANNOTATION_TIME, ev->time);
        } else if (!ev) {
                cJSON_AddNullToObject(ann, ANNOTATION_DIGEST);
                cJSON_AddNullToObject(ann, ANNOTATION_TIME);
        }
        return doc;
}

int kube_write_node(struct kube_client *k, const struct node_desired *d, const struct node_view *v,
                    const struct node_plan *p, const struct kube_evidence *ev, time_t now)
{
        char path[CONFIG_STR + 64];
        int r;

        snprintf(path, sizeof(path), "/api/v1/nodes/%s/status", k->node);
        r = send_json(k, KUBE_CONDITION, "PATCH", path, "application/strategic-merge-patch+json",
                      condition_patch(d, v, p, now), now);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/api/v1/nodes/%s", k->node);
        return send_json(k, KUBE_METADATA, "PATCH", path, "application/merge-patch+json",
                         metadata_patch(d->label, ev), now);
}

int kube_post_event(struct kube_client *k, enum node_event e, const char *message, time_t now)
{
        cJSON *ev = cJSON_CreateObject(), *md = cJSON_AddObjectToObject(ev, "metadata");
        cJSON *obj = cJSON_AddObjectToObject(ev, "involvedObject"), *src = cJSON_AddObjectToObject(ev, "source");
        char path[CONFIG_STR + 64], name[CONFIG_STR + 32], when[32], micro[40], instance[EVENT_INSTANCE_MAX + 1];

        format_rfc3339(now, when);
        /* eventTime is a MicroTime: the API server parses exactly six
         * fractional digits. With it set, a Node's event may also live in
         * kube-system (legacyValidateEvent in kubernetes
         * pkg/apis/core/validation/events.go), and action, reportingComponent
         * and reportingInstance (at most 128 bytes) become required. */
        snprintf(micro, sizeof(micro), "%.19s.000000Z", when);
        snprintf(name, sizeof(name), "%s.hostenc.%llx", k->node, (unsigned long long) now);
        cJSON_AddStringToObject(ev, "apiVersion", "v1");
        cJSON_AddStringToObject(ev, "kind", "Event");
        cJSON_AddStringToObject(md, "name", name);
        cJSON_AddStringToObject(md, "namespace", k->event_ns);
        cJSON_AddStringToObject(obj, "apiVersion", "v1");
        cJSON_AddStringToObject(obj, "kind", "Node");
        cJSON_AddStringToObject(obj, "name", k->node);
        /* kubelet uses the node name as the uid of Node events too. */
        cJSON_AddStringToObject(obj, "uid", k->node);
        cJSON_AddStringToObject(ev, "type", e == NODE_EVENT_WARNING ? "Warning" : "Normal");
        cJSON_AddStringToObject(ev, "reason", e == NODE_EVENT_WARNING ? EVENT_NONCOMPLIANT : EVENT_RECOVERED);
        cJSON_AddStringToObject(ev, "message", message);
        cJSON_AddStringToObject(src, "component", "hostenc");
        cJSON_AddStringToObject(src, "host", k->node);
        cJSON_AddStringToObject(ev, "firstTimestamp", when);
        cJSON_AddStringToObject(ev, "lastTimestamp", when);
        cJSON_AddNumberToObject(ev, "count", 1);
        cJSON_AddStringToObject(ev, "eventTime", micro);
        cJSON_AddStringToObject(ev, "action", EVENT_ACTION);
        cJSON_AddStringToObject(ev, "reportingComponent", "hostenc");
        snprintf(instance, sizeof(instance), "%.*s", (int) sizeof(instance) - 1, k->node);
        cJSON_AddStringToObject(ev, "reportingInstance", instance);
        snprintf(path, sizeof(path), "/api/v1/namespaces/%s/events", k->event_ns);
        return send_json(k, KUBE_EVENT, "POST", path, "application/json", ev, now);
}

int kube_cleanup(struct kube_client *k, time_t now)
{
        cJSON *doc = cJSON_CreateObject(), *status = cJSON_AddObjectToObject(doc, "status");
        cJSON *conds = cJSON_AddArrayToObject(status, "conditions"), *c = cJSON_CreateObject();
        char path[CONFIG_STR + 64];
        int r;

        cJSON_AddStringToObject(c, "type", CONDITION_TYPE);
        cJSON_AddStringToObject(c, "$patch", "delete");
        json_append(conds, c);
        snprintf(path, sizeof(path), "/api/v1/nodes/%s/status", k->node);
        r = send_json(k, KUBE_CONDITION, "PATCH", path, "application/strategic-merge-patch+json", doc, now);
        if (r < 0)
                return r;
        snprintf(path, sizeof(path), "/api/v1/nodes/%s", k->node);
        return send_json(k, KUBE_METADATA, "PATCH", path, "application/merge-patch+json",
                         metadata_patch(NULL, NULL), now);
}
