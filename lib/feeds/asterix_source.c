/* Reading ASTERIX recordings (include/deconflict/asterix.h): raw data blocks back to back (the
 * .ast files of ASTERIX tools), or UDP datagrams in libpcap files (both byte orders, micro- and
 * nanosecond stamps) and pcapng files (section, interface, enhanced and simple packet blocks).
 * Only the framing is read here; what a datagram holds is asterix.c's. Every length read from
 * the file is bounded before it is used. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/asterix.h"

#define PACKET_MAX   262144u             /* octets of one captured packet (tcpdump's snaplen cap) */
#define NG_BLOCK_MAX (16u * 1024 * 1024) /* octets of one pcapng block */
#define NG_IFACES    64                  /* interfaces in one pcapng section */

typedef enum { SRC_RAW, SRC_PCAP, SRC_PCAPNG } src_kind_t;

struct dc_asterix_source {
    FILE *f;
    src_kind_t kind;
    bool swapped;      /* the file's byte order is not this machine's (pcap) */
    bool ng_big;       /* pcapng section byte order: big-endian */
    double tick_s;     /* pcap: 1e-6, or 1e-9 for the nanosecond magic */
    uint32_t linktype; /* pcap */
    size_t n_ifaces;   /* pcapng */
    uint16_t if_link[NG_IFACES];
    double if_tick_s[NG_IFACES];
    uint8_t *buf; /* PACKET_MAX or NG_BLOCK_MAX octets */
    uint64_t packets;
};

static bool read_all(FILE *f, void *p, size_t n)
{
    return fread(p, 1, n, f) == n;
}

static uint32_t rd32(const uint8_t *p, bool big)
{
    return big ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
               : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}
static uint16_t rd16(const uint8_t *p, bool big)
{
    return big ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static dc_err_t invalid(char *msg, size_t len, const char *fmt, unsigned long long v)
{
    if (msg && len) snprintf(msg, len, fmt, v);
    return DC_ERR_INVALID;
}

static dc_err_t open_stream(FILE *f, dc_asterix_source_t **out)
{
    dc_asterix_source_t *s = calloc(1, sizeof(*s));
    if (!s) return fclose(f), DC_ERR_NOMEM;
    s->f = f;
    uint8_t h[24];
    size_t n = fread(h, 1, sizeof(h), f);
    uint32_t magic = n >= 4 ? rd32(h, false) : 0;
    if (n >= 24 && (magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1 || magic == 0xa1b23c4d ||
                    magic == 0x4d3cb2a1)) {
        s->kind = SRC_PCAP;
        s->swapped = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
        s->tick_s = magic == 0xa1b23c4d || magic == 0x4d3cb2a1 ? 1e-9 : 1e-6;
        s->linktype = rd32(h + 20, s->swapped) & 0xffff; /* the upper bits hold FCS flags */
    } else if (n >= 4 && magic == 0x0a0d0d0a) {
        s->kind = SRC_PCAPNG;
        rewind(f);
    } else {
        s->kind = SRC_RAW;
        rewind(f);
    }
    s->buf = malloc(s->kind == SRC_PCAPNG ? NG_BLOCK_MAX : PACKET_MAX);
    if (!s->buf) return dc_asterix_source_free(s), DC_ERR_NOMEM;
    *out = s;
    return DC_OK;
}

dc_err_t dc_asterix_source_open(const char *path, dc_asterix_source_t **out, char *msg,
                                size_t msg_len)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (msg && msg_len) snprintf(msg, msg_len, "%s: cannot open", path);
        return DC_ERR_IO;
    }
    return open_stream(f, out);
}

dc_err_t dc_asterix_source_open_memory(const uint8_t *data, size_t len, dc_asterix_source_t **out)
{
    *out = NULL;
    if (!len) return DC_ERR_INVALID; /* fmemopen refuses an empty buffer */
    FILE *f = fmemopen((void *)data, len, "rb");
    return f ? open_stream(f, out) : DC_ERR_NOMEM;
}

void dc_asterix_source_free(dc_asterix_source_t *s)
{
    if (!s) return;
    if (s->f) fclose(s->f);
    free(s->buf);
    free(s);
}

/* The UDP payload of a link-layer frame; false when the frame is not a whole UDP datagram. */
static bool udp_payload(uint32_t link, const uint8_t *p, size_t n, const uint8_t **data,
                        size_t *len, int *port)
{
    uint16_t ethertype;
    switch (link) {
    case 1: /* Ethernet, with 802.1Q tags */
        if (n < 14) return false;
        ethertype = (uint16_t)(p[12] << 8 | p[13]), p += 14, n -= 14;
        while ((ethertype == 0x8100 || ethertype == 0x88a8) && n >= 4)
            ethertype = (uint16_t)(p[2] << 8 | p[3]), p += 4, n -= 4;
        break;
    case 0:
    case 108: /* BSD loopback: a 4-octet family in either order */
        if (n < 4) return false;
        ethertype = (p[0] == 2 || p[3] == 2) ? 0x0800 : 0x86dd, p += 4, n -= 4;
        break;
    case 113: /* Linux cooked (SLL) */
        if (n < 16) return false;
        ethertype = (uint16_t)(p[14] << 8 | p[15]), p += 16, n -= 16;
        break;
    case 276: /* Linux cooked v2 */
        if (n < 20) return false;
        ethertype = (uint16_t)(p[0] << 8 | p[1]), p += 20, n -= 20;
        break;
    case 12:
    case 14:
    case 101:
    case 228:
    case 229: /* raw IP */
        if (n < 1) return false;
        ethertype = (p[0] >> 4) == 6 ? 0x86dd : 0x0800;
        break;
    default:
        return false;
    }
    if (ethertype == 0x0800) {
        if (n < 20 || (p[0] >> 4) != 4) return false;
        size_t ihl = (size_t)(p[0] & 15) * 4, total = (size_t)(p[2] << 8 | p[3]);
        if (ihl < 20 || total < ihl || total > n || p[9] != 17) return false;
        if ((p[6] & 0x3f) || p[7]) return false; /* a fragment: MF set or an offset */
        p += ihl, n = total - ihl;
    } else if (ethertype == 0x86dd) {
        if (n < 40 || (p[0] >> 4) != 6 || p[6] != 17) return false; /* UDP right after the header */
        size_t plen = (size_t)(p[4] << 8 | p[5]);
        if (plen > n - 40) return false;
        p += 40, n = plen;
    } else {
        return false;
    }
    if (n < 8) return false;
    size_t ulen = (size_t)(p[4] << 8 | p[5]);
    if (ulen < 8 || ulen > n) return false;
    *port = p[2] << 8 | p[3];
    *data = p + 8, *len = ulen - 8;
    return true;
}

static dc_err_t next_raw(dc_asterix_source_t *s, const uint8_t **data, size_t *len, char *msg,
                         size_t msg_len)
{
    uint8_t h[3];
    size_t n = fread(h, 1, 3, s->f);
    if (n == 0) return DC_ERR_NOT_FOUND;
    if (n < 3)
        return invalid(msg, msg_len, "a data block header is cut short after packet %llu",
                       s->packets);
    size_t blen = (size_t)(h[1] << 8 | h[2]);
    if (blen < 3) return invalid(msg, msg_len, "data block %llu: LEN under 3", s->packets + 1);
    memcpy(s->buf, h, 3);
    if (!read_all(s->f, s->buf + 3, blen - 3))
        return invalid(msg, msg_len, "data block %llu runs past the end of the file",
                       s->packets + 1);
    *data = s->buf, *len = blen;
    s->packets++;
    return DC_OK;
}

static dc_err_t next_pcap(dc_asterix_source_t *s, const uint8_t **data, size_t *len, double *t_s,
                          int *port, char *msg, size_t msg_len)
{
    for (;;) {
        uint8_t h[16];
        size_t n = fread(h, 1, 16, s->f);
        if (n == 0) return DC_ERR_NOT_FOUND;
        if (n < 16)
            return invalid(msg, msg_len, "a packet header is cut short after packet %llu",
                           s->packets);
        /* The magic read little-endian came out swapped: the file is big-endian. */
        uint32_t sec = rd32(h, s->swapped), frac = rd32(h + 4, s->swapped),
                 caplen = rd32(h + 8, s->swapped);
        if (caplen > PACKET_MAX)
            return invalid(msg, msg_len, "a packet of %llu octets: at most 262144", caplen);
        if (!read_all(s->f, s->buf, caplen))
            return invalid(msg, msg_len, "packet %llu runs past the end of the file",
                           s->packets + 1);
        s->packets++;
        if (udp_payload(s->linktype, s->buf, caplen, data, len, port)) {
            *t_s = sec + frac * s->tick_s;
            return DC_OK;
        }
    }
}

static dc_err_t next_pcapng(dc_asterix_source_t *s, const uint8_t **data, size_t *len, double *t_s,
                            int *port, char *msg, size_t msg_len)
{
    for (;;) {
        uint8_t h[8];
        size_t n = fread(h, 1, 8, s->f);
        if (n == 0) return DC_ERR_NOT_FOUND;
        if (n < 8)
            return invalid(msg, msg_len, "a pcapng block header is cut short after packet %llu",
                           s->packets);
        uint32_t type = rd32(h, s->ng_big);
        if (type == 0x0a0d0d0a) { /* a section: its byte order magic decides the rest */
            uint8_t bom[4];
            if (!read_all(s->f, bom, 4))
                return invalid(msg, msg_len, "a pcapng section header is cut short%llu", 0);
            if (rd32(bom, false) == 0x1a2b3c4d)
                s->ng_big = false;
            else if (rd32(bom, true) == 0x1a2b3c4d)
                s->ng_big = true;
            else
                return invalid(msg, msg_len, "a pcapng section with a bad byte-order magic%llu", 0);
            s->n_ifaces = 0;
            uint32_t blen = rd32(h + 4, s->ng_big);
            if (blen < 28 || blen % 4 || blen > NG_BLOCK_MAX)
                return invalid(msg, msg_len, "a pcapng section header of %llu octets", blen);
            if (!read_all(s->f, s->buf, blen - 12))
                return invalid(msg, msg_len, "a pcapng section header runs past the file%llu", 0);
            continue;
        }
        uint32_t blen = rd32(h + 4, s->ng_big);
        if (blen < 12 || blen % 4 || blen > NG_BLOCK_MAX)
            return invalid(msg, msg_len,
                           "a pcapng block of %llu octets (12..16 MiB, a multiple of 4)", blen);
        size_t body = blen - 12;
        uint8_t *b = s->buf;
        if (!read_all(s->f, b, body + 4))
            return invalid(msg, msg_len,
                           "a pcapng block runs past the end of the file after packet %llu",
                           s->packets);
        if (type == 1) { /* interface description */
            if (body < 8) return invalid(msg, msg_len, "an interface block of %llu octets", body);
            if (s->n_ifaces == NG_IFACES)
                return invalid(msg, msg_len, "more than %llu interfaces", NG_IFACES);
            s->if_link[s->n_ifaces] = rd16(b, s->ng_big);
            double tick = 1e-6;
            /* if_tsresol (option 9): 10^-v, or 2^-v with the top bit set. */
            for (size_t o = 8; o + 4 <= body;) {
                uint16_t code = rd16(b + o, s->ng_big), olen = rd16(b + o + 2, s->ng_big);
                if (code == 0 || o + 4 + olen > body) break;
                if (code == 9 && olen >= 1) {
                    unsigned v = b[o + 4];
                    tick = v & 0x80 ? pow(2, -(double)(v & 0x7f))
                                    : pow(10, -(double)(v > 30 ? 30 : v));
                }
                o += 4 + ((olen + 3u) & ~3u);
            }
            s->if_tick_s[s->n_ifaces++] = tick;
            continue;
        }
        if (type == 6 || type == 3) { /* enhanced / simple packet */
            size_t hdr = type == 6 ? 20 : 4;
            if (body < hdr) return invalid(msg, msg_len, "a packet block of %llu octets", body);
            uint32_t iface = type == 6 ? rd32(b, s->ng_big) : 0;
            if (iface >= s->n_ifaces)
                return invalid(msg, msg_len, "a packet of undescribed interface %llu", iface);
            size_t caplen = type == 6 ? rd32(b + 12, s->ng_big) : body - 4;
            if (type == 3 && caplen > rd32(b, s->ng_big)) caplen = rd32(b, s->ng_big);
            if (caplen > body - hdr)
                return invalid(msg, msg_len, "a packet longer than its block (%llu octets)",
                               caplen);
            s->packets++;
            if (udp_payload(s->if_link[iface], b + hdr, caplen, data, len, port)) {
                if (type == 6) { /* a simple packet block has no time */
                    uint64_t ts = (uint64_t)rd32(b + 4, s->ng_big) << 32 | rd32(b + 8, s->ng_big);
                    *t_s = ts * s->if_tick_s[iface];
                }
                return DC_OK;
            }
            continue;
        }
        /* Other blocks (statistics, name resolution, custom) carry no packet. */
    }
}

dc_err_t dc_asterix_source_next(dc_asterix_source_t *s, const uint8_t **data, size_t *len,
                                double *t_s, int *port, char *msg, size_t msg_len)
{
    *t_s = NAN, *port = 0;
    if (msg && msg_len) msg[0] = 0;
    switch (s->kind) {
    case SRC_PCAP:
        return next_pcap(s, data, len, t_s, port, msg, msg_len);
    case SRC_PCAPNG:
        return next_pcapng(s, data, len, t_s, port, msg, msg_len);
    default:
        return next_raw(s, data, len, msg, msg_len);
    }
}

bool dc_asterix_file_looks_like(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    static const size_t max = DC_ASTERIX_BLOCK_MAX;
    uint8_t *h = malloc(max);
    size_t n = h ? fread(h, 1, max, f) : 0;
    fclose(f);
    bool yes = false;
    if (n >= 4) {
        uint32_t magic = rd32(h, false);
        yes = magic == 0xa1b2c3d4 || magic == 0xd4c3b2a1 || magic == 0xa1b23c4d ||
              magic == 0x4d3cb2a1 || magic == 0x0a0d0d0a;
        /* Raw blocks: the first must be a whole, valid block of a category read here (a text
         * file whose first octet is '0', CAT048, is not). */
        size_t used;
        for (int ed = 0; !yes && ed < 3 && (h[0] == 4 || h[0] == 21 || h[0] == 48 || h[0] == 62);
             ed++) {
            dc_asterix_config_t cfg = {.cat021_edition = (dc_asterix_cat021_edition_t)ed};
            yes = dc_asterix_decode_block(h, n, &cfg, NULL, NULL, &used, NULL, 0) == DC_OK;
        }
    }
    free(h);
    return yes;
}
