/* libFuzzer driver: ASTERIX recordings (pcap, pcapng or raw blocks, told apart by their first
 * octets) and the decoder behind them, with the first octet choosing CAT021's edition and a
 * radar site so that every UAP and the CAT048 position are reached. Every record decoded must
 * hold values in their documented ranges, and every state made of it must validate. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/asterix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dc_sbs_tracker_t *tracker;

static void check(const dc_asterix_record_t *r, void *ctx)
{
    (void)ctx;
    if (r->has & DC_ASTERIX_TOD && !(r->tod_s >= 0 && r->tod_s < 86400)) abort();
    if (r->has & DC_ASTERIX_POS && !(fabs(r->lat_deg) <= 90 && fabs(r->lon_deg) <= 180)) abort();
    if (r->has & DC_ASTERIX_VEL &&
        !(r->gs_kt >= 0 && r->gs_kt <= 2000 && r->trk_deg >= 0 && r->trk_deg < 360))
        abort();
    if (memchr(r->callsign, 0, sizeof(r->callsign)) == NULL) abort();
    dc_sbs_msg_t m[3];
    size_t n = dc_asterix_to_messages(r, 1e9 + r->tod_s, m);
    for (size_t i = 0; i < n; i++) {
        dc_track_state_t st;
        char cs[9];
        if (dc_sbs_tracker_apply(tracker, &m[i], &st, cs) &&
            dc_track_state_validate(&st, NULL) != DC_OK)
            abort();
    }
    dc_track_state_t st;
    char cs[9];
    if (dc_asterix_track_state(r, 1e9, &st, cs) && dc_track_state_validate(&st, NULL) != DC_OK)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    dc_asterix_config_t cfg = {.cat021_edition = (dc_asterix_cat021_edition_t)(data[0] % 3),
                               .n_radars = 1};
    cfg.radars[0] = (dc_asterix_radar_t){
        .sac = 25, .sic = data[0] >> 2, .lat_deg = 45.8, .lon_deg = 16, .alt_ft = 500};
    data++, size--;
    tracker = dc_sbs_tracker_new(10, 60);
    dc_asterix_source_t *src;
    if (!tracker || dc_asterix_source_open_memory(data, size, &src) != DC_OK) {
        dc_sbs_tracker_free(tracker);
        return 0;
    }
    const uint8_t *dg;
    size_t len;
    double t;
    int port;
    char msg[160];
    dc_asterix_stats_t st = {0};
    /* Each datagram in a buffer of exactly its length, so that ASan sees a read past it (the
     * source's own buffer is larger). */
    while (dc_asterix_source_next(src, &dg, &len, &t, &port, msg, sizeof(msg)) == DC_OK) {
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) break;
        memcpy(copy, dg, len);
        dc_asterix_decode_datagram(copy, len, &cfg, check, NULL, &st, msg, sizeof(msg));
        free(copy);
    }
    dc_asterix_source_free(src);
    /* And the input itself as one datagram of blocks. */
    uint8_t *copy = malloc(size);
    if (copy) {
        memcpy(copy, data, size);
        dc_asterix_decode_datagram(copy, size, &cfg, check, NULL, &st, msg, sizeof(msg));
        free(copy);
    }
    dc_sbs_tracker_free(tracker);
    return 0;
}
