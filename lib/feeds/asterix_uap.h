/* The ASTERIX User Application Profiles as data: for each category (and CAT021 edition) the
 * format of the data item at each field reference number (FRN). The decoder walks records with
 * them and the encoder writes the FSPEC with them. Internal to lib/feeds. */
#ifndef DC_FEEDS_ASTERIX_UAP_H
#define DC_FEEDS_ASTERIX_UAP_H

#include <stddef.h>
#include <stdint.h>

#include "deconflict/asterix.h"

typedef enum ax_kind {
    AX_SPARE = 0,  /* no item at this FRN: its bit set is malformed */
    AX_FIXED,      /* len octets */
    AX_EXTENDED,   /* parts of len octets, each ending in an FX bit (its lowest) */
    AX_REPETITIVE, /* a repetition count octet, then that many times len octets */
    AX_EXPLICIT,   /* a length octet counting itself, then the rest (RE and SP fields) */
    AX_COMPOUND,   /* a primary subfield of FX-extended octets whose bits 8..2 announce subfields */
} ax_kind_t;

typedef struct ax_format {
    uint8_t kind, len;
    const struct ax_format *sub; /* AX_COMPOUND: the subfields, in the order of their bits */
    uint8_t n_sub;
} ax_format_t;

typedef struct ax_uap {
    int cat;
    const char *name;         /* "CAT062 1.19" */
    const char *const *ids;   /* the item names by FRN - 1 ("062/105"), for messages */
    const ax_format_t *items; /* by FRN - 1 */
    size_t n_items;
} ax_uap_t;

/* The UAP for a category under cfg (CAT021's edition), or NULL when it is not decoded here. */
const ax_uap_t *dc_ax_uap(int cat, const dc_asterix_config_t *cfg);

/* The octets of the item of format f at p (avail octets there), or 0 when it is malformed or
 * runs past avail. */
size_t dc_ax_item_len(const ax_format_t *f, const uint8_t *p, size_t avail);

/* The subfield index (0-based) of a compound item at p (already checked by dc_ax_item_len), or
 * NULL when that subfield is absent. */
const uint8_t *dc_ax_subfield(const ax_format_t *f, const uint8_t *p, size_t index);

#endif
