/* SPDX-License-Identifier: Apache-2.0 */
/* The agent's own Node as the Kubernetes API returns it (GET
 * /api/v1/nodes/NAME): spec.providerID goes into the signed statement, our
 * condition decides what to write and which event to post. Anyone who can
 * edit the Node object (or answer in the API server's place) chooses these
 * bytes. The HTTP transport is replaced by one that answers 200 with the
 * input.
 *
 * Properties: the providerID is terminated within its buffer; the plan the
 * daemon derives from the view is consistent: after the write it plans,
 * the same desired state needs no further write and no second event. */
#include "fuzz.h"

#include <unistd.h>

#include "config.h"
#include "http.h"
#include "kube.h"
#include "nodestate.h"

static char token_path[64];
static const uint8_t *answer;
static size_t answer_len;

static int fake_request(void *userdata, const struct http_request *req, struct http_response *resp)
{
        *resp = (struct http_response){ .status = 200, .retry_after_s = -1, .body = BUF_INIT(req->max_body) };
        if (buf_append(&resp->body, answer, answer_len) < 0) {
                buf_done(&resp->body);
                return -E2BIG;
        }
        return 0;
}

static const struct http_transport transport = { fake_request, NULL };

static void remove_token(void)
{
        (void) unlink(token_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        int fd;

        snprintf(token_path, sizeof(token_path), "/tmp/hostenc-fuzz-token.XXXXXX");
        fd = mkstemp(token_path);
        if (fd < 0 || write(fd, "fuzz-token\n", 11) != 11)
                abort();
        close(fd);
        atexit(remove_token);
        return 0;
}

static void plans(const struct node_view *read_view)
{
        static const char *const statuses[] = { "False", "True", "Unknown" };
        static const char *const reasons[] = { "EncryptionAtHostEnabled", "EncryptionAtHostDisabled",
                                               "ImdsUnavailable" };

        for (int i = 0; i < 3; i++)
                for (int hb = 0; hb < 2; hb++) {
                        struct node_view v = *read_view;
                        struct node_desired d = { .status = "", .reason = "" };
                        struct node_plan p, again;

                        snprintf(d.status, sizeof(d.status), "%s", statuses[i]);
                        snprintf(d.reason, sizeof(d.reason), "%s", reasons[i]);
                        node_plan_make(&v, &d, hb, &p);
                        if (!p.write)
                                continue;
                        node_view_update(&v, &d, &p, 2000000000);
                        node_plan_make(&v, &d, false, &again);
                        FUZZ_ASSERT(!again.write && !again.transition);
                        FUZZ_ASSERT(again.event == NODE_EVENT_NONE);
                }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static struct run_config cfg;
        struct kube_client k;
        struct node_view view;
        char provider[CONFIG_STR];
        char *const envp[] = { NULL };
        int r;

        if (!token_path[0])
                LLVMFuzzerInitialize(NULL, NULL);
        memset(&cfg, 0, sizeof(cfg));
        strcpy(cfg.kube_api, "http://kube.invalid");
        snprintf(cfg.kube_token_file, sizeof(cfg.kube_token_file), "%s", token_path);
        strcpy(cfg.node_name, "aks-nodepool1-12345678-vmss000000");
        strcpy(cfg.event_namespace, "default");
        if (kube_client_init(&k, &cfg, &transport, envp) < 0)
                abort();
        answer = data;
        answer_len = size;
        memset(provider, 0x5a, sizeof(provider));
        r = kube_read_node(&k, 1999990000, provider, sizeof(provider), &view);
        if (r < 0)
                return 0;
        FUZZ_ASSERT(strnlen(provider, sizeof(provider)) < sizeof(provider));
        FUZZ_ASSERT(strnlen(view.status, sizeof(view.status)) < sizeof(view.status));
        FUZZ_ASSERT(strnlen(view.reason, sizeof(view.reason)) < sizeof(view.reason));
        FUZZ_ASSERT(strnlen(view.last_definite, sizeof(view.last_definite)) < sizeof(view.last_definite));
        plans(&view);
        return 0;
}
