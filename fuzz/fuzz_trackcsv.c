/* libFuzzer driver: the track CSV readers (header and both row formats). The input is split at
 * newlines; the first line goes to the header parser, every line to both row parsers. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deconflict/trackcsv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char line[DC_TRACKCSV_LINE_MAX + 1];
    size_t pos = 0, first = 1;
    while (pos < size) {
        size_t len = 0;
        while (pos + len < size && data[pos + len] != '\n') len++;
        size_t copy = len < DC_TRACKCSV_LINE_MAX ? len : DC_TRACKCSV_LINE_MAX;
        memcpy(line, data + pos, copy);
        line[copy] = '\0';
        pos += len + 1;
        char msg[128], cs[DC_CALLSIGN_MAX];
        dc_track_state_t st;
        if (first) {
            dc_trackcsv_format_t fmt;
            if (dc_trackcsv_header(line, &fmt, msg, sizeof(msg)) != DC_OK && msg[0] == '\0')
                abort();
            first = 0;
        }
        dc_err_t rc = dc_trackcsv_row(DC_TRACKCSV_STATES, line, &st, NULL, msg, sizeof(msg));
        if (rc == DC_OK && (st.lat_deg < -90 || st.lat_deg > 90)) abort();
        rc = dc_trackcsv_row(DC_TRACKCSV_TRAFFIC, line, &st, cs, msg, sizeof(msg));
        if (rc == DC_OK && memchr(cs, '\0', sizeof(cs)) == NULL) abort();
    }
    return 0;
}
