/* Internal: pieces shared by the strategic module's files. */
#ifndef DC_STRATEGIC_INTERNAL_H
#define DC_STRATEGIC_INTERNAL_H

#include <geos_c.h>

#include "deconflict/strategic.h"

/* Resets err to "nowhere" (indices -1, strings empty). NULL is a no-op. */
void dc_strategic_error_init(dc_strategic_error_t *err);

/* Sets err's field and printf-style message; NULL err is a no-op. */
void dc_strategic_error_set(dc_strategic_error_t *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* dc_volume4d_validate with a GEOS context the caller already has. */
dc_err_t dc_volume4d_validate_with(GEOSContextHandle_t ctx, const dc_volume4d_t *vol,
                                   dc_strategic_error_t *err);

#endif
