/* deconflict key: a party's Ed25519 key for signing its requests (non-repudiation: the audit
 * trail keeps each signed request with its signature, docs/audit.md).
 *
 *   deconflict key generate --out KEYFILE     a new key pair; prints the public key (base64)
 *   deconflict key public KEYFILE             prints the public key of a key file
 *   deconflict key sign KEYFILE --party ID METHOD PATH [FILE]
 *                                             signs party ID's request METHOD PATH with the
 *                                             body in FILE (or stdin) as sent; prints the value
 *                                             of the Deconflict-Signature header
 *
 * A key file holds the 64-byte secret key in base64 on one line, readable by its owner only.
 * Register the public key with PUT /v1/party/key. */
#include "cli.h"

#include "deconflict/audit.h"

#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void key_usage(FILE *out)
{
    fputs("usage: deconflict key generate --out KEYFILE\n"
          "       deconflict key public KEYFILE\n"
          "       deconflict key sign KEYFILE --party ID METHOD PATH [FILE]\n"
          "           (ID: the signer's party id, as GET /v1/party shows it; FILE: the\n"
          "           request body, default stdin; PATH as in the URL, e.g. /v1/operations)\n",
          out);
}

static bool load_key(const char *path, uint8_t sk[crypto_sign_SECRETKEYBYTES])
{
    FILE *f = fopen(path, "r");
    char line[256] = "";
    bool ok = f && fgets(line, sizeof(line), f);
    if (f) fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    size_t got = 0;
    ok = ok &&
         sodium_base642bin(sk, crypto_sign_SECRETKEYBYTES, line, strlen(line), NULL, &got, NULL,
                           sodium_base64_VARIANT_ORIGINAL) == 0 &&
         got == crypto_sign_SECRETKEYBYTES;
    sodium_memzero(line, sizeof(line));
    if (!ok) fprintf(stderr, "deconflict key: %s is not a key file\n", path);
    return ok;
}

static void print_b64(const uint8_t *b, size_t n)
{
    char out[128];
    sodium_bin2base64(out, sizeof(out), b, n, sodium_base64_VARIANT_ORIGINAL);
    puts(out);
}

int cli_key(int argc, char **argv)
{
    if (sodium_init() < 0) return CLI_EXIT_INTERNAL;
    const char *sub = argc > 1 ? argv[1] : "";
    uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    if (strcmp(sub, "generate") == 0 && argc == 4 && strcmp(argv[2], "--out") == 0) {
        crypto_sign_keypair(pk, sk);
        int fd = open(argv[3], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!f) {
            fprintf(stderr, "deconflict key: cannot create %s (it must not exist)\n", argv[3]);
            if (fd >= 0) close(fd);
            return CLI_EXIT_DATA;
        }
        char line[128];
        sodium_bin2base64(line, sizeof(line), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
        fprintf(f, "%s\n", line);
        sodium_memzero(line, sizeof(line));
        sodium_memzero(sk, sizeof(sk));
        if (fclose(f) != 0) return CLI_EXIT_DATA;
        print_b64(pk, sizeof(pk));
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "public") == 0 && argc == 3) {
        if (!load_key(argv[2], sk)) return CLI_EXIT_DATA;
        crypto_sign_ed25519_sk_to_pk(pk, sk);
        sodium_memzero(sk, sizeof(sk));
        print_b64(pk, sizeof(pk));
        return CLI_EXIT_OK;
    }
    if (strcmp(sub, "sign") == 0 && (argc == 7 || argc == 8) && strcmp(argv[3], "--party") == 0) {
        char *end;
        long long party = strtoll(argv[4], &end, 10);
        if (end == argv[4] || *end || party < 1) {
            fprintf(stderr, "deconflict key sign: --party: a party id (a positive integer, as GET "
                            "/v1/party shows it)\n");
            return CLI_EXIT_USAGE;
        }
        if (!load_key(argv[2], sk)) return CLI_EXIT_DATA;
        FILE *in = argc == 8 ? fopen(argv[7], "rb") : stdin;
        if (!in) {
            fprintf(stderr, "deconflict key: cannot read %s\n", argv[7]);
            return CLI_EXIT_DATA;
        }
        /* What the service checks (DC_AUDIT_REQUEST_TAG): the tag, the signer, the method, the
         * path, then the body. */
        size_t cap = 65536;
        uint8_t *body = malloc(cap);
        size_t len =
            body ? (size_t)snprintf((char *)body, cap, DC_AUDIT_REQUEST_TAG "%lld\n%s\n%s\n", party,
                                    argv[5], argv[6])
                 : 0;
        if (len >= cap) {
            free(body);
            fprintf(stderr, "deconflict key: method and path too long\n");
            return CLI_EXIT_USAGE;
        }
        size_t n;
        while (body && (n = fread(body + len, 1, cap - len, in)) > 0) {
            len += n;
            if (len == cap) {
                uint8_t *grown = realloc(body, cap *= 2);
                if (!grown) free(body);
                body = grown;
            }
        }
        if (in != stdin) fclose(in);
        if (!body) return CLI_EXIT_INTERNAL;
        uint8_t sig[crypto_sign_BYTES];
        crypto_sign_detached(sig, NULL, body, len, sk);
        sodium_memzero(sk, sizeof(sk));
        free(body);
        char out[128];
        sodium_bin2base64(out, sizeof(out), sig, sizeof(sig), sodium_base64_VARIANT_ORIGINAL);
        printf("ed25519 %s\n", out);
        return CLI_EXIT_OK;
    }
    key_usage(stderr);
    return CLI_EXIT_USAGE;
}
