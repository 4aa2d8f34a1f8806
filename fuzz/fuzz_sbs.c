/* libFuzzer driver: the SBS-1 line parser and the tracker behind it. The input is split at
 * newlines; every line is parsed and, when valid, merged; every state produced must validate. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/sbs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dc_sbs_tracker_t *tr = dc_sbs_tracker_new(10, 60);
    if (!tr) return 0;
    size_t pos = 0;
    while (pos < size) {
        size_t len = 0;
        while (pos + len < size && data[pos + len] != '\n') len++;
        dc_sbs_msg_t m;
        if (dc_sbs_parse_line((const char *)data + pos, len, &m) == DC_OK) {
            dc_track_state_t st;
            char cs[9];
            if (m.type < 1 || m.type > 8 || m.icao > 0xFFFFFF) abort();
            if (dc_sbs_tracker_apply(tr, &m, &st, cs) &&
                (dc_track_state_validate(&st, NULL) != DC_OK || memchr(cs, '\0', 9) == NULL))
                abort();
        }
        pos += len + 1;
    }
    dc_sbs_tracker_expire(tr, 1e12);
    if (dc_sbs_tracker_count(tr) != 0) abort();
    dc_sbs_tracker_free(tr);
    return 0;
}
