/* What beast.c shares with modes.c beyond the public header. */
#ifndef DC_FEEDS_MODES_INTERNAL_H
#define DC_FEEDS_MODES_INTERNAL_H

#include <stdbool.h>

#include "deconflict/beast.h"

/* dc_modes_decode() for a caller that has already checked a DF17/18 message's parity
 * (parity_checked: not computed twice). */
dc_err_t dc_modes_decode_parity(dc_modes_decoder_t *dec, const uint8_t *msg, size_t len, double t_s,
                                dc_sbs_msg_t *out, bool parity_checked);

#endif
