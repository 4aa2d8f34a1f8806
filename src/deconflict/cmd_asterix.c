/* deconflict asterix: the ASTERIX inspection and test-traffic tools (docs/feeds.md, "ASTERIX").
 *
 *   deconflict asterix dump FILE [--format csv|csv-full] [--cat021-edition 2|0.26|0.23]
 *                               [--radar SAC/SIC:LAT,LON[,ALT_FT]]...
 *   deconflict asterix encode --cat 21|62 TRAFFIC.csv --sac N --sic N --out FILE
 *                               [--block-bytes N]
 *
 * dump prints one CSV row per record of a raw recording or a pcap/pcapng capture; encode
 * writes recorded traffic as CAT021 or CAT062 data blocks (a pcap of UDP datagrams when FILE
 * ends in .pcap, else raw blocks back to back). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "deconflict/asterix.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: deconflict asterix dump FILE [--format csv|csv-full] [--cat021-edition "
            "2|0.26|0.23]\n"
            "                                 [--radar SAC/SIC:LAT,LON[,ALT_FT]]...\n"
            "       deconflict asterix encode --cat 21|62 TRAFFIC.csv --sac N --sic N --out FILE\n"
            "                                 [--block-bytes N]\n");
}

int cli_asterix_flag(int argc, char **argv, int *i, dc_asterix_config_t *cfg)
{
    const char *flag = argv[*i];
    if (strcmp(flag, "--cat021-edition") != 0 && strcmp(flag, "--radar") != 0) return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "deconflict: %s needs a value\n", flag);
        return -1;
    }
    const char *v = argv[++*i];
    if (strcmp(flag, "--cat021-edition") == 0) {
        if (dc_asterix_parse_edition(v, &cfg->cat021_edition) != DC_OK) {
            fprintf(stderr, "deconflict: --cat021-edition %s: one of 2 (2.1-2.6), 0.26, 0.23\n", v);
            return -1;
        }
        return 1;
    }
    dc_asterix_radar_t r;
    if (dc_asterix_parse_radar(v, &r) != DC_OK) {
        fprintf(stderr,
                "deconflict: --radar %s: SAC/SIC:LAT,LON[,ALT_FT] with SAC and SIC 0..255, WGS84 "
                "degrees, an antenna altitude of -1500..30000 ft\n",
                v);
        return -1;
    }
    if (cfg->n_radars == DC_ASTERIX_RADARS_MAX) {
        fprintf(stderr, "deconflict: --radar: at most %d radars\n", DC_ASTERIX_RADARS_MAX);
        return -1;
    }
    cfg->radars[cfg->n_radars++] = r;
    return 1;
}

/* Prints v with at most `decimals` digits after the point, trailing zeros dropped. */
static void put_num(FILE *out, double v, int decimals)
{
    char b[64];
    snprintf(b, sizeof(b), "%.*f", decimals, v);
    if (strchr(b, '.')) {
        size_t n = strlen(b);
        while (b[n - 1] == '0') b[--n] = 0;
        if (b[n - 1] == '.') b[--n] = 0;
    }
    if (strcmp(b, "-0") == 0) strcpy(b, "0");
    fputs(b, out);
}

typedef struct dump_ctx {
    FILE *out;
    bool full;
    double t_s;
    uint64_t rows;
} dump_ctx_t;

static void field(FILE *out, bool present, double v, int decimals)
{
    fputc(',', out);
    if (present) put_num(out, v, decimals);
}

static void dump_record(const dc_asterix_record_t *r, void *ctx)
{
    dump_ctx_t *d = ctx;
    FILE *o = d->out;
    unsigned h = r->has;
    fprintf(o, "%d,%d,%d", r->cat, r->sac, r->sic);
    field(o, h & DC_ASTERIX_TOD, r->tod_s, 7);
    fputc(',', o);
    if (h & DC_ASTERIX_ADDR) fprintf(o, "%06x", (unsigned)r->addr);
    field(o, h & DC_ASTERIX_TRACK, r->track_number, 0);
    field(o, h & DC_ASTERIX_POS, r->lat_deg, 8);
    field(o, h & DC_ASTERIX_POS, r->lon_deg, 8);
    field(o, h & DC_ASTERIX_FL, r->fl, 2);
    field(o, h & DC_ASTERIX_VEL, r->gs_kt, 2);
    field(o, h & DC_ASTERIX_VEL, r->trk_deg, 2);
    fprintf(o, ",%s", r->callsign);
    if (d->full) {
        field(o, isfinite(d->t_s), d->t_s, 6);
        field(o, h & DC_ASTERIX_GEO_ALT, r->geo_alt_ft, 2);
        field(o, h & DC_ASTERIX_VS, r->vs_fpm, 2);
        fputc(',', o);
        if (h & DC_ASTERIX_MODE3A) fprintf(o, "%04o", (unsigned)r->mode3a);
        field(o, h & DC_ASTERIX_POLAR, r->rho_nm, 6);
        field(o, h & DC_ASTERIX_POLAR, r->theta_deg, 6);
        field(o, h & DC_ASTERIX_QUALITY, r->nic, 0);
        field(o, h & DC_ASTERIX_AGE, r->age_s, 2);
        fprintf(o, ",%s%s%s%s%s%s", r->flags & DC_ASTERIX_GROUND ? "G" : "",
                r->flags & DC_ASTERIX_SIMULATED ? "S" : "", r->flags & DC_ASTERIX_TEST ? "T" : "",
                r->flags & DC_ASTERIX_COASTING ? "C" : "", r->flags & DC_ASTERIX_ENDED ? "E" : "",
                r->flags & DC_ASTERIX_TENTATIVE ? "N" : "");
        field(o, r->cat == 4, r->msg_type, 0);
        field(o, h & DC_ASTERIX_TRACK2, r->track_number_2, 0);
        field(o, h & DC_ASTERIX_ALERT, r->alert_id, 0);
        field(o, h & DC_ASTERIX_ALERT, r->alert_status, 0);
        field(o, h & DC_ASTERIX_TIMING, r->time_to_conflict_s, 4);
        field(o, h & DC_ASTERIX_TIMING, r->time_to_cpa_s, 4);
        field(o, h & DC_ASTERIX_TIMING, r->cpa_h_nm, 4);
        field(o, h & DC_ASTERIX_TIMING, r->cpa_v_ft, 0);
        fprintf(o, ",%s", r->has_second ? r->callsign_2 : "");
    }
    fputc('\n', o);
    d->rows++;
}

static int dump(int argc, char **argv)
{
    const char *path = NULL;
    dc_asterix_config_t cfg = {0};
    bool full = false;
    for (int i = 0; i < argc; i++) {
        int r = cli_asterix_flag(argc, argv, &i, &cfg);
        if (r < 0) return CLI_EXIT_USAGE;
        if (r) continue;
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            const char *f = argv[++i];
            if (strcmp(f, "csv") != 0 && strcmp(f, "csv-full") != 0) {
                fprintf(stderr, "deconflict asterix dump: --format %s: csv or csv-full\n", f);
                return CLI_EXIT_USAGE;
            }
            full = strcmp(f, "csv-full") == 0;
        } else if (argv[i][0] != '-' && !path) {
            path = argv[i];
        } else {
            usage();
            return CLI_EXIT_USAGE;
        }
    }
    if (!path) return usage(), CLI_EXIT_USAGE;
    char msg[256];
    dc_asterix_source_t *src;
    dc_err_t e = dc_asterix_source_open(path, &src, msg, sizeof(msg));
    if (e != DC_OK) {
        fprintf(stderr, "deconflict asterix dump: %s\n", msg);
        return CLI_EXIT_DATA;
    }
    dump_ctx_t d = {.out = stdout, .full = full};
    printf("cat,sac,sic,tod_s,target_addr,track_number,lat,lon,fl,gs_kt,hdg_deg,callsign%s\n",
           full ? ",t_s,geo_alt_ft,vs_fpm,mode3a,rho_nm,theta_deg,nic,age_s,flags,msg_type,"
                  "track_number_2,alert_id,alert_status,ttc_s,tcpa_s,cpa_h_nm,cpa_v_ft,callsign_2"
                : "");
    dc_asterix_stats_t st = {0};
    uint64_t datagrams = 0, bad = 0;
    const uint8_t *data;
    size_t len;
    int port;
    int rc = CLI_EXIT_OK;
    while ((e = dc_asterix_source_next(src, &data, &len, &d.t_s, &port, msg, sizeof(msg))) ==
           DC_OK) {
        datagrams++;
        if (dc_asterix_decode_datagram(data, len, &cfg, dump_record, &d, &st, msg, sizeof(msg)) !=
            DC_OK) {
            bad++;
            fprintf(stderr, "deconflict asterix dump: %s: datagram %llu: %s\n", path,
                    (unsigned long long)datagrams, msg);
        }
    }
    if (e != DC_ERR_NOT_FOUND) {
        fprintf(stderr, "deconflict asterix dump: %s: %s\n", path, msg);
        rc = CLI_EXIT_DATA;
    }
    dc_asterix_source_free(src);
    fprintf(stderr,
            "deconflict asterix dump: %llu datagrams, %llu blocks decoded, %llu records, %llu "
            "blocks of other categories, %llu malformed\n",
            (unsigned long long)datagrams, (unsigned long long)st.blocks,
            (unsigned long long)st.records, (unsigned long long)st.other_blocks,
            (unsigned long long)st.bad_blocks);
    return bad ? CLI_EXIT_DATA : rc;
}

/* ---- encode ---- */

/* Track numbers for the aircraft of a recording, in the order they first appear. */
typedef struct numbering {
    uint32_t *addr;
    size_t n, cap;
} numbering_t;

static int number_of(numbering_t *nb, uint32_t addr)
{
    for (size_t i = nb->n; i-- > 0;)
        if (nb->addr[i] == addr) return (int)i + 1;
    if (nb->n == nb->cap) {
        size_t cap = nb->cap ? nb->cap * 2 : 256;
        uint32_t *a = realloc(nb->addr, cap * sizeof(*a));
        if (!a) return -1;
        nb->addr = a, nb->cap = cap;
    }
    nb->addr[nb->n++] = addr;
    return (int)nb->n;
}

static void put_le32(FILE *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    fwrite(b, 1, 4, f);
}

FILE *cli_asterix_create(const char *prog, const char *path, bool *pcap)
{
    size_t n = strlen(path);
    *pcap = n > 5 && strcmp(path + n - 5, ".pcap") == 0;
    FILE *out = fopen(path, "wb");
    if (!out) {
        fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        return NULL;
    }
    if (*pcap) { /* libpcap, microseconds, Ethernet */
        put_le32(out, 0xa1b2c3d4);
        uint8_t ver[4] = {2, 0, 4, 0};
        fwrite(ver, 1, 4, out);
        put_le32(out, 0), put_le32(out, 0), put_le32(out, 262144), put_le32(out, 1);
    }
    return out;
}

void cli_asterix_write_block(FILE *out, bool pcap, const dc_asterix_block_t *blk, double t_s)
{
    if (pcap) { /* a UDP datagram 127.0.0.1 -> 127.0.0.1:8600, stamped t_s */
        size_t n = 14 + 20 + 8 + blk->len;
        double sec = floor(t_s);
        long usec = lround((t_s - sec) * 1e6);
        if (usec >= 1000000) sec += 1, usec -= 1000000;
        put_le32(out, (uint32_t)sec), put_le32(out, (uint32_t)usec);
        put_le32(out, (uint32_t)n), put_le32(out, (uint32_t)n);
        uint8_t eth[14] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00};
        size_t ip_len = 20 + 8 + blk->len, udp_len = 8 + blk->len;
        uint8_t ip[20] = {0x45,
                          0,
                          (uint8_t)(ip_len >> 8),
                          (uint8_t)ip_len,
                          0,
                          0,
                          0x40,
                          0,
                          64,
                          17,
                          0,
                          0,
                          127,
                          0,
                          0,
                          1,
                          127,
                          0,
                          0,
                          1};
        unsigned sum = 0;
        for (int i = 0; i < 20; i += 2) sum += (unsigned)(ip[i] << 8 | ip[i + 1]);
        while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
        ip[10] = (uint8_t)(~sum >> 8), ip[11] = (uint8_t)~sum;
        uint8_t udp[8] = {0x21, 0x98, 0x21, 0x98, (uint8_t)(udp_len >> 8), (uint8_t)udp_len, 0, 0};
        fwrite(eth, 1, 14, out), fwrite(ip, 1, 20, out), fwrite(udp, 1, 8, out);
    }
    fwrite(blk->buf, 1, blk->len, out);
}

static int encode(int argc, char **argv)
{
    const char *in = NULL, *out_path = NULL;
    double cat = 0, sac = -1, sic = -1, block_bytes = 1400;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        bool has_v = i + 1 < argc;
        if (strcmp(a, "--cat") == 0 && has_v) {
            if (!cli_parse_number(a, argv[++i], &cat)) return CLI_EXIT_USAGE;
        } else if (strcmp(a, "--sac") == 0 && has_v) {
            if (!cli_parse_number(a, argv[++i], &sac)) return CLI_EXIT_USAGE;
        } else if (strcmp(a, "--sic") == 0 && has_v) {
            if (!cli_parse_number(a, argv[++i], &sic)) return CLI_EXIT_USAGE;
        } else if (strcmp(a, "--block-bytes") == 0 && has_v) {
            if (!cli_parse_number(a, argv[++i], &block_bytes)) return CLI_EXIT_USAGE;
        } else if (strcmp(a, "--out") == 0 && has_v) {
            out_path = argv[++i];
        } else if (a[0] != '-' && !in) {
            in = a;
        } else {
            usage();
            return CLI_EXIT_USAGE;
        }
    }
    if (!in || !out_path) return usage(), CLI_EXIT_USAGE;
    if (cat != 21 && cat != 62) {
        fprintf(stderr, "deconflict asterix encode: --cat: 21 or 62\n");
        return CLI_EXIT_USAGE;
    }
    if (sac != floor(sac) || sac < 0 || sac > 255 || sic != floor(sic) || sic < 0 || sic > 255) {
        fprintf(stderr, "deconflict asterix encode: --sac and --sic: integers 0..255 (required)\n");
        return CLI_EXIT_USAGE;
    }
    /* 65,507: the most a UDP datagram over IPv4 carries (the pcap's datagrams, and a feed's). */
    if (!(block_bytes >= 64 && block_bytes <= 65507)) {
        fprintf(stderr, "deconflict asterix encode: --block-bytes: 64..65507\n");
        return CLI_EXIT_USAGE;
    }
    cli_row_t *rows = NULL;
    size_t n_rows = 0, n_skipped = 0;
    int rc = cli_load_rows(in, DC_TRACKCSV_TRAFFIC, &rows, &n_rows, &n_skipped);
    if (rc != CLI_EXIT_OK) return free(rows), rc;
    bool pcap;
    FILE *out = cli_asterix_create("deconflict asterix encode", out_path, &pcap);
    if (!out) return free(rows), CLI_EXIT_DATA;
    numbering_t nb = {0};
    static dc_asterix_block_t blk;
    dc_asterix_block_start(&blk, (int)cat, (size_t)block_bytes);
    double block_t = NAN;
    size_t blocks = 0, records = 0;
    char msg[160];
    for (size_t i = 0; i < n_rows && rc == CLI_EXIT_OK; i++) {
        const dc_track_state_t *st = &rows[i].st;
        dc_asterix_record_t r = {.sac = (int)sac, .sic = (int)sic};
        unsigned long addr;
        char *end;
        errno = 0;
        addr = strtoul(st->id, &end, 16);
        if (errno || *end || end - st->id != 6) {
            fprintf(stderr, "deconflict asterix encode: %s line %ld: icao24 %s: 6 hex digits\n", in,
                    rows[i].line, st->id);
            rc = CLI_EXIT_DATA;
            break;
        }
        int tn = number_of(&nb, (uint32_t)addr);
        r.has = DC_ASTERIX_TOD | DC_ASTERIX_ADDR | DC_ASTERIX_POS | DC_ASTERIX_FL | DC_ASTERIX_VEL |
                DC_ASTERIX_VS;
        r.tod_s = fmod(st->t_s, 86400), r.addr = (uint32_t)addr;
        r.lat_deg = st->lat_deg, r.lon_deg = st->lon_deg, r.fl = st->alt_ft / 100;
        r.gs_kt = st->gs_kt, r.trk_deg = st->trk_deg, r.vs_fpm = st->vs_fpm;
        /* CAT021 numbers tracks in 12 bits: past 4095 aircraft the number is left out. */
        if (tn > 0 && tn <= (cat == 21 ? 4095 : 65535))
            r.track_number = tn, r.has |= DC_ASTERIX_TRACK;
        if (rows[i].callsign[0]) { /* ASTERIX carries 8 characters */
            memcpy(r.callsign, rows[i].callsign, sizeof(r.callsign) - 1);
            r.has |= DC_ASTERIX_CALLSIGN;
        }
        /* A block holds the reports of one second of the recording. */
        if (blk.records && (floor(st->t_s) != floor(block_t))) {
            cli_asterix_write_block(out, pcap, &blk, block_t), blocks++;
            dc_asterix_block_start(&blk, (int)cat, (size_t)block_bytes);
        }
        dc_err_t e = dc_asterix_block_add(&blk, &r, msg, sizeof(msg));
        if (e == DC_ERR_LIMIT) {
            cli_asterix_write_block(out, pcap, &blk, block_t), blocks++;
            dc_asterix_block_start(&blk, (int)cat, (size_t)block_bytes);
            e = dc_asterix_block_add(&blk, &r, msg, sizeof(msg));
        }
        if (e != DC_OK) {
            fprintf(stderr, "deconflict asterix encode: %s line %ld: %s\n", in, rows[i].line, msg);
            rc = CLI_EXIT_DATA;
            break;
        }
        if (blk.records == 1) block_t = st->t_s;
        records++;
    }
    if (rc == CLI_EXIT_OK && blk.records)
        cli_asterix_write_block(out, pcap, &blk, block_t), blocks++;
    if (fclose(out) != 0 && rc == CLI_EXIT_OK) {
        fprintf(stderr, "deconflict asterix encode: %s: %s\n", out_path, strerror(errno));
        rc = CLI_EXIT_DATA;
    }
    if (rc == CLI_EXIT_OK)
        fprintf(
            stderr,
            "deconflict asterix encode: %zu records of %zu aircraft in %zu CAT%03d blocks (%s), "
            "%zu incomplete rows skipped\n",
            records, nb.n, blocks, (int)cat, pcap ? "pcap" : "raw", n_skipped);
    free(nb.addr);
    free(rows);
    return rc;
}

int cli_asterix(int argc, char **argv)
{
    if (argc < 2) return usage(), CLI_EXIT_USAGE;
    if (strcmp(argv[1], "dump") == 0) return dump(argc - 2, argv + 2);
    if (strcmp(argv[1], "encode") == 0) return encode(argc - 2, argv + 2);
    usage();
    return CLI_EXIT_USAGE;
}
