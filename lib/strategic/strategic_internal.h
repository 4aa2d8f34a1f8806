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

/* The two halves of it: every rule but the footprint's geometry (vertex count, coordinates,
 * radius, band, window), and the footprint built into fp and checked (extent, simple, area);
 * on success the caller owns fp (fp_clear). A volume's footprint is built once this way. */
dc_err_t dc_volume4d_check_fields(const dc_volume4d_t *vol, dc_strategic_error_t *err);
struct fp;
dc_err_t dc_volume4d_footprint(GEOSContextHandle_t ctx, const dc_volume4d_t *vol, struct fp *fp,
                               dc_strategic_error_t *err);

/* The parser's core: with footprints false, every rule but the footprints' geometry is
 * checked (dc_strategic_prepare builds and checks them, once). */
dc_err_t dc_operation_parse_object(struct json_t *object, dc_operation_t *op, bool footprints,
                                   dc_strategic_error_t *err);

/* Volume i's footprint in a prepared operation. */
const struct fp *dc_strategic_prepared_fp(const dc_strategic_prepared_t *p, size_t i);

#endif
