/* deconflict audit: the audit trail from the administrator's side and from any party's.
 *
 *   deconflict audit export --data DIR|--store URL [--out FILE]   the whole log, head signed
 *   deconflict audit verify FILE|URL [--token T] [--since-head HEAD.json]
 *
 * verify reads an export, or GET URL/v1/audit page by page with a party's token (bodies of
 * other parties' entries are then hashes only; every link is still checked). It prints the
 * signed head it verified, which a party can keep and pass back as --since-head later to prove
 * the log up to there was not rewritten. Exit 0: the log verifies; 1: it does not, with the
 * first bad entry's seq. */
#include "cli.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/audit.h"
#include "deconflict/store.h"

static void audit_usage(FILE *out)
{
    fputs("usage: deconflict audit export --data DIR|--store URL [--out FILE]\n"
          "       deconflict audit verify FILE|URL [--token T] [--since-head HEAD.json]\n",
          out);
}

typedef struct buf {
    char *s;
    size_t len, cap;
} buf_t;

static bool buf_add(buf_t *b, const char *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;
        char *q = realloc(b->s, cap);
        if (!q) return false;
        b->s = q, b->cap = cap;
    }
    memcpy(b->s + b->len, p, n);
    b->len += n;
    b->s[b->len] = '\0';
    return true;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    return buf_add(ud, p, size * n) ? size * n : 0;
}

static bool read_file(const char *path, buf_t *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char chunk[65536];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) ok = buf_add(b, chunk, n);
    ok = ok && !ferror(f);
    fclose(f);
    return ok && b->s;
}

/* The pages of URL/v1/audit, after=0 and on, into pages (each a buf). */
static int fetch_pages(const char *url, const char *token, buf_t **pages, size_t *n)
{
    CURL *c = cli_curl_new();
    if (!c) return CLI_EXIT_INTERNAL;
    char auth[256];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
    struct curl_slist *h = curl_slist_append(NULL, auth);
    int64_t after = 0;
    int rc = CLI_EXIT_OK;
    for (;;) {
        char u[2048];
        snprintf(u, sizeof(u), "%s/v1/audit?after=%lld&limit=10000", url, (long long)after);
        buf_t *grown = realloc(*pages, (*n + 1) * sizeof(buf_t));
        if (!grown) {
            rc = CLI_EXIT_INTERNAL;
            break;
        }
        *pages = grown;
        buf_t *b = &(*pages)[(*n)++];
        memset(b, 0, sizeof(*b));
        curl_easy_setopt(c, CURLOPT_URL, u);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
        long status = 0;
        if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 || !b->s) {
            fprintf(stderr, "deconflict audit: GET %s answered %ld%s%s\n", u, status,
                    b->s ? ": " : "", b->s ? b->s : "");
            rc = CLI_EXIT_DATA;
            break;
        }
        int64_t last = dc_audit_page_last_seq(b->s, b->len);
        if (last <= after) break; /* an empty page: the end */
        after = last;
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

static int verify(int argc, char **argv)
{
    const char *src = NULL, *token = NULL, *since_path = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            token = argv[++i];
        else if (strcmp(argv[i], "--since-head") == 0 && i + 1 < argc)
            since_path = argv[++i];
        else if (argv[i][0] != '-' && !src)
            src = argv[i];
        else {
            fprintf(stderr, "deconflict audit verify: unexpected argument '%s'\n", argv[i]);
            audit_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!src) {
        audit_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    buf_t since = {0}, *pages = NULL;
    size_t n = 0;
    int rc = CLI_EXIT_OK;
    if (since_path && !read_file(since_path, &since)) {
        fprintf(stderr, "deconflict audit verify: cannot read %s\n", since_path);
        return CLI_EXIT_DATA;
    }
    bool remote = strncmp(src, "http://", 7) == 0 || strncmp(src, "https://", 8) == 0;
    if (remote) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        rc = fetch_pages(src, token, &pages, &n);
    } else {
        pages = calloc(1, sizeof(buf_t));
        n = pages ? 1 : 0;
        if (!pages || !read_file(src, &pages[0])) {
            fprintf(stderr, "deconflict audit verify: cannot read %s\n", src);
            rc = CLI_EXIT_DATA;
        }
    }
    if (rc == CLI_EXIT_OK) {
        const char **texts = calloc(n, sizeof(char *));
        size_t *lens = calloc(n, sizeof(size_t));
        for (size_t i = 0; texts && lens && i < n; i++)
            texts[i] = pages[i].s, lens[i] = pages[i].len;
        dc_audit_report_t rep;
        if (!texts || !lens || dc_audit_verify_pages(texts, lens, n, since.s, &rep) != DC_OK) {
            rc = CLI_EXIT_INTERNAL;
        } else if (rep.ok) {
            printf("ok: %llu entries chained (%llu bodies checked, %llu party signatures), head "
                   "%llu signed by the service%s\n",
                   (unsigned long long)rep.entries, (unsigned long long)rep.bodies,
                   (unsigned long long)rep.signatures, (unsigned long long)rep.head_seq,
                   since.s ? ", consistent with the earlier head" : "");
            if (rep.unbound)
                printf("note: %llu of the signatures are in the first request format, which does "
                       "not name its signer (docs/audit.md)\n",
                       (unsigned long long)rep.unbound);
        } else {
            printf("FAILED at entry %llu: %s\n", (unsigned long long)rep.bad_seq, rep.why);
            rc = CLI_EXIT_DATA;
        }
        free(texts), free(lens);
    }
    for (size_t i = 0; i < n; i++) free(pages[i].s);
    free(pages), free(since.s);
    return rc;
}

static int export_log(int argc, char **argv)
{
    const char *dir = NULL, *path = NULL, *url = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            path = argv[++i];
        else {
            fprintf(stderr, "deconflict audit export: unexpected argument '%s'\n", argv[i]);
            audit_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    if (!dir == !url) {
        audit_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    dc_store_t *st = cli_store_open("deconflict audit export", dir, url, false);
    if (!st) return CLI_EXIT_DATA;
    /* The export holds every party's bodies: readable by its owner only. */
    FILE *out = path ? cli_create_private("deconflict audit export", path) : stdout;
    int rc = CLI_EXIT_OK;
    if (!out) {
        rc = CLI_EXIT_DATA;
    } else if (dc_audit_export(st, out) != DC_OK) {
        fprintf(stderr, "deconflict audit export: %s\n", dc_store_last_error(st));
        rc = CLI_EXIT_DATA;
    }
    if (out && out != stdout && fclose(out) != 0) rc = CLI_EXIT_DATA;
    dc_store_close(st);
    return rc;
}

int cli_audit(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (strcmp(sub, "export") == 0) return export_log(argc, argv);
    if (strcmp(sub, "verify") == 0) return verify(argc, argv);
    audit_usage(stderr);
    return CLI_EXIT_USAGE;
}
