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

#include <stdio.h>
#include <string.h>

static void usage(FILE *out)
{
    fputs("usage: deconflict COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  detect STATES.csv [--rpz-nm R] [--hpz-ft H] [--lookahead-s T]\n"
          "      Predict conflicts among aircraft states at one instant. Input header:\n"
          "      id,lat,lon,alt_ft,gs_kt,trk_deg,vs_fpm. Output CSV:\n"
          "      id1,id2,tcpa_s,dcpa_nm,tin_s,tout_s sorted by (id1, id2).\n"
          "  replay TRACKS.csv [--from T0] [--to T1] [--step-s S] [--format table|csv]\n"
          "         [--rpz-nm R] [--hpz-ft H] [--lookahead-s T] [--stale-s S] [--vtol-ft V]\n"
          "      Run the engine over a normalized track file in time order and report each\n"
          "      encounter once: first alert, warning time before loss of separation, closest\n"
          "      separation; then a summary. T0/T1 are Unix seconds or UTC times like\n"
          "      2018-08-01T12:00:00Z.\n"
          "  strategic OPS.json [--same-party] [--fl-margin-m M]\n"
          "      Conflicts among planned operations: a JSON array of\n"
          "      {\"id\", \"party\", \"priority\", \"volumes\": [ASTM F3548 Volume4D...]}.\n"
          "      Output CSV: op1,op2,alt_overlap_m,time_overlap_s,area_m2, one line per\n"
          "      conflicting pair of operations of different parties, op1 < op2, sorted.\n"
          "      Invalid input exits 2 naming the operation, volume and field.\n"
          "  party add|rotate-token|disable|enable NAME --data DIR\n"
          "  party list --data DIR\n"
          "      Administer the parties of a deconflictd data directory. add and rotate-token\n"
          "      print the bearer token alone on the last line (shown once, stored hashed).\n"
          "  feed TRACKS.csv --to URL --token T [--token T2 ...] [--speed X] [--from T0]\n"
          "       [--to-time T1] [--split alternate|prefix]\n"
          "      Replay recorded traffic into a running deconflictd as live positions, X times\n"
          "      real time, aircraft split between the parties whose tokens are given.\n"
          "  feed sbs|beast HOST:PORT --to URL --token T [--seconds S]\n"
          "  asterix dump FILE [--format csv|csv-full]   ASTERIX records, one CSV row each\n"
          "  asterix encode --cat 21|62 TRAFFIC.csv --sac N --sic N --out FILE\n"
          "      Forward a receiver's SBS-1 (dump1090/readsb, 30003) or Beast port (30005) to a\n"
          "      deconflictd as the token's party; reconnects when the receiver drops.\n"
          "  audit export --data DIR [--out FILE]\n"
          "  audit verify FILE|URL [--token T] [--since-head HEAD.json]\n"
          "      Export the whole audit trail with its signed head; verify an export or a\n"
          "      service's /v1/audit (as the party whose token is given): the hash chain, every\n"
          "      body available, the head's signature, and consistency with an earlier head.\n"
          "  key generate --out KEYFILE | key public KEYFILE\n"
          "  key sign KEYFILE METHOD PATH [FILE]\n"
          "      A party's Ed25519 key: create one (prints the public key to register with\n"
          "      PUT /v1/party/key), show it, or sign a request: method, path and body (prints\n"
          "      the value of the Deconflict-Signature header).\n"
          "  help\n"
          "      This text.\n"
          "  --version\n"
          "      The version.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
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
