/* deconflict — the command-line tool. Built on the public API (include/deconflict/) only.
 *
 *   deconflict detect STATES.csv [minima]            conflicts among states at one instant
 *   deconflict replay TRACKS.csv [options] [minima]  the engine over a recorded traffic file
 *   deconflict strategic OPS.json [options]          conflicts among planned operations
 *   deconflict party add|rotate-token|disable|enable|list ... --data DIR   service parties
 *   deconflict feed TRACKS.csv --to URL --token T [--token T2] [--speed X]  live positions
 *   deconflict audit export|verify ...                the audit trail: export, verify
 *   deconflict key generate|public|sign ...           a party's key for signed requests
 *
 * Exit status: 0 success, 1 bad input data, 2 bad usage, 3 internal error (out of memory). */
#include "cli.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "deconflict/secretfile.h"

/* The one usage text: `deconflict help` prints it all, `deconflict CMD --help` its CMD blocks
 * (a block is a line with two leading spaces and the lines indented further below it). */
static const char usage_text[] =
    "usage: deconflict COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  detect STATES.csv [--rpz-nm R] [--hpz-ft H] [--lookahead-s T]\n"
    "      Predict conflicts among aircraft states at one instant. Input header:\n"
    "      id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm. Output CSV:\n"
    "      id1,id2,tcpa_s,dcpa_nm,tin_s,tout_s sorted by (id1, id2).\n"
    "  replay RECORDING [--from T0] [--to T1] [--step-s S] [--format table|csv|json]\n"
    "         [--parties alternate|prefix] [--compare H_NM,V_FT] [--svg ID1,ID2 --svg-out FILE]\n"
    "         [--operations OPS.json] [--raw] [--alt-step-ft F] [--warning-s S] [--hold-s S]\n"
    "         [--states-out FILE] [--t0 T] [--date YYYY-MM-DD] [--cat021-edition E]\n"
    "         [--radar SAC/SIC:LAT,LON[,ALT_FT]] [--cat004 FILE [--cat004-source SAC/SIC]]\n"
    "         [--rpz-nm R] [--hpz-ft H] [--lookahead-s T] [--stale-s S] [--vtol-ft V]\n"
    "  replay RECORDING --daemon URL --token T [--token T2 ...] [--speed X]\n"
    "      Run the engine over a recording in time order and report each encounter once:\n"
    "      first alert, warning time before loss of separation, closest separation; then a\n"
    "      summary. A recording is a normalized traffic CSV, an SBS-1 log, a Beast capture\n"
    "      (--t0: its first frame's time) or ASTERIX (raw, pcap, pcapng; --date for raw).\n"
    "      T0/T1 are Unix seconds or UTC times like 2018-08-01T12:00:00Z.\n"
    "  strategic OPS.json [--same-party] [--fl-margin-m M]\n"
    "      Conflicts among planned operations: a JSON array of\n"
    "      {\"id\", \"party\", \"priority\", \"volumes\": [ASTM F3548 Volume4D...]}.\n"
    "      Output CSV: op1,op2,alt_overlap_m,time_overlap_s,area_m2, one line per\n"
    "      conflicting pair of operations of different parties, op1 < op2, sorted.\n"
    "      Invalid input exits 2 naming the operation, volume and field.\n"
    "  party add|rotate-token|disable|enable NAME --data DIR|--store URL\n"
    "  party signatures NAME required|optional --data DIR|--store URL\n"
    "  party list --data DIR|--store URL\n"
    "      Administer the parties of a deconflictd store (a data directory, or PostgreSQL).\n"
    "      add and rotate-token print the bearer token alone on the last line (shown\n"
    "      once, stored hashed); signatures sets whether the party's writes must be signed.\n"
    "  feed RECORDING --to URL[,URL...] --token T|--token-file F [--token T2 ...]\n"
    "       [--speed X] [--from T0] [--to-time T1] [--split alternate|prefix] [--date D]\n"
    "       [--cat021-edition E] [--radar SAC/SIC:LAT,LON[,ALT_FT]] [--no-replay-clock]\n"
    "      Replay a recording into a running deconflictd as live positions, X times real\n"
    "      time, aircraft split between the parties whose tokens are given; each party's\n"
    "      replay clock is set, so that its console shows the recording's times.\n"
    "  feed sbs|beast HOST:PORT --to URL --token T|--token-file F [--seconds S]\n"
    "      Forward a receiver's SBS-1 (dump1090/readsb, 30003) or Beast port (30005) to a\n"
    "      deconflictd as the token's party; reconnects when the receiver drops.\n"
    "  asterix dump FILE [--format csv|csv-full] [--cat021-edition E] [--radar S/S:LAT,LON]\n"
    "      ASTERIX records (raw, pcap, pcapng), one CSV row each.\n"
    "  asterix encode --cat 21|62 TRAFFIC.csv --sac N --sic N --out FILE [--block-bytes N]\n"
    "      A traffic CSV as CAT021 or CAT062 data blocks (a pcap when FILE ends in .pcap).\n"
    "  audit export --data DIR|--store URL [--out FILE]\n"
    "  audit verify FILE|URL [--token T|--token-file F] [--since-head HEAD.json]\n"
    "      Export the whole audit trail with its signed head; verify an export or a\n"
    "      service's /v1/audit (as the party whose token is given): the hash chain, every\n"
    "      body available, the head's signature, and consistency with an earlier head.\n"
    "  key generate --out KEYFILE | key public KEYFILE\n"
    "  key sign KEYFILE --party ID METHOD PATH [FILE]\n"
    "      A party's Ed25519 key: create one (prints the public key to register with\n"
    "      PUT /v1/party/key), show it, or sign party ID's request (ID as GET /v1/party\n"
    "      shows it): method, path and the body in FILE or stdin (prints the value of the\n"
    "      Deconflict-Signature header).\n"
    "  help\n"
    "      This text. `deconflict COMMAND --help`: that command's part.\n"
    "  --version\n"
    "      The version.\n"
    "\n"
    "--cacert FILE, with any command that talks to a service over HTTPS: verify it against\n"
    "these CA certificates (PEM) instead of the system's.\n"
    "--token-file F, wherever --token T is taken: the token in the first line of F (mode\n"
    "600; '-': standard input), out of the process list other local users can read.\n";

static void usage(FILE *out)
{
    fputs(usage_text, out);
}

/* The usage blocks of cmd; false when it has none. */
static bool usage_of(const char *cmd, FILE *out)
{
    size_t n = strlen(cmd);
    bool any = false, in = false;
    for (const char *p = usage_text; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
        bool head = len > 2 && p[0] == ' ' && p[1] == ' ' && p[2] != ' ';
        if (head) in = strncmp(p + 2, cmd, n) == 0 && (p[2 + n] == ' ' || p[2 + n] == '\n');
        if (in) {
            if (!any) fputs("usage:\n", out);
            fwrite(p, 1, len, out);
            any = true;
        }
        p += len;
    }
    return any;
}

/* --token-file F anywhere becomes --token T, T the first line of F (mode 600, else refused),
 * or of standard input for '-' (once): a token on the command line is in /proc for every local
 * user to read, one in a file is not. false (said) when a file or its token is refused. */
static bool take_token_files(int argc, char **argv)
{
    static char tokens[8][DC_TOKEN_FILE_MAX + 1];
    int n = 0;
    bool stdin_taken = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--token-file") != 0) continue;
        char err[400];
        const char *path = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = path && n < 8;
        if (!ok) {
            snprintf(err, sizeof(err), "%s", path ? "at most 8 token files" : "needs a file");
        } else if (strcmp(path, "-") == 0) {
            char line[DC_TOKEN_FILE_MAX + 3] = "";
            ok = !stdin_taken && fgets(line, sizeof(line), stdin) &&
                 dc_token_take_line(line, tokens[n]);
            if (!ok)
                snprintf(err, sizeof(err), "-: %s",
                         stdin_taken ? "standard input can give one token only"
                                     : "standard input's first line must be a token of "
                                       "16-127 printable characters");
            stdin_taken = true;
            sodium_memzero(line, sizeof(line));
        } else {
            ok = dc_token_file_read(path, tokens[n], err, sizeof(err));
        }
        if (!ok) {
            fprintf(stderr, "deconflict: --token-file %s\n", err);
            return false;
        }
        argv[i] = "--token";
        argv[i + 1] = tokens[n++];
        i++;
    }
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    /* --cacert FILE anywhere: taken out, for every command's HTTPS client (cli.h). */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--cacert") != 0) continue;
        if (i + 1 >= argc) {
            fprintf(stderr, "deconflict: --cacert needs a file\n");
            return CLI_EXIT_USAGE;
        }
        cli_cacert = argv[i + 1];
        if (access(cli_cacert, R_OK) != 0) {
            fprintf(stderr, "deconflict: --cacert %s: cannot be read\n", cli_cacert);
            return CLI_EXIT_USAGE;
        }
        for (int k = i; k + 2 <= argc; k++) argv[k] = argv[k + 2];
        argc -= 2, i--;
    }
    if (!take_token_files(argc, argv)) return CLI_EXIT_USAGE;
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    /* Every command answers --help (or -h), anywhere among its arguments, with its usage. */
    for (int i = 2; i < argc; i++)
        if ((strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) && usage_of(cmd, stdout))
            return CLI_EXIT_OK;
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("deconflict %s\n", DC_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "detect") == 0) return cli_detect(argc - 1, argv + 1);
    if (strcmp(cmd, "replay") == 0) return cli_replay(argc - 1, argv + 1);
    if (strcmp(cmd, "strategic") == 0) return cli_strategic(argc - 1, argv + 1);
    if (strcmp(cmd, "party") == 0) return cli_party(argc - 1, argv + 1);
    if (strcmp(cmd, "feed") == 0) return cli_feed(argc - 1, argv + 1);
    if (strcmp(cmd, "audit") == 0) return cli_audit(argc - 1, argv + 1);
    if (strcmp(cmd, "key") == 0) return cli_key(argc - 1, argv + 1);
    if (strcmp(cmd, "asterix") == 0) return cli_asterix(argc - 1, argv + 1);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "deconflict: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return CLI_EXIT_USAGE;
}
