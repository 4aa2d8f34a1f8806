/* deconflict party: administering parties directly on a service's data directory.
 *
 *   deconflict party add NAME --data DIR           creates NAME, prints its token last
 *   deconflict party rotate-token NAME --data DIR  a new token; the old one stops working
 *   deconflict party disable NAME --data DIR       refuses NAME's token (enable: re-allows)
 *   deconflict party signatures NAME required|optional --data DIR
 *                                                  whether NAME's unsigned writes are refused
 *   deconflict party list --data DIR
 *
 * Each takes --store URL instead of --data DIR for a PostgreSQL store (docs/deployment.md).
 *
 * The store may be open in a running deconflictd at the same time: SQLite's WAL and busy
 * timeout make the two writers take turns, and the daemon reads tokens from the store on
 * every request, so a rotation or a disable takes effect at once. */
#include "cli.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "deconflict/store.h"

static void party_usage(FILE *out)
{
    fputs("usage: deconflict party add|rotate-token|disable|enable NAME --data DIR|--store URL\n"
          "       deconflict party signatures NAME required|optional --data DIR|--store URL\n"
          "       deconflict party list --data DIR|--store URL\n"
          "  --data DIR: the SQLite store in DIR; --store URL: a PostgreSQL store\n"
          "  (postgresql://user@host/db, or a libpq connection string).\n"
          "  add prints the new party's bearer token alone on the last line of stdout; it is\n"
          "  shown once and stored only as a hash. NAME: 1-63 of [A-Za-z0-9_.-].\n",
          out);
}

static void print_party(const dc_party_t *p, void *ctx)
{
    (void)ctx;
    char when[32];
    time_t t = (time_t)p->created_s;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%lld\t%s\t%s\t%s\t%s\n", (long long)p->id, p->name,
           p->disabled ? "disabled" : "enabled", when,
           p->require_signatures ? "signatures-required" : "signatures-optional");
}

int cli_party(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : NULL, *name = NULL, *dir = NULL, *policy = NULL,
               *url = NULL;
    bool is_sig = sub && strcmp(sub, "signatures") == 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            url = argv[++i];
        else if (argv[i][0] != '-' && !name)
            name = argv[i];
        else if (argv[i][0] != '-' && is_sig && !policy)
            policy = argv[i];
        else {
            fprintf(stderr, "deconflict party: unexpected argument '%s'\n", argv[i]);
            party_usage(stderr);
            return CLI_EXIT_USAGE;
        }
    }
    bool is_list = sub && strcmp(sub, "list") == 0;
    if (!sub || !dir == !url || (!is_list && !name)) {
        party_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (name && !dc_party_name_valid(name)) {
        fprintf(stderr, "deconflict party: invalid name '%s' (1-63 of [A-Za-z0-9_.-])\n", name);
        return CLI_EXIT_USAGE;
    }
    if (is_sig &&
        (!policy || (strcmp(policy, "required") != 0 && strcmp(policy, "optional") != 0))) {
        fprintf(stderr, "deconflict party signatures: expected 'required' or 'optional'\n");
        return CLI_EXIT_USAGE;
    }
    dc_store_t *st = cli_store_open("deconflict party", dir, url, strcmp(sub, "add") == 0);
    if (!st) return CLI_EXIT_DATA;
    char token[DC_TOKEN_MAX];
    dc_err_t rc;
    int exit_code = CLI_EXIT_OK;
    if (is_list) {
        rc = dc_store_party_list(st, print_party, NULL);
    } else if (strcmp(sub, "add") == 0) {
        dc_party_t p;
        rc = dc_store_party_add(st, name, (double)time(NULL), token, &p);
        if (rc == DC_OK)
            printf("party %s created (id %lld); its token:\n%s\n", name, (long long)p.id, token);
    } else if (strcmp(sub, "rotate-token") == 0) {
        rc = dc_store_party_rotate_token(st, name, token);
        if (rc == DC_OK)
            printf("party %s has a new token; the old one no longer works:\n%s\n", name, token);
    } else if (is_sig) {
        rc = dc_store_party_set_signatures(st, name, strcmp(policy, "required") == 0);
        if (rc == DC_OK)
            printf("party %s: signatures %s (applies to its next request)\n", name, policy);
    } else if (strcmp(sub, "disable") == 0 || strcmp(sub, "enable") == 0) {
        bool off = strcmp(sub, "disable") == 0;
        rc = dc_store_party_set_disabled(st, name, off);
        if (rc == DC_OK) printf("party %s %s\n", name, off ? "disabled" : "enabled");
    } else {
        fprintf(stderr, "deconflict party: unknown subcommand '%s'\n", sub);
        party_usage(stderr);
        dc_store_close(st);
        return CLI_EXIT_USAGE;
    }
    if (rc != DC_OK) {
        if (rc == DC_ERR_CONFLICT)
            fprintf(stderr, "deconflict party: a party named '%s' already exists\n", name);
        else if (rc == DC_ERR_NOT_FOUND)
            fprintf(stderr, "deconflict party: no party named '%s'\n", name);
        else
            fprintf(stderr, "deconflict party: %s (%s)\n", dc_strerror(rc),
                    dc_store_last_error(st));
        exit_code = CLI_EXIT_DATA;
    }
    dc_store_close(st);
    return exit_code;
}
